/**
 * DatasetWriter: the crawler's way into a dataset. It takes rows (plain objects) or record
 * batches from an (async) iterable, builds batches of `batchRows`, and commits every
 * `chunkBatches` batches with one DoPut. A chunk that fails transiently (server restarting,
 * connection reset, ...) is sent again after an exponential backoff: writes are upserts by primary
 * key, so a resend never duplicates a row. Other failures (a bad value, a schema the dataset
 * refuses) end the write at once. Progress goes to a callback; nothing is logged.
 */
import { FlightClient, pathDescriptor, type FlightClientOptions } from '@flightdeck/proto';
import type { DataType, RecordBatch, Schema } from 'apache-arrow';
import { backoffDelay, sleep } from './backoff.js';
import { BatchConformer } from './batch-conformer.js';
import { resolveDataset, type CreateDatasetSpec } from './dataset-info.js';
import { schemaForSource, wireSchema, type DatasetRoles } from './dataset-schema.js';
import { InputError } from './input-error.js';
import { rowsToBatch } from './rows-to-batch.js';
import { inferSchema } from './schema-inference.js';
import type { EpochUnit } from './time-values.js';
import { isTransientError } from './transient-error.js';

export type Row = Record<string, unknown>;

export interface WriterProgress {
  /** What just happened. */
  event: 'commit' | 'retry';
  /** Rows and Arrow bytes committed so far. */
  rows: number;
  bytes: number;
  commits: number;
  retries: number;
  /** The last committed dataset version, null before the first commit. */
  version: number | null;
  /** On `retry`: the failure, the attempt about to be made (1-based) and the wait before it. */
  error?: unknown;
  attempt?: number;
  delayMs?: number;
}

export interface WriteResult {
  rows: number;
  bytes: number;
  commits: number;
  retries: number;
  version: number | null;
}

export interface DatasetWriterOptions {
  /** The dataset written to. */
  dataset: string;
  /** A connected client (the writer does not close it) ... */
  client?: FlightClient;
  /** ... or where to connect (`grpc://host:port`) with these options; closed by `close()`. */
  url?: string;
  clientOptions?: FlightClientOptions;
  /** Create the dataset when it does not exist. */
  create?: CreateDatasetSpec;
  /** The schema rows are built in when the dataset has none yet (default: inferred from the first batch of rows). */
  schema?: Schema;
  /** Column types to use instead of inferred ones, when the dataset has no schema yet. */
  types?: ReadonlyMap<string, DataType>;
  /** Rows per record batch built from row objects. Default 65,536. */
  batchRows?: number;
  /** Batches per commit (one DoPut). Default 16. */
  chunkBatches?: number;
  /** Retries of one chunk after transient failures. Default 10. */
  maxRetries?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** How bare epoch numbers in the time column are read. Default `auto` (by magnitude). */
  epochUnit?: EpochUnit;
  /** A name for the source in error messages. Default `rows`. */
  sourceName?: string;
  onProgress?: (progress: WriterProgress) => void;
  signal?: AbortSignal;
}

function isRecordBatch(x: unknown): x is RecordBatch {
  return typeof x === 'object' && x !== null && 'schema' in x && 'numRows' in x && typeof (x as RecordBatch).getChildAt === 'function';
}

/** The field names of a sample of row objects, in order of first appearance. */
function columnsOf(rows: readonly Row[]): string[] {
  const seen = new Set<string>();
  for (const row of rows) for (const key of Object.keys(row)) seen.add(key);
  return [...seen];
}

export class DatasetWriter {
  readonly #opts: DatasetWriterOptions;
  readonly #client: FlightClient;
  readonly #ownsClient: boolean;
  readonly #batchRows: number;
  readonly #chunkBatches: number;
  #progress: WriteResult = { rows: 0, bytes: 0, commits: 0, retries: 0, version: null };

