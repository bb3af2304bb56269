/**
 * `flightdeck restore <dir> --as <name>`: a dataset made again from a backup, on any server.
 * Every file is checked against the manifest (present, size, SHA-256) before anything is created;
 * then the dataset is created from the manifest's spec and all rows go up in ONE DoPut, so the
 * restore is atomic: the dataset ends with every row of the backup, or with none (an interrupted
 * restore leaves the new dataset empty at version 0, and running restore again fills it).
 * An `s3://bucket/prefix` backup is downloaded to a temporary directory first.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { FlightError, type FlightClient } from '@flightdeck/proto';
import type { RecordBatch } from 'apache-arrow';
import { describeDataset, schemaFromFieldSpecs, type DatasetDescription } from '../sdk/index.js';
import { readManifest, verifyBackup, type BackupManifest } from './backup-manifest.js';
import { formatBytes, formatCount, formatCounted, formatSeconds } from './human-units.js';
import { readParquet } from './parquet-reader.js';
import { ProgressBar } from './progress-bar.js';
import { parseS3Url } from './s3-url.js';
import type { PutPlan } from './put-plan.js';
import { putOnce } from './put-command.js';
import { createBody, specDifference } from './version-read.js';

export interface RestoreOptions {
  as?: string;
  /** For s3:// backups. */
  s3Endpoint?: string;
  s3Region?: string;
  json?: boolean;
  progress: boolean;
}

export interface RestoreSummary {
  dataset: string;
  from: string;
  backup_version: number;
  version: number;
  rows: number;
  files: number;
  seconds: number;
  rows_per_s: number;
}

/**
 * The dataset to restore into: created from the manifest, or one an interrupted restore left
 * (same spec, version 0, no rows). Anything else under that name is refused.
 */
async function targetDataset(client: FlightClient, name: string, manifest: BackupManifest): Promise<DatasetDescription> {
  let existing: DatasetDescription | null = null;
  try {
    existing = await describeDataset(client, name);
  } catch (err) {
    if (!(err instanceof FlightError) || err.code !== 'NOT_FOUND') throw err;
  }
  if (existing === null) return client.doActionJson<DatasetDescription>('create_dataset', createBody(name, manifest.dataset));
  const difference = specDifference(existing, manifest.dataset);
  if (existing.version !== 0 || existing.rows !== 0 || difference !== null || (existing.schema.length === 0) !== (manifest.dataset.schema.length === 0)) {
    throw new FlightError(
      'ALREADY_EXISTS',
      `dataset "${name}" exists (version ${existing.version}, ${existing.rows} rows${difference === null ? '' : `, ${difference}`}); restore under another name with --as, or drop it first`,
    );
  }
  return existing;
}

export async function runRestore(from: string, opts: RestoreOptions, connect: () => Promise<FlightClient>, out: Writable, err: NodeJS.WriteStream): Promise<RestoreSummary> {
  const s3 = parseS3Url(from);
  if (s3 === null) return restoreFrom(from, from, await readManifest(from), opts, connect, out, err);
  // The AWS SDK is loaded only for s3:// backups.
  const { downloadBackup, s3Client } = await import('./backup-s3.js');
  const store = s3Client({ region: opts.s3Region ?? 'us-east-1', ...(opts.s3Endpoint ? { endpoint: opts.s3Endpoint } : {}) });
  const dir = await mkdtemp(join(tmpdir(), 'flightdeck-restore-'));
  try {
    const manifest = await downloadBackup(store, s3, dir);
    return await restoreFrom(dir, s3.url, manifest, opts, connect, out, err);
  } finally {
    store.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

async function restoreFrom(
  dir: string,
  display: string,
  manifest: BackupManifest,
  opts: RestoreOptions,
  connect: () => Promise<FlightClient>,
  out: Writable,
  err: NodeJS.WriteStream,
): Promise<RestoreSummary> {
  const name = opts.as ?? manifest.source.dataset;
  const progress = new ProgressBar(err, opts.progress, { phase: 'verifying', totalBytes: manifest.bytes * 2 }).start();
  try {
    await verifyBackup(dir, manifest, (f) => progress.update({ bytes: progress.state.bytes + f.bytes }), display);
    const client = await connect();
    const target = await targetDataset(client, name, manifest);
    let version = target.version;
    if (manifest.rows > 0) {
      const roles = { timeColumn: manifest.dataset.time_column, keyColumns: manifest.dataset.key_columns };
      const plan: PutPlan = { roles, schema: schemaFromFieldSpecs(manifest.dataset.schema, roles), overrides: new Map(), epochUnit: 'ns', batchRows: 65_536 };
      progress.update({ phase: 'restoring' });
      const batches = async function* (): AsyncGenerator<RecordBatch> {
        let done = manifest.bytes;
        for (const file of manifest.files) {
          const path = join(dir, file.path);
          const size = (await stat(path)).size;
          let rows = 0;
          for await (const batch of readParquet({ path, size, format: 'parquet' }, plan, (b) => progress.update({ bytes: done + b }))) {
            rows += batch.numRows;
            progress.add(batch.numRows);
            yield batch;
          }
          if (rows !== file.rows) throw new Error(`${path}: ${rows} rows, the backup manifest says ${file.rows}`);
          done += file.bytes;
        }
        progress.update({ phase: 'committing' });
      };
      version = (await putOnce(client, name, plan.schema!, batches())).version ?? version;
    }
    const restored = await describeDataset(client, name);
    if (restored.rows !== manifest.rows) throw new Error(`restored "${name}" holds ${restored.rows} rows, the backup ${manifest.rows}`);
    progress.stop();
    const seconds = progress.elapsed() / 1000;
    const summary: RestoreSummary = {
      dataset: name,
      from: display,
      backup_version: manifest.version,
      version,
      rows: manifest.rows,
      files: manifest.files.length,
      seconds,
      rows_per_s: Math.round(manifest.rows / seconds),
    };
    out.write(
      opts.json
        ? `${JSON.stringify(summary)}\n`
        : `${name}: restored ${formatCounted(manifest.rows, 'row')} from ${formatCounted(manifest.files.length, 'file')} (${formatBytes(manifest.bytes)}, version ${manifest.version} of "${manifest.source.dataset}") in ${formatSeconds(seconds * 1000)}, ${formatCount(summary.rows_per_s)} rows/s; version ${version}\n`,
    );
    return summary;
  } finally {
    progress.stop();
  }
}
