/**
 * Reading: planning a query into endpoints, and reading one endpoint's slice as record batches
 * ordered by key columns then time. A read holds a bounded window of its files at a time
 * (read-window.ts), whatever the number of files or the size of their row groups.
 */
import { join } from 'node:path';
import { DataType, Dictionary, Field, MessageReader, RecordBatch, Schema, Struct, Table, makeData, tableFromIPC, tableToIPC } from 'apache-arrow';
import { concatBatches } from '../kernels/concat.js';
import { conformBatch } from '../kernels/conform.js';
import { chain, firstRows, resampleSorted } from './batch-streams.js';
import { manifestSchemaOf } from '../dataset-spec.js';
import { StorageError } from '../errors.js';
import { selectFiles, type SelectedFile } from './file-selection.js';
import type { Manifest } from '../manifest.js';
import { IpcCache } from '../io/ipc-cache.js';
import { mergeSorted } from './merge-sorted.js';
import { batchBytes, CACHE_SHARE, fileWindows, planWindows, READ_WINDOW_BYTES, rowBytesOf, type ReadContext, type WindowPlan } from './read-window.js';
import { checkResampleSchema } from './resample.js';
import type { PlannedEndpoint, ReadPlan, ReadSlice, SliceData } from './read-plan.js';
import type { ReadQuery } from '@flightdeck/contract';
import type { RowRange } from '../kernels/search.js';

export type { ReadContext } from './read-window.js';

export interface ReadOptions {
  /** Rows an endpoint covers before the planner starts the next one. */
  endpointTargetRows: number;
  /** Rows per record batch sent to clients. */
  outputBatchRows: number;
  /** Decoded bytes one read holds at most (default READ_WINDOW_BYTES; tests make it small). */
  readWindowBytes?: number;
}

/** The schema a query returns: the dataset's, projected in the caller's column order. */
export function outputSchema(m: Manifest, q: ReadQuery): Schema {
  const schema = manifestSchemaOf(m);
  if (!q.columns) return schema;
  // Dictionary ids are renumbered 0, 1, ... in output order, as a Parquet reader numbers the
  // dictionaries of a projection, so forwarded IPC and this schema agree.
  let dictionaryId = 0;
  return new Schema(
    q.columns.map((name) => {
      const field = schema.fields.find((f) => f.name === name);
      if (!field) {
        const known = schema.fields.map((f) => f.name).join(', ') || 'none yet';
        throw new StorageError('INVALID_ARGUMENT', `unknown column "${name}" in dataset "${m.name}" (columns: ${known})`);
      }
      if (!DataType.isDictionary(field.type)) return field;
      return new Field(field.name, new Dictionary(field.type.dictionary, field.type.indices, dictionaryId++), field.nullable);
    }),
  );
}

function checkQuery(m: Manifest, q: ReadQuery): void {
  if (q.startNs !== null && q.endNs !== null && q.endNs < q.startNs) {
    throw new StorageError('INVALID_ARGUMENT', 'field "end" is before field "start"');
  }
  if (q.symbols && m.keyColumns.length === 0) {
    throw new StorageError('INVALID_ARGUMENT', `field "symbols": dataset "${m.name}" has no key column to filter on`);
  }
  if (q.interval) checkResampleSchema(manifestSchemaOf(m), m.name);
}

export function planRead(m: Manifest, q: ReadQuery, opts: ReadOptions): ReadPlan {
  const schema = outputSchema(m, q);
  checkQuery(m, q);
  const pinned = { ...q, asOf: m.version };
  const selected = selectFiles(m, q, null);
  const byPartition = new Map<string, SelectedFile[]>();
  for (const s of selected) {
    const list = byPartition.get(s.file.partition) ?? [];
    list.push(s);
    byPartition.set(s.file.partition, list);
  }
  const estimate = (files: SelectedFile[]) => files.reduce((n, s) => n + s.estimatedRows, 0);
  const bytesOf = (files: SelectedFile[]) =>
    files.reduce((n, s) => n + Math.round((s.file.bytes * s.estimatedRows) / Math.max(1, s.file.rows)), 0);
  // Resampling makes the row count unknown until the rows are read.
  // A follower's rows go on with later commits: unknown.
  let totalRecords = q.interval || q.follow ? -1 : estimate(selected);
  if (q.limit !== null && totalRecords >= 0) totalRecords = Math.min(totalRecords, q.limit);

  const endpoints: PlannedEndpoint[] = [];
  // A limit or a resampling bucket can span partitions, and a follower is one stream: one endpoint.
  if (q.limit !== null || q.interval !== null || q.follow === true || byPartition.size <= 1) {
    endpoints.push({ slice: { query: pinned, partitions: null }, rows: totalRecords, bytes: bytesOf(selected) });
  } else {
    let group: string[] = [];
    let groupFiles: SelectedFile[] = [];
    const flush = () => {
      endpoints.push({ slice: { query: pinned, partitions: group }, rows: estimate(groupFiles), bytes: bytesOf(groupFiles) });
      group = [];
      groupFiles = [];
    };
    for (const key of [...byPartition.keys()].sort()) {
      group.push(key);
      groupFiles.push(...byPartition.get(key)!);
      if (estimate(groupFiles) >= opts.endpointTargetRows) flush();
    }
    if (group.length > 0) flush();
  }
  const singleKey = m.keyColumns.length === 0 || (m.keyColumns.length === 1 && q.symbols !== null && q.symbols.length <= 1);
  return {
    schema,
    version: m.version,
    endpoints,
    totalRecords,
    totalBytes: bytesOf(selected),
    // Later commits follow a follower's first rows out of key/time order.
    ordered: q.follow !== true && (endpoints.length === 1 || singleKey),
  };
}

