/**
 * Reading: planning a query into endpoints, and reading one endpoint's slice as record batches
 * ordered by key columns then time.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataType, Dictionary, Field, MessageReader, RecordBatch, Schema, Struct, Table, makeData, tableFromIPC, tableToIPC } from 'apache-arrow';
import { concatBatches, conformBatch, filterBatch, sortPermutation, sortedRangeForKeys, takeRows } from './batch-kernels.js';
import { manifestSchemaOf } from './dataset-spec.js';
import { StorageError } from './errors.js';
import { selectFiles, type SelectedFile } from './file-selection.js';
import type { Manifest } from './manifest.js';
import { IpcCache } from './ipc-cache.js';
import type { IpcTierRangeReader } from './ipc-tier-ranges.js';
import type { ParquetReader } from './parquet-reader.js';
import { mergeSorted } from './merge-sorted.js';
import { checkResampleSchema, resample } from './resample.js';
import type { PlannedEndpoint, ReadPlan, ReadSlice, SliceData } from './read-plan.js';
import type { ReadQuery } from '@flightdeck/contract';

export interface ReadOptions {
  /** Rows an endpoint covers before the planner starts the next one. */
  endpointTargetRows: number;
  /** Rows per record batch sent to clients. */
  outputBatchRows: number;
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
  let totalRecords = q.interval ? -1 : estimate(selected);
  if (q.limit !== null && totalRecords >= 0) totalRecords = Math.min(totalRecords, q.limit);

  const endpoints: PlannedEndpoint[] = [];
  // A limit or a resampling bucket can span partitions: such a query is one endpoint.
  if (q.limit !== null || q.interval !== null || byPartition.size <= 1) {
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
    ordered: endpoints.length === 1 || singleKey,
  };
}

/** Columns a read needs: the projection plus what filtering and ordering use. */
function neededSchema(m: Manifest, q: ReadQuery): Schema {
  const full = manifestSchemaOf(m);
  const wanted = new Set([...(q.columns ?? full.fields.map((f) => f.name)), m.timeColumn, ...m.keyColumns]);
  return new Schema(full.fields.filter((f) => wanted.has(f.name)));
}

/** Where a read finds its files and keeps what it decoded. */
export interface ReadContext {
  datasetDir: string;
  cache: IpcCache;
  parquet: ParquetReader;
  tier: IpcTierRangeReader;
}

async function readIpc(ctx: ReadContext, s: SelectedFile, columns: string[]): Promise<Uint8Array> {
  const rowGroups = s.rowGroups.length === s.file.rowGroups.length ? null : s.rowGroups;
  const path = join(ctx.datasetDir, s.file.path);
  const key = IpcCache.key(path, columns, rowGroups);
  let ipc = ctx.cache.get(key);
  if (!ipc) {
    ipc = await ctx.parquet.readIpc(path, { columns, ...(rowGroups ? { rowGroups } : {}) });
    ctx.cache.set(key, ipc);
  }
  return ipc;
}

/**
 * The file's IPC tier copy, when the read wants every row and exactly the columns it holds;
 * undefined otherwise (the Parquet file is read instead).
 */
async function readIpcTier(ctx: ReadContext, s: SelectedFile, columns: string[]): Promise<Uint8Array | undefined> {
  const tier = s.file.ipc;
  if (!tier || s.rowGroups.length !== s.file.rowGroups.length) return undefined;
  if (columns.length !== s.file.columns.length || columns.some((c, i) => s.file.columns[i] !== c)) return undefined;
  // Keyed by the Parquet file, so retiring that file drops this entry too.
  const key = IpcCache.key(join(ctx.datasetDir, s.file.path), ['<ipc-tier>'], null);
  let ipc = ctx.cache.get(key);
  if (!ipc) {
    ipc = await readFile(join(ctx.datasetDir, tier.path));
    ctx.cache.set(key, ipc);
  }
  return ipc;
}

/**
 * Some keys' rows of a file of many keys, fetched from its IPC tier copy by key runs rather than
 * as whole row groups; undefined when the file has no tier copy this can read.
 */
