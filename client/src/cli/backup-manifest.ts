/**
 * A backup directory: `data/part-NNNNN.parquet` (one file per endpoint of the version read,
 * plain Parquet that pyarrow or DuckDB read as they are) and `flightdeck-backup.json`, the
 * manifest: the dataset's spec, the version, and each file's rows, bytes and SHA-256. The
 * manifest is written last (temp file, fsync, rename), so a directory without one is a backup
 * that never finished, and restore refuses it.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DATASET_NAME, describeZodError, fieldSpecSchema, PARTITION_SCHEMES } from '@flightdeck/contract';
import { z } from 'zod';
import { InputError } from '../sdk/index.js';

export const MANIFEST_FILE = 'flightdeck-backup.json';
export const DATA_FOLDER = 'data';
/** A data file's path inside the backup; nothing else is accepted, so a manifest cannot point outside it. */
export const DATA_FILE = /^data\/part-\d{5}\.parquet$/;

export function dataFilePath(index: number): string {
  return `${DATA_FOLDER}/part-${String(index).padStart(5, '0')}.parquet`;
}

const count = z.number().int().nonnegative();

const manifestSchema = z.strictObject({
  format: z.literal('flightdeck-backup'),
  format_version: z.literal(1),
  created_at: z.string(),
  source: z.strictObject({ url: z.string(), dataset: z.string().regex(DATASET_NAME) }),
  version: count,
  dataset: z.strictObject({
    schema: z.array(fieldSpecSchema),
    time_column: z.string().min(1),
    key_columns: z.array(z.string()),
    partition: z.enum(PARTITION_SCHEMES),
    retention: z.string().optional(),
  }),
  rows: count,
  bytes: count,
  files: z.array(
    z.strictObject({
      path: z.string().regex(DATA_FILE, 'expected data/part-NNNNN.parquet'),
      rows: count,
      bytes: count,
      sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits'),
    }),
  ),
});

export type BackupManifest = z.infer<typeof manifestSchema>;
export type BackupFile = BackupManifest['files'][number];

/** A backup that cannot be restored; the message names the file at fault. */
export class BackupError extends InputError {}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** Writes `bytes` to `path` whole or not at all: a temp file, fsynced, renamed over, the directory fsynced. */
export async function writeFileAtomic(dir: string, name: string, text: string): Promise<void> {
  const temp = join(dir, `${name}.partial`);
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, join(dir, name));
  await syncDirectory(dir);
}

export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function manifestText(manifest: BackupManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** The manifest of the backup in `dir`, parsed strictly; a missing or malformed one is a BackupError. */
export async function readManifest(dir: string): Promise<BackupManifest> {
  const path = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw noManifest(path, await exists(join(dir, DATA_FOLDER)));
    throw new BackupError(`${path}: cannot read it (${(err as Error).message})`, { source: path });
  }
  return parseManifest(text, path);
}

/** The refusal of a backup without a manifest; `hasData`: some data files are there. */
export function noManifest(path: string, hasData: boolean): BackupError {
  const hint = hasData ? ': the backup did not finish (the manifest is written last)' : '';
  return new BackupError(`${path}: no backup manifest${hint}`, { source: path });
}

/** A manifest's text, parsed strictly and checked for consistency; `path` names it in errors. */
export function parseManifest(text: string, path: string): BackupManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new BackupError(`${path}: not JSON (${(err as Error).message})`, { source: path });
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) throw new BackupError(`${path}: ${describeZodError(parsed.error, 'backup manifest')}`, { source: path });
  const m = parsed.data;
  const rows = m.files.reduce((n, f) => n + f.rows, 0);
  const bytes = m.files.reduce((n, f) => n + f.bytes, 0);
  if (rows !== m.rows || bytes !== m.bytes) throw new BackupError(`${path}: its files add up to ${rows} rows and ${bytes} bytes, not the ${m.rows} rows and ${m.bytes} bytes it states`, { source: path });
  if (new Set(m.files.map((f) => f.path)).size !== m.files.length) throw new BackupError(`${path}: lists a file twice`, { source: path });
  return m;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks every file the manifest lists: present, of its size, of its SHA-256. The first fault
 * found is thrown, naming the file; `onFile` reports each file checked (for progress).
 */
export async function verifyBackup(dir: string, manifest: BackupManifest, onFile: (file: BackupFile) => void = () => undefined, display = dir): Promise<void> {
  for (const file of manifest.files) {
    const local = join(dir, file.path);
    const path = `${display.replace(/\/+$/, '')}/${file.path}`;
    let size: number;
    try {
      size = (await stat(local)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new BackupError(`${path}: missing (the backup manifest lists it)`, { source: path });
      throw new BackupError(`${path}: cannot read it (${(err as Error).message})`, { source: path });
    }
    if (size !== file.bytes) throw new BackupError(`${path}: ${size} bytes, the backup manifest says ${file.bytes} (truncated or replaced)`, { source: path });
    const digest = await sha256File(local);
    if (digest !== file.sha256) throw new BackupError(`${path}: checksum mismatch (SHA-256 ${digest}, the backup manifest says ${file.sha256}): the file is corrupt`, { source: path });
    onFile(file);
  }
}
