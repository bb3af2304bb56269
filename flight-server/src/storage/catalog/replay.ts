/**
 * Replaying the version log: a catalog state (a version's manifest plus the files older retained
 * versions still name) advanced one version file at a time. Records of the log apply their change;
 * whole manifests of the old format replace the state, and the files they drop become retired.
 */
import type { FileEntry, Manifest } from '../manifest.js';
import type { RetiredFile } from './checkpoint.js';
import { applyRecord, type VersionFile } from './version-record.js';

export interface CatalogState {
  manifest: Manifest;
  /** By Parquet path: files of older retained versions that this one no longer holds. */
  retired: Map<string, RetiredFile>;
}

/** Every file a manifest entry names: the Parquet file and its IPC tier copy. */
export function storedPaths(f: FileEntry): string[] {
  return f.ipc ? [f.path, f.ipc.path] : [f.path];
}

/** The state after one more version; `state.retired` is updated in place. */
export function applyVersionFile(state: CatalogState | null, file: VersionFile): CatalogState {
  const retired = state?.retired ?? new Map<string, RetiredFile>();
  const prev = state?.manifest ?? null;
  if (file.format === 2) {
    const manifest = applyRecord(prev, file.record);
    if (prev && file.record.removed.length > 0) {
      const gone = new Set(file.record.removed);
      for (const f of prev.files) if (gone.has(f.path)) retired.set(f.path, { removedIn: manifest.version, paths: storedPaths(f) });
    }
    return { manifest, retired };
  }
  // A whole manifest: files new since the previous one were added by this version.
  const m = file.manifest;
  const before = new Map(prev?.files.map((f) => [f.path, f]) ?? []);
  const files = m.files.map((f) => (f.addedIn !== undefined ? f : { ...f, addedIn: before.get(f.path)?.addedIn ?? m.version }));
  const now = new Set(files.map((f) => f.path));
  for (const [path, f] of before) if (!now.has(path)) retired.set(path, { removedIn: m.version, paths: storedPaths(f) });
  return { manifest: { ...m, files }, retired };
}

/** Forgets retired files no version from `oldest` on names (they were removed at or before it). */
export function pruneRetired(retired: Map<string, RetiredFile>, oldest: number): void {
  for (const [path, r] of retired) if (r.removedIn <= oldest) retired.delete(path);
}
