/**
 * `flightdeck backup <dataset> --to <dir> [--as-of V]`: a self-contained copy of one committed
 * version. The rows come through Flight (GetFlightInfo + DoGet with `as_of`), so it works against
 * any server the CLI can reach, local or shared, with the read role only; each endpoint becomes
 * one Parquet file (written to a temp name, fsynced, renamed), then the manifest is written the
 * same way. A backup interrupted before its manifest restores as nothing; running it again into
 * the same directory starts over. An `s3://bucket/prefix` target is written in a temporary
 * directory first, then uploaded file by file, the manifest last (backup-s3.ts).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { FlightClient } from '@flightdeck/proto';
import { UsageError } from './cli-error.js';
import { writeParquet } from './arrow-writers.js';
import {
  DATA_FOLDER,
  dataFilePath,
  MANIFEST_FILE,
  manifestText,
  sha256File,
  syncDirectory,
  writeFileAtomic,
  type BackupFile,
  type BackupManifest,
} from './backup-manifest.js';
import { formatBytes, formatCount, formatCounted, formatSeconds } from './human-units.js';
import { ProgressBar } from './progress-bar.js';
import { parseS3Url } from './s3-url.js';
import { planVersionRead, readEndpoint } from './version-read.js';

export interface BackupOptions {
  to: string;
  /** For s3:// targets. */
  s3Endpoint?: string;
  s3Region?: string;
  asOf?: number;
  json?: boolean;
  progress: boolean;
}

export interface BackupSummary {
  dataset: string;
  version: number;
  to: string;
  files: number;
  rows: number;
  bytes: number;
  seconds: number;
  rows_per_s: number;
}

const LEFTOVER = /^part-\d{5}\.parquet(\.partial)?$/;

/**
 * Makes `dir` ready: created when missing; refused when it holds a finished backup or anything
 * that is not one; the data files of an interrupted backup (no manifest) are removed. Returns
 * what undoes it, for a backup that fails before its manifest: what it created goes again.
 */
async function prepareDirectory(dir: string): Promise<() => Promise<void>> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(dir)) throw new UsageError(`--to ${dir}: a directory or s3://bucket/prefix, not a ${dir.split(':')[0]}:// URL`);
  const created = await mkdir(dir, { recursive: true });
  const entries = await readdir(dir);
  if (entries.includes(MANIFEST_FILE)) throw new UsageError(`--to ${dir} already holds a backup (${MANIFEST_FILE}); choose a new directory`);
  const foreign = entries.filter((e) => e !== DATA_FOLDER && e !== `${MANIFEST_FILE}.partial`).sort();
  if (foreign.length > 0) throw new UsageError(`--to ${dir} is not empty (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', ...' : ''}); choose a new or empty directory`);
  if (entries.includes(DATA_FOLDER)) {
    const data = join(dir, DATA_FOLDER);
    if (!(await stat(data)).isDirectory() || (await readdir(data)).some((e) => !LEFTOVER.test(e))) {
      throw new UsageError(`--to ${dir}: ${data} holds files no backup wrote; choose a new or empty directory`);
    }
    await rm(data, { recursive: true });
  }
  await rm(join(dir, `${MANIFEST_FILE}.partial`), { force: true });
  await mkdir(join(dir, DATA_FOLDER));
  return async () => {
    await rm(created ?? join(dir, DATA_FOLDER), { recursive: true, force: true });
  };
}

