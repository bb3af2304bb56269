/**
 * `flightdeck put <dataset> <files...>`: every file is read as a stream of record batches in
 * the dataset's schema and all of them go up in ONE DoPut, so a put commits whole or not at all.
 * `--chunk-rows N` trades that for a commit every N rows, each retried on transient failures
 * (the SDK's DatasetWriter).
 */
import type { Writable } from 'node:stream';
import { pathDescriptor, type FlightClient } from '@flightdeck/proto';
import type { RecordBatch, Schema } from 'apache-arrow';
import { DatasetWriter, parsePutMetadata } from '../sdk/index.js';
import { readArrow } from './arrow-reader.js';
import { readCsv } from './csv-reader.js';
import { formatBytes, formatCount, formatCounted, formatSeconds } from './human-units.js';
import { inputFiles, type InputFile, type InputFormat } from './input-format.js';
import { readNdjson } from './ndjson-reader.js';
import { readParquet } from './parquet-reader.js';
import { poisonBatch } from './poison-batch.js';
import { ProgressBar } from './progress-bar.js';
import type { BytesRead, PutPlan } from './put-plan.js';
import { checkPutOptions, resolvePutTarget, type PutTargetOptions } from './put-target.js';

export interface PutOptions extends PutTargetOptions {
  format?: InputFormat;
  chunkRows?: number;
  json?: boolean;
  progress: boolean;
}

/** What `put --json` prints. */
export interface PutSummary {
  dataset: string;
  files: number;
  rows: number;
  bytes_read: number;
  seconds: number;
  rows_per_s: number;
  version: number | null;
  partitions: string[];
  commits: number;
  retries: number;
  max_rss_bytes: number;
}

type Reader = (file: InputFile, plan: PutPlan, onBytes: BytesRead) => AsyncGenerator<RecordBatch>;

const READERS: Record<InputFormat, Reader> = {
  csv: readCsv,
  tsv: readCsv,
  ndjson: readNdjson,
  parquet: readParquet,
  arrow: readArrow,
};

interface Committed {
  version: number | null;
  partitions: string[];
  commits: number;
  retries: number;
}

/** Every file's batches in turn, counted into the progress bar. */
async function* readAll(files: readonly InputFile[], plan: PutPlan, progress: ProgressBar): AsyncGenerator<RecordBatch> {
  let doneBytes = 0;
  for (const file of files) {
    const onBytes: BytesRead = (b) => progress.update({ bytes: doneBytes + b });
    for await (const batch of READERS[file.format](file, plan, onBytes)) {
      progress.add(batch.numRows);
      yield batch;
    }
    doneBytes += file.size;
    progress.update({ bytes: doneBytes });
  }
  progress.update({ phase: 'committing' });
}

/**
 * One DoPut for everything. A read failure mid-stream ends the stream with a poison batch, which
 * the server refuses with the whole stream (see poison-batch.ts); the read failure is rethrown.
 */
export async function putOnce(client: FlightClient, dataset: string, schema: Schema, batches: AsyncIterable<RecordBatch>): Promise<Committed> {
  let readFailure: { error: unknown } | null = null;
  async function* guarded(): AsyncGenerator<RecordBatch> {
    try {
      yield* batches;
    } catch (error) {
      readFailure = { error };
      yield poisonBatch(schema);
    }
  }
  let result;
  try {
    result = await client.doPut(pathDescriptor(dataset), guarded(), { schema });
  } catch (e) {
    throw readFailure === null ? e : (readFailure as { error: unknown }).error;
  }
  const meta = parsePutMetadata(result.appMetadata);
  if (readFailure !== null) throw new Error(`the server committed a put ended by an invalid row (version ${meta?.version})`);
  return { version: meta?.version ?? null, partitions: meta?.partitions ?? [], commits: 1, retries: 0 };
}

/** A commit per `chunkRows`; chunks committed before a failure stay committed. */
async function putChunked(client: FlightClient, dataset: string, plan: PutPlan, chunkRows: number, batches: AsyncIterable<RecordBatch>): Promise<Committed> {
  const writer = new DatasetWriter({
    client,
    dataset,
    schema: plan.schema!,
    batchRows: plan.batchRows,
    chunkBatches: Math.max(1, Math.ceil(chunkRows / plan.batchRows)),
  });
  const result = await writer.write(batches);
  return { version: result.version, partitions: [], commits: result.commits, retries: result.retries };
}

function summaryLine(s: PutSummary, chunked: boolean): string {
  const parts = s.partitions.length > 0 ? `, ${formatCounted(s.partitions.length, 'partition')}` : '';
  const chunks = chunked ? ` in ${formatCounted(s.commits, 'commit')}${s.retries > 0 ? ` (${formatCounted(s.retries, 'retry', 'retries')})` : ''}` : '';
  return (
    `${s.dataset}: put ${formatCounted(s.rows, 'row')} from ${formatCounted(s.files, 'file')} (${formatBytes(s.bytes_read)}) in ${formatSeconds(s.seconds * 1000)}, ` +
    `${formatCount(s.rows_per_s)} rows/s${chunks}; committed version ${s.version ?? '?'}${parts}\n`
  );
}

export async function runPut(paths: string[], opts: PutOptions, connect: () => Promise<FlightClient>, out: Writable, err: NodeJS.WriteStream): Promise<void> {
  checkPutOptions(opts);
  const files = await inputFiles(paths, opts.format);
  const client = await connect();
  const { description, plan } = await resolvePutTarget(client, opts);

  const progress = new ProgressBar(err, opts.progress, { totalBytes: files.reduce((n, f) => n + f.size, 0), phase: 'reading' }).start();
  try {
    const stream = readAll(files, plan, progress);
    const first = await stream.next(); // fixes plan.schema; a failure here has sent nothing
    if (first.done) {
      progress.stop();
      out.write(`${description.name}: nothing to put, the input holds no rows (version ${description.version} unchanged)\n`);
      return;
    }
    const batches = (async function* () {
      yield first.value;
      yield* stream;
    })();
    const committed =
      opts.chunkRows === undefined
        ? await putOnce(client, description.name, plan.schema!, batches)
        : await putChunked(client, description.name, plan, opts.chunkRows, batches);
    progress.stop();
    const seconds = progress.elapsed() / 1000;
    const summary: PutSummary = {
      dataset: description.name,
      files: files.length,
      rows: progress.state.rows,
      bytes_read: progress.state.totalBytes ?? 0,
      seconds,
      rows_per_s: Math.round(progress.state.rows / seconds),
      ...committed,
      max_rss_bytes: process.resourceUsage().maxRSS * 1024,
    };
    out.write(opts.json ? `${JSON.stringify(summary)}\n` : summaryLine(summary, opts.chunkRows !== undefined));
  } finally {
    progress.stop();
  }
}
