/**
 * Removing files no retained version names: what start-up does after a crash (half-written files,
 * files of a commit that never happened) and what vacuum does after dropping versions. Empty
 * directories go too; the catalog directory is never touched.
 */
import { readdir, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CATALOG_DIR } from '../catalog.js';

export interface RemovedFile {
  /** Relative to the dataset directory. */
  path: string;
  bytes: number;
}

/** Deletes every file below a dataset directory that `referenced` does not name. */
export async function removeUnreferencedFiles(datasetDir: string, referenced: ReadonlySet<string>): Promise<RemovedFile[]> {
  const removed: RemovedFile[] = [];
  const walk = async (rel: string): Promise<void> => {
    const abs = rel ? join(datasetDir, rel) : datasetDir;
    for (const entry of await readdir(abs, { withFileTypes: true })) {
      if (entry.name === CATALOG_DIR && !rel) continue;
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        await walk(childRel);
        if ((await readdir(join(datasetDir, childRel))).length === 0) await rm(join(datasetDir, childRel), { recursive: true, force: true });
      } else if (!referenced.has(childRel)) {
        const path = join(datasetDir, childRel);
        const bytes = (await stat(path).catch(() => null))?.size ?? 0;
        await unlink(path);
        removed.push({ path: childRel, bytes });
      }
    }
  };
  await walk('');
  return removed;
}
