/**
 * Reading: planning a query into endpoints, and reading one endpoint's slice as record batches
 * ordered by key columns then time.
 */
import { join } from 'node:path';
import { RecordBatch, Schema, Struct, makeData, type Timestamp } from 'apache-arrow';
import { concatBatches, conformBatch, filterBatch, sortPermutation, sortedRangeForKeys, takeRows, timeColumnInt64, toNanoseconds } from './batch-kernels.js';
import { manifestSchemaOf } from './dataset-spec.js';
import { StorageError } from './errors.js';
import { selectFiles, type SelectedFile } from './file-selection.js';
import type { Manifest } from './manifest.js';
import { readParquetBatches } from './parquet-io.js';
import { checkResampleSchema, resample } from './resample.js';
import type { PlannedEndpoint, ReadPlan, ReadSlice } from './read-plan.js';
import type { ReadQuery } from './read-query.js';

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
  return new Schema(
    q.columns.map((name) => {
      const field = schema.fields.find((f) => f.name === name);
      if (!field) {
        const known = schema.fields.map((f) => f.name).join(', ') || 'none yet';
        throw new StorageError('INVALID_ARGUMENT', `unknown column "${name}" in dataset "${m.name}" (columns: ${known})`);
      }
      return field;
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

async function readSelected(datasetDir: string, m: Manifest, s: SelectedFile, schema: Schema): Promise<RecordBatch> {
  const columns = schema.fields.map((f) => f.name).filter((n) => s.file.columns.includes(n));
  const allGroups = s.rowGroups.length === s.file.rowGroups.length;
  const { batches } = await readParquetBatches(join(datasetDir, s.file.path), {
    columns,
    ...(allGroups ? {} : { rowGroups: s.rowGroups }),
  });
  return concatBatches(schema, batches.map((b) => conformBatch(b, schema)));
}

/** Rows of a sorted batch that pass the query's key and time filters. */
function applyFilters(batch: RecordBatch, m: Manifest, q: ReadQuery): RecordBatch {
  if (q.symbols === null && q.startNs === null && q.endNs === null) return batch;
  const firstKey = m.keyColumns[0] ?? null;
  if (m.keyColumns.length <= 1) {
    const ranges = sortedRangeForKeys(batch, firstKey ?? '', firstKey ? q.symbols : null, m.timeColumn, q.startNs, q.endNs);
    return filterBatch(batch, ranges);
  }
  // With several key columns time is not monotonic within a first-key run: scan row by row.
  const unit = (batch.schema.fields.find((f) => f.name === m.timeColumn)!.type as Timestamp).unit;
  const times = timeColumnInt64(batch, m.timeColumn);
  const keys = batch.getChild(firstKey!)!;
  const wanted = q.symbols ? new Set(q.symbols) : null;
  const keep: number[] = [];
  for (let i = 0; i < batch.numRows; i++) {
    const t = toNanoseconds(times[i]!, unit);
    if (q.startNs !== null && t < q.startNs) continue;
    if (q.endNs !== null && t >= q.endNs) continue;
    if (wanted && !wanted.has(String(keys.get(i)))) continue;
    keep.push(i);
  }
  return keep.length === batch.numRows ? batch : takeRows(batch, Uint32Array.from(keep));
}

/** Reads one endpoint's rows, ordered by key columns then time. */
export async function readSlice(
  datasetDir: string,
  m: Manifest,
  slice: ReadSlice,
  opts: ReadOptions,
): Promise<{ schema: Schema; batches: AsyncGenerator<RecordBatch> }> {
  const q = slice.query;
  const schema = outputSchema(m, q);
  checkQuery(m, q);
  const needed = neededSchema(m, q);
  const partitions = slice.partitions ? new Set(slice.partitions) : null;
  const selected = selectFiles(m, q, partitions);
  async function* generate(): AsyncGenerator<RecordBatch> {
    const pieces: RecordBatch[] = [];
    for (const s of selected) {
      const piece = applyFilters(await readSelected(datasetDir, m, s, needed), m, q);
      if (piece.numRows > 0) pieces.push(piece);
    }
    if (pieces.length === 0) return;
    let rows = pieces.length === 1 ? pieces[0]! : concatBatches(needed, pieces);
    if (pieces.length > 1) rows = takeRows(rows, sortPermutation(rows, m.keyColumns, m.timeColumn));
    if (q.interval) rows = resample(rows, m.keyColumns, m.timeColumn, q.interval);
    if (q.limit !== null && rows.numRows > q.limit) rows = rows.slice(0, q.limit);
    const projected = project(rows, schema);
    for (let start = 0; start < projected.numRows; start += opts.outputBatchRows) {
      yield projected.slice(start, Math.min(projected.numRows, start + opts.outputBatchRows));
    }
  }
  return { schema, batches: generate() };
}

/** The batch's columns named by `schema`, in its order (arrow's own select reorders wrongly). */
export function project(batch: RecordBatch, schema: Schema): RecordBatch {
  const same = schema.fields.length === batch.schema.fields.length && schema.fields.every((f, i) => batch.schema.fields[i]!.name === f.name);
  if (same) return batch;
  const children = schema.fields.map((f) => batch.getChild(f.name)!.data[0]!);
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: batch.numRows, nullCount: 0, children }));
}
