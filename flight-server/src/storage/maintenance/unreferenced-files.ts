/**
 * Removing files no retained version names: what start-up does after a crash (half-written files,
 * files of a commit that never happened) and what vacuum does after dropping versions. Files are
 * listed and deleted through the object store (a local directory or DATA_URL); in a local
 * directory empty directories go too. The catalog directory is never touched.
 */
import { join } from 'node:path';
import { CATALOG_DIR } from '../catalog.js';
import type { ObjectStore } from '../object-store/object-store.js';

export interface RemovedFile {
  /** Relative to the dataset's prefix. */
  path: string;
  bytes: number;
}

/**
 * Deletes every file below a dataset's prefix that `referenced` does not name. With
 * `modifiedBeforeMs`, only files last modified before it: with a shared catalog another process
 * may be writing files for a commit it has not made yet.
 */
export async function removeUnreferencedFiles(store: ObjectStore, prefix: string, referenced: ReadonlySet<string>, modifiedBeforeMs?: number): Promise<RemovedFile[]> {
  const catalog = `${CATALOG_DIR}/`;
  const doomed: RemovedFile[] = [];
  for (const o of await store.list(`${prefix}/`)) {
    const rel = o.key.slice(prefix.length + 1);
    if (rel.startsWith(catalog) || referenced.has(rel)) continue;
    if (modifiedBeforeMs !== undefined && o.lastModified.getTime() >= modifiedBeforeMs) continue;
    doomed.push({ path: rel, bytes: o.size });
  }
  await store.delete(doomed.map((d) => join(prefix, d.path)));
  await store.removeEmptyDirectories?.(prefix, [CATALOG_DIR]);
  return doomed;
}

/** Deletes files a catalog released (vacuumed versions named them, no retained one does); missing ones are skipped. */
export async function removeReleasedFiles(store: ObjectStore, prefix: string, released: readonly string[]): Promise<RemovedFile[]> {
  const removed: RemovedFile[] = [];
  for (const rel of released) {
    const head = await store.head(join(prefix, rel));
    if (head === null) continue;
    removed.push({ path: rel, bytes: head.size });
  }
  await store.delete(removed.map((r) => join(prefix, r.path)));
  return removed;
}