/** Columns a read needs: the projection plus what filtering and ordering use. */
function neededSchema(m: Manifest, q: ReadQuery): Schema {
  const full = manifestSchemaOf(m);
  const wanted = new Set([...(q.columns ?? full.fields.map((f) => f.name)), m.timeColumn, ...m.keyColumns]);
  return new Schema(full.fields.filter((f) => wanted.has(f.name)));
}

/**
 * A file's rows as whole Arrow IPC, when that costs a stream nothing of its own: already in the
 * hot cache, or small enough to be read once into it (once, however many streams ask at a time)
 * and let in by its admission rule. Undefined otherwise: the file is then streamed in pieces of
 * messages or a window at a time, so a scan larger than the cache reads around it.
 */
async function cachedFileIpc(ctx: ReadContext, s: SelectedFile, columns: string[], rowBytes: number): Promise<Uint8Array | undefined> {
  const share = ctx.cache.capacityBytes / CACHE_SHARE;
  const path = join(ctx.datasetDir, s.file.path);
  const tier = forwardableTier(s, columns);
  if (tier) {
    const key = tierCacheKey(ctx, s);
    if (tier.bytes > share) return ctx.cache.get(key);
    return ctx.cache.lookup(key, tier.bytes, () => readTier(ctx, tier));
  }
  const rowGroups = s.rowGroups.length === s.file.rowGroups.length ? null : s.rowGroups;
  const key = IpcCache.key(path, columns, rowGroups);
  const bytes = s.estimatedRows * rowBytes;
  if (bytes > share) return ctx.cache.get(key);
  return ctx.cache.lookup(key, bytes, () => ctx.parquet.readIpc(path, { columns, ...(rowGroups ? { rowGroups } : {}) }));
}

/** The hot cache's key of a file's whole IPC tier copy: keyed by the Parquet file, so retiring that file drops it too. */
function tierCacheKey(ctx: ReadContext, s: SelectedFile): string {
  return IpcCache.key(join(ctx.datasetDir, s.file.path), ['<ipc-tier>'], null);
}

/** A file's whole IPC tier copy, read from where the dataset's files are. */
function readTier(ctx: ReadContext, tier: { path: string }): Promise<Uint8Array> {
  return ctx.tier.readWhole(join(ctx.datasetDir, tier.path));
}

/** The file's IPC tier copy, when the read wants every row and exactly the columns it holds. */
function forwardableTier(s: SelectedFile, columns: string[]): { path: string; bytes: number } | undefined {
  const tier = s.file.ipc;
  if (!tier || s.rowGroups.length !== s.file.rowGroups.length) return undefined;
  if (columns.length !== s.file.columns.length || columns.some((c, i) => s.file.columns[i] !== c)) return undefined;
  return tier;
}

/**
 * The selected files' IPC messages, file by file: whole from the hot cache, else the tier copy's
 * stored messages in large reads (counted in the read windows held), else windows of decoded
 * rows re-encoded.
 */
async function* forwardFiles(
  ctx: ReadContext,
  m: Manifest,
  q: ReadQuery,
  selected: SelectedFile[],
  schema: Schema,
  plan: WindowPlan,
  /** Called once this read has asked the cache for each of its own files (so a read-ahead cannot push them out first). */
  readAhead: () => void,
): AsyncGenerator<Uint8Array> {
  const columns = schema.fields.map((f) => f.name);
  if (selected.length === 0) readAhead();
  for (const [i, s] of selected.entries()) {
    const ipc = await cachedFileIpc(ctx, s, columns, rowBytesOf(s, schema));
    if (i === selected.length - 1) readAhead();
    if (ipc) {
      const stored = new MessageReader(ipc).readSchema();
      // A file written under another type spelling is re-encoded rather than forwarded.
      if (stored && sameSchema(stored, schema)) yield ipc;
      else for (const b of tableFromIPC(ipc).batches) yield tableToIPC(new Table(schema, [conformBatch(b, schema)]), 'stream');
      continue;
    }
    const tier = forwardableTier(s, columns);
    const messages = tier ? await ctx.tier.openMessages(join(ctx.datasetDir, tier.path)) : undefined;
    if (messages && sameSchema(messages.schema, schema)) {
      yield* messages.messages(ctx.windows);
      continue;
    }
    for await (const w of fileWindows(ctx, m, q, s, schema, plan.windows.get(s)!)) yield tableToIPC(new Table(schema, [w]), 'stream');
  }
}

