/**
 * The vacuum horizon, `_catalog/horizon.json`: the oldest version a vacuum kept. Written (atomically)
 * before the vacuum deletes anything, so a vacuum cut by a crash is finished at start-up: versions
 * below the horizon are gone even when some of their files are still on disk.
 */
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { CATALOG_DIR, fsyncPath, TMP_PREFIX } from '../catalog.js';

const HORIZON_FILE = 'horizon.json';

/** The horizon, or 0 when no vacuum ever ran (or its file cannot be read: nothing is assumed gone). */
export async function readHorizon(datasetDir: string): Promise<number> {
  try {
    const parsed = JSON.parse(await readFile(join(datasetDir, CATALOG_DIR, HORIZON_FILE), 'utf8')) as { oldest?: unknown };
    return typeof parsed.oldest === 'number' && Number.isInteger(parsed.oldest) && parsed.oldest >= 0 ? parsed.oldest : 0;
  } catch {
    return 0;
  }
}

export async function writeHorizon(datasetDir: string, oldest: number): Promise<void> {
  const dir = join(datasetDir, CATALOG_DIR);
  const tmp = join(dir, `${TMP_PREFIX}${randomUUID()}`);
  try {
    await writeFile(tmp, JSON.stringify({ oldest }));
    await fsyncPath(tmp);
    await rename(tmp, join(dir, HORIZON_FILE));
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fsyncPath(dir);
}