  constructor(opts: DatasetWriterOptions) {
    if (opts.client === undefined && opts.url === undefined) throw new TypeError('DatasetWriter needs a client or a url');
    this.#opts = opts;
    this.#ownsClient = opts.client === undefined;
    this.#client =
      opts.client ??
      new FlightClient(opts.url!, {
        ...opts.clientOptions,
        // Reconnect promptly once a restarted server is back (grpc-js otherwise backs off up to 2 min).
        channelOptions: { 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 2_000, ...opts.clientOptions?.channelOptions },
      });
    this.#batchRows = opts.batchRows ?? 65_536;
    this.#chunkBatches = opts.chunkBatches ?? 16;
    if (!(this.#batchRows >= 1) || !(this.#chunkBatches >= 1)) throw new TypeError('batchRows and chunkBatches must be >= 1');
  }

  /** Totals so far. */
  get progress(): WriteResult {
    return { ...this.#progress };
  }

  /**
   * Writes everything `source` yields. Resolves once the last chunk is committed; rejects on the
   * first non-transient failure, or when a chunk still fails after `maxRetries` retries. Chunks
   * committed before a failure stay committed.
   */
  async write(source: AsyncIterable<Row | RecordBatch> | Iterable<Row | RecordBatch>): Promise<WriteResult> {
    const target = await this.#withRetry(() => resolveDataset(this.#client, this.#opts.dataset, this.#opts.create));
    const roles: DatasetRoles = { timeColumn: target.description.time_column, keyColumns: target.description.key_columns };
    let schema = target.schema ?? (this.#opts.schema ? wireSchema(this.#opts.schema) : null);
    const sourceName = this.#opts.sourceName ?? 'rows';
    const epochUnit = this.#opts.epochUnit ?? 'auto';
    const types = this.#opts.types ?? new Map<string, DataType>();

    let rows: Row[] = [];
    let firstRow = 1;
    let chunk: RecordBatch[] = [];
    let conformer: { from: Schema; conformer: BatchConformer } | null = null;

    const flushRows = (): void => {
      if (rows.length === 0) return;
      if (schema === null) schema = this.#inferRowSchema(rows, roles, types, sourceName);
      const fields = schema.fields.map((f) => f.name);
      const known = new Set(fields);
      const start = firstRow;
      const batchRowsArr = rows;
      for (let i = 0; i < batchRowsArr.length; i++) {
        for (const key of Object.keys(batchRowsArr[i]!)) {
          if (!known.has(key)) {
            throw new InputError(`${sourceName}: row ${start + i}: unknown column "${key}"; the dataset has ${fields.join(', ')}`, {
              source: sourceName,
              row: start + i,
              column: key,
            });
          }
        }
      }
      chunk.push(
        rowsToBatch(schema, batchRowsArr, {
          epochUnit,
          valueOf: (row, c) => row[fields[c]!],
          locate: (i) => ({ source: sourceName, row: start + i }),
        }),
      );
      firstRow += rows.length;
      rows = [];
    };

    const commitChunk = async (): Promise<void> => {
      if (chunk.length === 0) return;
      const batches = chunk;
      chunk = [];
      await this.#commit(batches, schema!);
    };

    for await (const item of source as AsyncIterable<Row | RecordBatch>) {
      this.#opts.signal?.throwIfAborted();
      if (isRecordBatch(item)) {
        flushRows();
        if (item.numRows === 0) continue;
        if (schema === null) schema = schemaForSource(item.schema, roles, types, sourceName);
        if (conformer === null || conformer.from !== item.schema) {
          conformer = { from: item.schema, conformer: new BatchConformer(item.schema, schema, { epochUnit, source: sourceName }) };
        }
        chunk.push(conformer.conformer.conform(item, firstRow));
        firstRow += item.numRows;
      } else {
        rows.push(item);
        if (rows.length >= this.#batchRows) flushRows();
      }
      if (chunk.length >= this.#chunkBatches) await commitChunk();
    }
    flushRows();
    await commitChunk();
    return this.progress;
  }

  /** Closes the client if the writer opened it. */
  close(): void {
    if (this.#ownsClient) this.#client.close();
  }

  #inferRowSchema(sample: readonly Row[], roles: DatasetRoles, types: ReadonlyMap<string, DataType>, where: string): Schema {
    const columns = columnsOf(sample);
    return inferSchema(columns, (c) => sample.map((r) => r[columns[c]!]), roles, types, where);
  }

  async #commit(batches: RecordBatch[], schema: Schema): Promise<void> {
    const result = await this.#withRetry(() => this.#client.doPut(pathDescriptor(this.#opts.dataset), batches, { schema }));
    const meta = parsePutMetadata(result.appMetadata);
    const p = this.#progress;
    p.rows += batches.reduce((n, b) => n + b.numRows, 0);
    p.bytes += batches.reduce((n, b) => n + b.data.byteLength, 0);
    p.commits++;
    if (meta?.version !== undefined) p.version = meta.version;
    this.#opts.onProgress?.({ event: 'commit', ...p });
  }

  async #withRetry<T>(call: () => Promise<T>): Promise<T> {
    const maxRetries = this.#opts.maxRetries ?? 10;
    for (let attempt = 0; ; attempt++) {
      this.#opts.signal?.throwIfAborted();
      try {
        return await call();
      } catch (err) {
        if (attempt >= maxRetries || !isTransientError(err) || this.#opts.signal?.aborted) throw err;
        const delayMs = backoffDelay(attempt, {
          ...(this.#opts.initialBackoffMs === undefined ? {} : { initialDelayMs: this.#opts.initialBackoffMs }),
          ...(this.#opts.maxBackoffMs === undefined ? {} : { maxDelayMs: this.#opts.maxBackoffMs }),
        });
        this.#progress.retries++;
        this.#opts.onProgress?.({ event: 'retry', ...this.#progress, error: err, attempt: attempt + 1, delayMs });
        await sleep(delayMs, this.#opts.signal);
      }
    }
  }
}

/** The DoPut result's app_metadata: `{"rows","version","partitions"}`, or null if absent or not JSON. */
export function parsePutMetadata(bytes: Uint8Array): { rows?: number; version?: number; partitions?: string[] } | null {
  if (bytes.byteLength === 0) return null;
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as {
      rows?: number;
      version?: number;
      partitions?: string[];
    };
  } catch {
    return null;
  }
}