/**
 * Starts reading, into the hot cache, the files of the partition after this endpoint's, when the
 * next endpoint of the same plan will forward them whole (a full-partition read) and the cache
 * admits them. Clients read a plan's endpoints in order (pyarrow's read loop, `FlightClient`,
 * DuckDB's scan), one DoGet after the other: without this, each endpoint's files are read from
 * disk only once its DoGet arrives, and disk and network take turns instead of overlapping.
 * Started once the current endpoint has asked the cache for its own files, so it cannot push
 * them out first. Bounded by the cache: a file it does not admit (the scan is larger than the
 * cache, or the file is larger than its share) is left to be read when asked for. A failed read
 * is not reported here; the next endpoint's own read meets the same fault and reports it.
 */
function readAheadNextPartition(ctx: ReadContext, m: Manifest, q: ReadQuery, partitions: string[], schema: Schema): void {
  const last = partitions.reduce((a, b) => (a > b ? a : b));
  let next: string | undefined;
  for (const f of m.files) if (f.partition > last && (next === undefined || f.partition < next)) next = f.partition;
  if (next === undefined) return;
  const columns = schema.fields.map((f) => f.name);
  const share = ctx.cache.capacityBytes / CACHE_SHARE;
  for (const s of selectFiles(m, q, new Set([next]))) {
    const tier = forwardableTier(s, columns);
    if (!s.covered || !tier || tier.bytes > share) continue;
    void ctx.cache.prefetch(tierCacheKey(ctx, s), tier.bytes, () => readTier(ctx, tier))?.catch(() => undefined);
  }
}

/** Below this many rows (or `rows`, when smaller) a batch is joined with the ones after it. */
export const COALESCE_ROWS = 8192;

/**
 * Batches of at most `rows` rows, projected onto `schema`. A merge of files whose keys interleave
 * gives out runs of a few dozen rows each; sent as they are, a client pays a message per run
 * (a rolling-restart read: 398 of 508 batches of 30 rows). Batches under COALESCE_ROWS are held
 * and joined (copied into one) until they reach it, or until what they keep alive (the windows
 * they are slices of, counted whole) reaches `heldBytes`, so the join never holds more than that.
 */
async function* rebatch(batches: AsyncIterable<RecordBatch>, schema: Schema, rows: number, heldBytes: number): AsyncGenerator<RecordBatch> {
  const small = Math.min(rows, COALESCE_ROWS);
  let pending: RecordBatch[] = [];
  let pendingRows = 0;
  let pendingBytes = 0;
  // The join can pass `rows` (it stops at the first batch that reaches `small`): cut it again.
  function* joined(): Generator<RecordBatch> {
    const out = pending.length === 1 ? pending[0]! : concatBatches(schema, pending);
    pending = [];
    pendingRows = 0;
    pendingBytes = 0;
    yield* cut(out);
  }
  function* cut(batch: RecordBatch): Generator<RecordBatch> {
    for (let start = 0; start < batch.numRows; start += rows) yield batch.slice(start, Math.min(batch.numRows, start + rows));
  }
  for await (const b of batches) {
    const projected = project(b, schema);
    if (projected.numRows === 0) continue;
    if (projected.numRows < small) {
      pending.push(projected);
      pendingRows += projected.numRows;
      pendingBytes += batchBytes(projected);
      if (pendingRows >= small || pendingBytes >= heldBytes) yield* joined();
      continue;
    }
    if (pending.length > 0) yield* joined();
    yield* cut(projected);
  }
  if (pending.length > 0) yield* joined();
}

/**
 * Whether the selected files, read one after the other, already give key/time order: one key
 * (or none) and files whose time ranges follow each other. Such a read can stop at its limit.
 */
function sequential(m: Manifest, q: ReadQuery, selected: SelectedFile[]): boolean {
  const oneKey = m.keyColumns.length === 0 || (m.keyColumns.length === 1 && q.symbols !== null && q.symbols.length === 1);
  if (!oneKey && selected.length > 1) return false;
  for (let i = 1; i < selected.length; i++) {
    if (BigInt(selected[i]!.file.minTimeNs) <= BigInt(selected[i - 1]!.file.maxTimeNs)) return false;
  }
  return true;
}

