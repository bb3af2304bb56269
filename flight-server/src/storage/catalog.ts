/**
 * The on-disk catalog of one dataset: `<dataset>/_catalog/v<20 digits>.json`, one immutable
 * manifest per committed version. A commit writes a temporary file, fsyncs it, and links it to
 * the next version's name; link fails if the name exists, so two committers can never both take
 * one version, and a crash leaves either the old or the new version whole.
 */
import { constants as fsConstants } from 'node:fs';
import { link, mkdir, open, readFile, readdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { StorageError } from './errors.js';
import { manifestSchema, type Manifest } from './manifest.js';

export const CATALOG_DIR = '_catalog';
const VERSION_FILE = /^v(\d{20})\.json$/;
const TMP_PREFIX = '.tmp-';

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

export async function listVersions(datasetDir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(join(datasetDir, CATALOG_DIR));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const versions: number[] = [];
  for (const name of names) {
    const m = VERSION_FILE.exec(name);
    if (m) versions.push(Number(m[1]));
  }
  return versions.sort((a, b) => a - b);
}

export async function readManifest(datasetDir: string, version: number): Promise<Manifest> {
  const path = join(datasetDir, CATALOG_DIR, versionFileName(version));
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new StorageError('NOT_FOUND', `version ${version} of dataset "${manifestNameOf(datasetDir)}" does not exist`);
    }
    throw e;
  }
  const parsed = manifestSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new StorageError('INTERNAL', `manifest ${path} is corrupt: ${parsed.error.message}`);
  return parsed.data as Manifest;
}

function manifestNameOf(datasetDir: string): string {
  return datasetDir.split(/[\\/]/).pop() ?? datasetDir;
}

/**
 * Commits `manifest` as its version. Throws ABORTED when that version was taken meanwhile
 * (the caller rebases and retries).
 */
export async function commitManifest(datasetDir: string, manifest: Manifest): Promise<void> {
  const dir = join(datasetDir, CATALOG_DIR);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `${TMP_PREFIX}${randomUUID()}`);
  await writeFile(tmp, JSON.stringify(manifest));
  try {
    await fsyncPath(tmp);
    await link(tmp, join(dir, versionFileName(manifest.version)));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new StorageError('ABORTED', `version ${manifest.version} of "${manifest.name}" was committed concurrently`);
    }
    throw e;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  await fsyncPath(dir);
}

/** Removes temporary files an interrupted commit left behind. */
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
