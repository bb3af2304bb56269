/**
 * The on-disk catalog of one dataset, `<dataset>/_catalog/`: one immutable version file per
 * committed version, `v<20 digits>.json` (catalog/version-record.ts), and checkpoints beside them
 * (catalog/checkpoint.ts). A commit writes a temporary file, fsyncs it, and links it to the next
 * version's name; link fails if the name exists, so two committers can never both take one
 * version, and a crash leaves either the old or the new version whole.
 */
import { constants as fsConstants } from 'node:fs';
import { link, mkdir, open, readFile, readdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { StorageError } from './errors.js';
import { parseVersionFile, type VersionFile } from './catalog/version-record.js';

export const CATALOG_DIR = '_catalog';
const VERSION_FILE = /^v(\d{20})\.json$/;
export const TMP_PREFIX = '.tmp-';

export function versionFileName(version: number): string {
  return `v${String(version).padStart(20, '0')}.json`;
}

/** fsync a file or directory by path, so what it names survives a power cut. */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, fsConstants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The names in a dataset's catalog directory ([] when it has none). */
export async function catalogNames(datasetDir: string): Promise<string[]> {
  try {
    return await readdir(join(datasetDir, CATALOG_DIR));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** The committed versions among a catalog directory's names, ascending. */
export function versionsIn(names: readonly string[]): number[] {
  const versions: number[] = [];
  for (const name of names) {
    const m = VERSION_FILE.exec(name);
    if (m) versions.push(Number(m[1]));
  }
  return versions.sort((a, b) => a - b);
}

export async function listVersions(datasetDir: string): Promise<number[]> {
  return versionsIn(await catalogNames(datasetDir));
}

/** Reads one version's file, of either format; NOT_FOUND when it does not exist. */
export async function readVersionFile(datasetDir: string, version: number): Promise<VersionFile> {
  const path = join(datasetDir, CATALOG_DIR, versionFileName(version));
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new StorageError('NOT_FOUND', `version ${version} of dataset "${datasetNameOf(datasetDir)}" does not exist`);
    }
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new StorageError('INTERNAL', `version file ${path} is corrupt: ${(e as Error).message}`);
  }
  return parseVersionFile(json, `version file ${path}`);
}

function datasetNameOf(datasetDir: string): string {
  return datasetDir.split(/[\\/]/).pop() ?? datasetDir;
}

/**
 * Commits `text` as `version`'s file. Throws ABORTED when that version was taken meanwhile
 * (the caller rebases and retries).
 */
export async function commitVersionFile(datasetDir: string, version: number, text: string): Promise<void> {
  const dir = join(datasetDir, CATALOG_DIR);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `${TMP_PREFIX}${randomUUID()}`);
  await writeFile(tmp, text);
  try {
    await fsyncPath(tmp);
    await link(tmp, join(dir, versionFileName(version)));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new StorageError('ABORTED', `version ${version} of "${datasetNameOf(datasetDir)}" was committed concurrently`);
    }
    throw e;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  await fsyncPath(dir);
}

/** Removes temporary files an interrupted commit or checkpoint left behind. */
export async function removeCatalogLeftovers(datasetDir: string): Promise<number> {
  const dir = join(datasetDir, CATALOG_DIR);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  const leftovers = names.filter((n) => n.startsWith(TMP_PREFIX));
  await Promise.all(leftovers.map((n) => unlink(join(dir, n)).catch(() => undefined)));
  return leftovers.length;
}