/**
 * Whether the selected files' rows, read as they are stored, already are the answer: nothing to
 * filter, limit or resample, files that follow each other in key/time order, and the output
 * columns stored in every file in the output's order.
 */
function forwardable(m: Manifest, q: ReadQuery, selected: SelectedFile[], schema: Schema): boolean {
  if (q.limit !== null || q.interval !== null || !selected.every((s) => s.covered)) return false;
  if (selected.length > 1) {
    const oneKey = m.keyColumns.length === 0 || (m.keyColumns.length === 1 && q.symbols !== null && q.symbols.length === 1);
    if (!oneKey) return false;
    for (let i = 1; i < selected.length; i++) {
      if (BigInt(selected[i]!.file.minTimeNs) <= BigInt(selected[i - 1]!.file.maxTimeNs)) return false;
    }
  }
  const names = schema.fields.map((f) => f.name);
  return selected.every((s) => {
    const positions = names.map((n) => s.file.columns.indexOf(n));
    return positions.every((p, i) => p >= 0 && (i === 0 || p > positions[i - 1]!));
  });
}

/** Same names and types, dictionary ids included (forwarded dictionary batches carry ids). */
function sameSchema(a: Schema, b: Schema): boolean {
  const dictionaryId = (t: DataType) => (DataType.isDictionary(t) ? t.id : null);
  return (
    a.fields.length === b.fields.length &&
    a.fields.every((f, i) => {
      const g = b.fields[i]!;
      return f.name === g.name && String(f.type) === String(g.type) && dictionaryId(f.type) === dictionaryId(g.type);
    })
  );
}

/** Reads one endpoint's rows, ordered by key columns then time, a bounded window at a time. */
export async function readSlice(
  ctx: ReadContext,
  m: Manifest,
  slice: ReadSlice,
  opts: ReadOptions,
  /** Files read only in part: their rows to read, by path (a follower's rows of an upsert). */
  restrict?: ReadonlyMap<string, readonly RowRange[]>,
): Promise<SliceData> {
  const q = slice.query;
  const schema = outputSchema(m, q);
  checkQuery(m, q);
  const partitions = slice.partitions ? new Set(slice.partitions) : null;
  const selected = selectFiles(m, q, partitions);
  if (restrict) {
    for (const s of selected) {
      const rows = restrict.get(s.file.path);
      if (rows) Object.assign(s, { rows, covered: false });
    }
  }

  if (forwardable(m, q, selected, schema)) {
    const plan = planWindows(selected, schema, { merged: false, maxRows: opts.outputBatchRows, limit: null, windowBytes: opts.readWindowBytes });
    const partitions = slice.partitions;
    const readAhead = () => {
      if (partitions !== null && !restrict) readAheadNextPartition(ctx, m, q, partitions, schema);
    };
    return { kind: 'ipc', schema, streams: forwardFiles(ctx, m, q, selected, schema, plan, readAhead), memoryBytes: plan.memoryBytes, estimatedBytes: plan.estimatedBytes };
  }

  const needed = neededSchema(m, q);
  // Files whose rows interleave (a query JSON used as a ticket, a partition of appended files)
  // are merged as they are read; files that follow each other are read one after the other.
  const merged = !sequential(m, q, selected);
  const plan = planWindows(selected, needed, { merged, maxRows: opts.outputBatchRows, limit: q.interval === null ? q.limit : null, windowBytes: opts.readWindowBytes });
  const sources = selected.map((s) => fileWindows(ctx, m, q, s, needed, plan.windows.get(s)!));
  let rows = merged ? mergeSorted(sources, needed, m.keyColumns, m.timeColumn) : chain(sources);
  if (q.interval) rows = resampleSorted(rows, needed, m.keyColumns, m.timeColumn, q.interval);
  if (q.limit !== null) rows = firstRows(rows, q.limit);
  // The join's share: a quarter of the window, inside the merged rows' half that memoryBytes counts.
  const joinBytes = (opts.readWindowBytes ?? READ_WINDOW_BYTES) / 4;
  return { kind: 'batches', schema, batches: rebatch(rows, schema, opts.outputBatchRows, joinBytes), memoryBytes: plan.memoryBytes, estimatedBytes: plan.estimatedBytes };
}

/** The batch's columns named by `schema`, in its order (arrow's own select reorders wrongly). */
export function project(batch: RecordBatch, schema: Schema): RecordBatch {
  const same = schema.fields.length === batch.schema.fields.length && schema.fields.every((f, i) => batch.schema.fields[i]!.name === f.name);
  if (same) return batch;
  const children = schema.fields.map((f) => batch.getChild(f.name)!.data[0]!);
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: batch.numRows, nullCount: 0, children }));
}