async function readKeyRows(ctx: ReadContext, m: Manifest, q: ReadQuery, s: SelectedFile, keys: string[], columns: string[]): Promise<RecordBatch[] | undefined> {
  const tier = s.file.ipc;
  if (!tier || (s.file.minKey !== null && s.file.minKey === s.file.maxKey)) return undefined;
  // Narrow each key's run by time only when the query's window cuts into the file's time span.
  const cuts = (q.startNs !== null && q.startNs > BigInt(s.file.minTimeNs)) || (q.endNs !== null && q.endNs <= BigInt(s.file.maxTimeNs));
  const window = cuts ? { column: m.timeColumn, startNs: q.startNs, endNs: q.endNs } : undefined;
  // Keyed by the Parquet file, so retiring that file drops this entry too.
  const key = `${IpcCache.key(join(ctx.datasetDir, s.file.path), columns, null)}|keys=${JSON.stringify(keys)}|${window ? `${q.startNs}..${q.endNs}` : '*'}`;
  const cached = ctx.cache.get(key);
  if (cached) return tableFromIPC(cached).batches;
  const batches = await ctx.tier.readKeys(join(ctx.datasetDir, tier.path), keys, columns, window);
  if (batches === undefined) return undefined;
  const schema = new Schema(batches[0]?.schema.fields.filter((f) => columns.includes(f.name)) ?? []);
  const kept = batches.map((b) => project(b, schema));
  ctx.cache.set(key, tableToIPC(new Table(schema, kept), 'stream'));
  return kept;
}

/** A file's rows that pass the query's filters, batch by batch (each stored batch is sorted). */
async function readFiltered(ctx: ReadContext, m: Manifest, q: ReadQuery, s: SelectedFile, schema: Schema): Promise<RecordBatch[]> {
  const columns = schema.fields.map((f) => f.name).filter((n) => s.file.columns.includes(n));
  const ranged = q.symbols !== null ? await readKeyRows(ctx, m, q, s, q.symbols, columns) : undefined;
  const pieces: RecordBatch[] = [];
  for (const batch of ranged ?? tableFromIPC(await readIpc(ctx, s, columns)).batches) {
    const piece = applyFilters(conformBatch(batch, schema), m, q);
    if (piece.numRows > 0) pieces.push(piece);
  }
  return pieces;
}

/**
 * A file's rows that pass the query's filters, read a row group at a time (or, for a few keys, by
 * their runs in the IPC tier), so a merge over many files holds one piece of each.
 */
async function* filteredGroups(ctx: ReadContext, m: Manifest, q: ReadQuery, s: SelectedFile, schema: Schema): AsyncGenerator<RecordBatch> {
  if (q.symbols !== null || s.rowGroups.length <= 1) {
    yield* await readFiltered(ctx, m, q, s, schema);
    return;
  }
  for (const g of s.rowGroups) yield* await readFiltered(ctx, m, q, { ...s, rowGroups: [g] }, schema);
}

