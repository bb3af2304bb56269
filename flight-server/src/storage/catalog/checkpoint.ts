/**
 * Catalog checkpoints: `_catalog/c<20 digits>.json`, the whole manifest of one version (every live
 * file and the schema). Written after the commit they follow, atomically (temporary file, fsync,
 * rename), and never needed for correctness: opening a dataset reads the newest checkpoint that
 * parses and applies the records after it; without one it replays the records from the oldest.
 * A checkpoint holds only live files, so its size follows the dataset, not its history: the files
 * older retained versions still name are in the records' `removed` lists (catalog/replay.ts).
 */
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { CATALOG_DIR, fsyncPath, TMP_PREFIX } from '../catalog.js';
import { manifestSchema, type Manifest } from '../manifest.js';

const CHECKPOINT_FILE = /^c(\d{20})\.json$/;

const checkpointSchema = z.object({
  checkpoint: z.literal(1),
  version: z.number().int().nonnegative(),
  manifest: manifestSchema,
  /** Written by servers before checkpoints left history out; read and ignored. */
  retired: z.unknown().optional(),
});

export interface Checkpoint {
  manifest: Manifest;
}

export function checkpointFileName(version: number): string {
  return `c${String(version).padStart(20, '0')}.json`;
}

/** The versions of the checkpoints among a catalog directory's names, ascending. */
export function checkpointVersions(names: readonly string[]): number[] {
  const out: number[] = [];
  for (const name of names) {
    const m = CHECKPOINT_FILE.exec(name);
    if (m) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

/** Writes a checkpoint atomically: readers see the whole file or none. */
export async function writeCheckpoint(datasetDir: string, cp: Checkpoint): Promise<void> {
  const dir = join(datasetDir, CATALOG_DIR);
  const tmp = join(dir, `${TMP_PREFIX}${randomUUID()}`);
  const body = {
    checkpoint: 1,
    version: cp.manifest.version,
    manifest: cp.manifest,
  };
  try {
    await writeFile(tmp, JSON.stringify(body));
    await fsyncPath(tmp);
    await rename(tmp, join(dir, checkpointFileName(cp.manifest.version)));
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fsyncPath(dir);
}

/** The checkpoint of `version`, or null when it is missing, partial or corrupt. */
export async function readCheckpoint(datasetDir: string, version: number): Promise<Checkpoint | null> {
  try {
    const text = await readFile(join(datasetDir, CATALOG_DIR, checkpointFileName(version)), 'utf8');
    const parsed = checkpointSchema.safeParse(JSON.parse(text));
    if (!parsed.success || parsed.data.version !== version || parsed.data.manifest.version !== version) return null;
    return { manifest: parsed.data.manifest as Manifest };
  } catch {
    return null;
  }
}

export async function removeCheckpoint(datasetDir: string, version: number): Promise<void> {
  await unlink(join(datasetDir, CATALOG_DIR, checkpointFileName(version))).catch(() => undefined);
}

/**
 * Which checkpoints to delete once `newest` is written, so that their number grows with the
 * logarithm of the history rather than with it: the oldest (the base of every retained version
 * after a vacuum) and those of the last four intervals stay; further back, a checkpoint `age`
 * versions old stays when its version is a multiple of every × 2^(⌊log2(age / every)⌋ - 1), so time
 * travel to a version d versions back replays at most about d/2 records. A checkpoint once deleted
 * is never wanted again (the spacing only grows with age).
 */
export function checkpointsToDrop(versions: readonly number[], newest: number, every: number): number[] {
  const oldest = Math.min(...versions);
  return versions.filter((c) => {
    if (c === oldest || c >= newest) return false;
    const age = newest - c;
    if (age < 4 * every) return false;
    const spacing = every * 2 ** (Math.floor(Math.log2(age / every)) - 1);
    return c % spacing !== 0;
  });
}
