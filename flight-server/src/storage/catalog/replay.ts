/**
 * Replaying the version log: a catalog state (a version's manifest plus the files older retained
 * versions still name) advanced one version file at a time. Records of the log apply their change;
 * whole manifests of the old format replace the state, and the files they drop become retired.
 */
import { readVersionFile } from '../catalog.js';
import { StorageError } from '../errors.js';
import { ipcCopyPath, type FileEntry, type Manifest } from '../manifest.js';
import { applyRecord, type VersionFile } from './version-record.js';

/** A file older versions name and the current one does not: kept on disk until vacuum. */
export interface RetiredFile {
  /** The version that removed it: every retained version before it may name it. */
  removedIn: number;
  /** The Parquet file and its IPC tier copy, relative to the dataset directory. */
  paths: string[];
}

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

/** Version files read at once while collecting removals: enough to hide latency, little memory. */
const READ_AHEAD = 64;

/**
 * The files removed by the versions after `from` up to `to`, read from their version files (a
 * record's `removed` list names Parquet files; their IPC copies are where the tier puts them). A
 * version of the old format (a whole manifest) is compared with the one before it.
 */
export async function readRemovals(datasetDir: string, from: number, to: number): Promise<Map<string, RetiredFile>> {
  const removals = new Map<string, RetiredFile>();
  let previous: Manifest | null = null;
  for (let start = from + 1; start <= to; start += READ_AHEAD) {
    const versions = Array.from({ length: Math.min(READ_AHEAD, to - start + 1) }, (_, i) => start + i);
    const files = await Promise.all(versions.map((v) => readVersionFile(datasetDir, v)));
    for (const file of files) {
      if (file.format === 2) {
        for (const path of file.record.removed) removals.set(path, { removedIn: file.record.version, paths: [path, ipcCopyPath(path)] });
        previous = null;
        continue;
      }
      const m = file.manifest;
      const before: Manifest = previous ?? (await priorManifest(datasetDir, m.version));
      const now = new Set(m.files.map((f) => f.path));
      for (const f of before.files) if (!now.has(f.path)) removals.set(f.path, { removedIn: m.version, paths: storedPaths(f) });
      previous = m;
    }
  }
  return removals;
}

/** The whole manifest before an old-format version (old-format versions only follow each other). */
async function priorManifest(datasetDir: string, version: number): Promise<Manifest> {
  const file = await readVersionFile(datasetDir, version - 1);
  if (file.format === 1) return file.manifest;
  throw new StorageError('INTERNAL', `catalog of ${datasetDir}: version ${version} is a whole manifest but version ${version - 1} is a record`);
}