/** Writes one endpoint's rows as a Parquet file, durably; returns its manifest entry (null for no rows). */
async function writeEndpointFile(dir: string, path: string, write: (out: Writable) => Promise<number>): Promise<BackupFile | null> {
  const full = join(dir, path);
  const partial = `${full}.partial`;
  const file = createWriteStream(partial);
  await new Promise<void>((resolve, reject) => {
    file.once('open', () => resolve());
    file.once('error', reject);
  });
  let rows: number;
  try {
    rows = await write(file);
    if (!file.writableFinished) await new Promise<void>((resolve, reject) => file.end((e?: Error | null) => (e ? reject(e) : resolve())));
  } catch (e) {
    file.destroy();
    await rm(partial, { force: true });
    throw e;
  }
  if (rows === 0) {
    await rm(partial, { force: true });
    return null;
  }
  const handle = await open(partial, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(partial, full);
  return { path, rows, bytes: (await stat(full)).size, sha256: await sha256File(full) };
}

export async function runBackup(dataset: string, opts: BackupOptions, connect: () => Promise<FlightClient>, url: string, out: Writable, err: NodeJS.WriteStream): Promise<BackupSummary> {
  const s3 = parseS3Url(opts.to);
  // The AWS SDK is loaded only for s3:// targets.
  const objectStore = s3 === null ? null : await import('./backup-s3.js');
  const store = s3 === null ? null : objectStore!.s3Client({ region: opts.s3Region ?? 'us-east-1', ...(opts.s3Endpoint ? { endpoint: opts.s3Endpoint } : {}) });
  let dir = opts.to;
  if (s3 !== null) {
    await objectStore!.prepareS3Target(store!, s3);
    dir = await mkdtemp(join(tmpdir(), 'flightdeck-backup-'));
  }
  try {
    const undo = await prepareDirectory(dir);
    return await backupInto(dir, dataset, opts, connect, url, out, err, async (manifest, progress) => {
      if (s3 === null) return writeFileAtomic(dir, MANIFEST_FILE, manifestText(manifest));
      progress.update({ phase: 'uploading', bytes: 0, totalBytes: manifest.bytes });
      await objectStore!.uploadBackup(store!, s3, dir, manifest, (f) => progress.update({ bytes: progress.state.bytes + f.bytes }));
    }).catch(async (e: unknown) => {
      await undo();
      throw e;
    });
  } finally {
    if (s3 !== null) {
      store!.destroy();
      await rm(dir, { recursive: true, force: true });
    }
  }
}

async function backupInto(
  dir: string,
  dataset: string,
  opts: BackupOptions,
  connect: () => Promise<FlightClient>,
  url: string,
  out: Writable,
  err: NodeJS.WriteStream,
  finish: (manifest: BackupManifest, progress: ProgressBar) => Promise<void>,
): Promise<BackupSummary> {
  const client = await connect();
  const plan = await planVersionRead(client, { dataset, ...(opts.asOf === undefined ? {} : { asOf: opts.asOf }) });
  const expected = await client.doActionJson<{ files: { rows: number }[] }>('list_files', { dataset, as_of: plan.version });
  const expectedRows = expected.files.reduce((n, f) => n + f.rows, 0);

  const progress = new ProgressBar(err, opts.progress, { phase: 'backing up' }).start();
  const files: BackupFile[] = [];
  try {
    for (const [i, ticket] of plan.tickets.entries()) {
      progress.update({ phase: `backing up ${i + 1}/${plan.tickets.length}` });
      const batches = readEndpoint(client, ticket, (b) => progress.add(b.numRows, b.data.byteLength));
      const entry = await writeEndpointFile(dir, dataFilePath(files.length + 1), (o) => writeParquet(batches, plan.schema, o));
      if (entry !== null) files.push(entry);
    }
    const rows = files.reduce((n, f) => n + f.rows, 0);
    if (rows !== expectedRows) {
      throw new Error(`backup of "${dataset}" version ${plan.version} read ${rows} rows, but the version holds ${expectedRows}; no manifest written`);
    }
    await syncDirectory(join(dir, DATA_FOLDER));
    const manifest: BackupManifest = {
      format: 'flightdeck-backup',
      format_version: 1,
      created_at: new Date().toISOString(),
      source: { url, dataset },
      version: plan.version,
      dataset: plan.spec as BackupManifest['dataset'],
      rows,
      bytes: files.reduce((n, f) => n + f.bytes, 0),
      files,
    };
    await finish(manifest, progress);
    progress.stop();
    const seconds = progress.elapsed() / 1000;
    const summary: BackupSummary = { dataset, version: plan.version, to: opts.to, files: files.length, rows, bytes: manifest.bytes, seconds, rows_per_s: Math.round(rows / seconds) };
    out.write(
      opts.json
        ? `${JSON.stringify(summary)}\n`
        : `${dataset}: backed up version ${plan.version} (${formatCounted(rows, 'row')} in ${formatCounted(files.length, 'file')}, ${formatBytes(summary.bytes)}) to ${opts.to} in ${formatSeconds(seconds * 1000)}, ${formatCount(summary.rows_per_s)} rows/s\n`,
    );
    return summary;
  } finally {
    progress.stop();
  }
}