/** Batches of at most `rows` rows, projected onto `schema`. */
async function* rebatch(batches: AsyncIterable<RecordBatch>, schema: Schema, rows: number): AsyncGenerator<RecordBatch> {
  for await (const b of batches) {
    const projected = project(b, schema);
    for (let start = 0; start < projected.numRows; start += rows) yield projected.slice(start, Math.min(projected.numRows, start + rows));
  }
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

/** Rows of a sorted batch that pass the query's key and time filters. */
function applyFilters(batch: RecordBatch, m: Manifest, q: ReadQuery): RecordBatch {
  if (q.symbols === null && q.startNs === null && q.endNs === null) return batch;
  return filterBatch(batch, sortedRangeForKeys(batch, m.keyColumns, q.symbols, m.timeColumn, q.startNs, q.endNs));
}

/** Reads one endpoint's rows, ordered by key columns then time. */
export async function readSlice(ctx: ReadContext, m: Manifest, slice: ReadSlice, opts: ReadOptions): Promise<SliceData> {
  const q = slice.query;
  const schema = outputSchema(m, q);
  checkQuery(m, q);
  const partitions = slice.partitions ? new Set(slice.partitions) : null;
  const selected = selectFiles(m, q, partitions);

  if (forwardable(m, q, selected, schema)) {
    const columns = schema.fields.map((f) => f.name);
    async function* streams(): AsyncGenerator<Uint8Array> {
      for (const s of selected) {
        const ipc = (await readIpcTier(ctx, s, columns)) ?? (await readIpc(ctx, s, columns));
        const stored = new MessageReader(ipc).readSchema();
        // A file written under another type spelling is re-encoded rather than forwarded.
        if (stored && sameSchema(stored, schema)) yield ipc;
        else for (const b of tableFromIPC(ipc).batches) yield tableToIPC(new Table(schema, [conformBatch(b, schema)]), 'stream');
      }
    }
    return { kind: 'ipc', schema, streams: streams() };
  }

  const needed = neededSchema(m, q);
  const inOrder = sequential(m, q, selected);
  const cap = q.limit !== null && q.interval === null ? q.limit : null;
  if (!inOrder && selected.length > 1 && cap === null && q.interval === null) {
    // Files whose rows interleave: merge them as they are read, one batch of each at a time.
    const merged = mergeSorted(selected.map((s) => filteredGroups(ctx, m, q, s, needed)), needed, m.keyColumns, m.timeColumn);
    return { kind: 'batches', schema, batches: rebatch(merged, schema, opts.outputBatchRows) };
  }
  async function* generate(): AsyncGenerator<RecordBatch> {
    let pieces: RecordBatch[] = [];
    let rowsSoFar = 0;
    for (const s of selected) {
      for (const piece of await readFiltered(ctx, m, q, s, needed)) {
        pieces.push(piece);
        rowsSoFar += piece.numRows;
      }
      if (cap === null) continue;
      // Rows already in order and enough of them: the files after these cannot come first.
      if (inOrder && rowsSoFar >= cap) break;
      // Otherwise keep only the first `cap` rows so far, so a small limit over a large dataset
      // holds one file plus twice the limit, never the whole dataset.
      if (!inOrder && rowsSoFar > 2 * cap) {
        pieces = [firstRows(concatBatches(needed, pieces), m, cap)];
        rowsSoFar = pieces[0]!.numRows;
      }
    }
    if (pieces.length === 0) return;
    let rows = pieces.length === 1 ? pieces[0]! : concatBatches(needed, pieces);
    // Pieces of one file follow each other; pieces of several need a merge.
    if (!inOrder && selected.length > 1) rows = takeRows(rows, sortPermutation(rows, m.keyColumns, m.timeColumn));
    if (q.interval) rows = resample(rows, m.keyColumns, m.timeColumn, q.interval);
    if (q.limit !== null && rows.numRows > q.limit) rows = rows.slice(0, q.limit);
    const projected = project(rows, schema);
    for (let start = 0; start < projected.numRows; start += opts.outputBatchRows) {
      yield projected.slice(start, Math.min(projected.numRows, start + opts.outputBatchRows));
    }
  }
  return { kind: 'batches', schema, batches: generate() };
}

/** The first `n` rows of a batch in key/time order. */
function firstRows(batch: RecordBatch, m: Manifest, n: number): RecordBatch {
  const order = sortPermutation(batch, m.keyColumns, m.timeColumn);
  return takeRows(batch, order.subarray(0, Math.min(n, order.length)));
}

/** The batch's columns named by `schema`, in its order (arrow's own select reorders wrongly). */
export function project(batch: RecordBatch, schema: Schema): RecordBatch {
  const same = schema.fields.length === batch.schema.fields.length && schema.fields.every((f, i) => batch.schema.fields[i]!.name === f.name);
  if (same) return batch;
  const children = schema.fields.map((f) => batch.getChild(f.name)!.data[0]!);
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: batch.numRows, nullCount: 0, children }));
}
