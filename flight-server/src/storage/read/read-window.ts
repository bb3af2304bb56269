/**
 * Reading a file a bounded window of rows at a time, so what one read holds does not grow with
 * the files it reads or the size of their row groups.
 *
 * A read (one DoGet stream) holds at most READ_WINDOW_BYTES of decoded rows: half for the windows
 * of the files it reads at once (a merge of k files gives each a k-th of that), half for the rows
 * merged from them. A window is read from the file's IPC tier copy by byte ranges (only its rows'
 * bytes, into buffers of its own); without a tier copy, it is copied out of the row group decoded
 * into the hot cache, or, when the row group is too large for the cache, decoded on its own.
 * Nothing is read before the consumer asks for it.
 */
import { join } from 'node:path';
import { DataType, Schema, Table, tableFromIPC, tableToIPC, type Data, type RecordBatch } from 'apache-arrow';
import type { ReadQuery } from '@flightdeck/contract';
import { concatBatches } from '../kernels/concat.js';
import { conformBatch } from '../kernels/conform.js';
import { sortedRangeForKeys, type RowRange } from '../kernels/search.js';
import { filterBatch, takeRows } from '../kernels/take-filter.js';
import type { SelectedFile } from './file-selection.js';
import { IpcCache } from '../io/ipc-cache.js';
import { cachedBatches } from './decoded-ipc.js';
import type { IpcTierRangeReader, TimeWindow } from '../io/ipc-tier-ranges.js';
import type { Manifest } from '../manifest.js';
import type { ParquetReader } from '../io/parquet-reader.js';

const MiB = 1024 * 1024;

/** Decoded rows one read holds at most: its files' windows plus the rows merged from them. */
export const READ_WINDOW_BYTES = 8 * MiB;

/**
 * The smallest window of a file. A merge of so many files that their share of the window falls
 * below this many rows each holds more than READ_WINDOW_BYTES (reported as the read's memoryBytes).
 */
export const MIN_WINDOW_ROWS = 256;

/** A row group is decoded into the hot cache only when it takes at most this share of it. */
export const CACHE_SHARE = 8;

/** Bytes of decoded windows held by reads in progress (a gauge the store exposes). */
export interface ReadWindowStats {
  /** Held now, by every read in progress. */
  heldBytes: number;
  /** The most ever held at once. */
  peakBytes: number;
}

export class HeldWindows {
  private held = 0;
  private peak = 0;

  hold(bytes: number): void {
    this.held += bytes;
    if (this.held > this.peak) this.peak = this.held;
  }

  release(bytes: number): void {
    this.held -= bytes;
  }

  stats(): ReadWindowStats {
    return { heldBytes: this.held, peakBytes: this.peak };
  }
}

/** Where a read finds its files and keeps what it decoded. */
export interface ReadContext {
  /** Where the dataset's data files are: its directory in local mode, its key prefix under DATA_URL. */
  datasetDir: string;
  cache: IpcCache;
  parquet: ParquetReader;
  tier: IpcTierRangeReader;
  windows: HeldWindows;
}

/** How much of a file one window reads. */
export interface WindowSize {
  /** Rows of the first window (later ones follow the bytes per row seen). */
  rows: number;
  /** Most rows of any window. */
  maxRows: number;
  /** Bytes a window aims at. */
  bytes: number;
}

/** How a read is windowed, and what it holds at most. */
export interface WindowPlan {
  windows: Map<SelectedFile, WindowSize>;
  /** Decoded bytes the read holds at most (the server's memory budget reserves this much). */
  memoryBytes: number;
  /** Decoded bytes of every row the read returns, estimated from the manifest. */
  estimatedBytes: number;
}

/** Decoded bytes per row of the columns of `schema`, guessed from their types. */
function schemaRowBytes(schema: Schema): number {
  let bytes = 0;
  for (const f of schema.fields) {
    const t = f.type as DataType;
    bytes += 1 / 8; // validity
    if (DataType.isBool(t)) bytes += 1 / 8;
    else if (DataType.isDictionary(t)) bytes += t.indices.bitWidth / 8;
    else if (DataType.isUtf8(t) || DataType.isBinary(t)) bytes += 4 + 16;
    else if (DataType.isInt(t) || DataType.isTimestamp(t)) bytes += 'bitWidth' in t ? t.bitWidth / 8 : 8;
    else if (DataType.isFloat(t)) bytes += [2, 4, 8][t.precision] ?? 8;
    else bytes += 8;
  }
  return Math.max(1, bytes);
}

/** Decoded bytes per row of a file: its tier copy's size when it has one, else the types' guess. */
export function rowBytesOf(s: SelectedFile, schema: Schema): number {
  const tier = s.file.ipc;
  if (tier && s.file.rows > 0) return Math.max(1, tier.bytes / s.file.rows);
  return schemaRowBytes(schema);
}

/**
 * Windows for reading `selected`: `merged` when all are read at once (a merge), else one after the
 * other. `limit` caps windows: no file gives more than the first `limit` rows of its own.
 */
export function planWindows(
  selected: readonly SelectedFile[],
  schema: Schema,
  opts: { merged: boolean; maxRows: number; limit: number | null; windowBytes?: number | undefined },
): WindowPlan {
  const windowBytes = opts.windowBytes ?? READ_WINDOW_BYTES;
  const share = windowBytes / 2 / (opts.merged ? Math.max(1, selected.length) : 1);
  const maxRows = Math.max(1, opts.limit === null ? opts.maxRows : Math.min(opts.maxRows, Math.max(MIN_WINDOW_ROWS, opts.limit)));
  const windows = new Map<SelectedFile, WindowSize>();
  let held = 0;
  let estimatedBytes = 0;
  for (const s of selected) {
    const rowBytes = rowBytesOf(s, schema);
    const rows = Math.min(maxRows, Math.max(MIN_WINDOW_ROWS, Math.floor(share / rowBytes)));
    windows.set(s, { rows, maxRows, bytes: share });
    held = opts.merged ? held + rows * rowBytes : Math.max(held, rows * rowBytes);
    estimatedBytes += s.estimatedRows * rowBytes;
  }
  // Rows merged from the windows are at most as many again.
  const memoryBytes = Math.ceil(Math.min(2 * estimatedBytes, Math.max(windowBytes, 2 * held)));
  return { windows, memoryBytes, estimatedBytes: Math.ceil(estimatedBytes) };
}

/**
 * Bytes of memory a batch's columns keep alive: each distinct buffer they view, whole (a window
 * decoded from Parquet views one IPC buffer). Dictionaries, shared by windows, are left out.
 */
export function batchBytes(batch: RecordBatch): number {
  const seen = new Set<ArrayBufferLike>();
  let bytes = 0;
  const visit = (d: Data) => {
    for (const b of [d.values, d.valueOffsets, d.nullBitmap] as (ArrayBufferView | undefined)[]) {
      if (b && !seen.has(b.buffer)) {
        seen.add(b.buffer);
        bytes += b.buffer.byteLength;
      }
    }
    d.children.forEach(visit);
  };
  batch.data.children.forEach(visit);
  return bytes;
}

/** Rows of a sorted batch that pass the query's key and time filters. */
export function applyFilters(batch: RecordBatch, m: Manifest, q: ReadQuery): RecordBatch {
  if (q.symbols === null && q.startNs === null && q.endNs === null) return batch;
  return filterBatch(batch, sortedRangeForKeys(batch, m.keyColumns, q.symbols, m.timeColumn, q.startNs, q.endNs));
}

/** Row ranges of the selected row groups of a file, touching ones joined. */
function rowGroupRanges(s: SelectedFile): RowRange[] {
  const starts: number[] = [];
  let at = 0;
  for (const g of s.file.rowGroups) {
    starts.push(at);
    at += g.rows;
  }
  const ranges: RowRange[] = [];
  for (const g of s.rowGroups) {
    const start = starts[g]!;
    const end = start + s.file.rowGroups[g]!.rows;
    const last = ranges.at(-1);
    if (last && last[1] === start) last[1] = end;
    else ranges.push([start, end]);
  }
  return ranges;
}

/** The rows in both lists of sorted, disjoint ranges. */
export function intersectRanges(a: readonly RowRange[], b: readonly RowRange[]): RowRange[] {
  const out: RowRange[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const lo = Math.max(a[i]![0], b[j]![0]);
    const hi = Math.min(a[i]![1], b[j]![1]);
    if (hi > lo) out.push([lo, hi]);
    if (a[i]![1] < b[j]![1]) i++;
    else j++;
  }
  return out;
}

/** A copy of rows [start, end) of batches that follow each other, so the rest can be let go. */
function copyRows(schema: Schema, batches: readonly RecordBatch[], start: number, end: number): RecordBatch {
  const pieces: RecordBatch[] = [];
  let at = 0;
  for (const b of batches) {
    const lo = Math.max(start, at);
    const hi = Math.min(end, at + b.numRows);
    if (hi > lo) pieces.push(b.slice(lo - at, hi - at));
    at += b.numRows;
  }
  if (pieces.length === 1) {
    const one = pieces[0]!;
    return takeRows(one, Uint32Array.from({ length: one.numRows }, (_, i) => i));
  }
  return concatBatches(schema, pieces);
}

/** One file's reader of rows by file row number: from the tier copy, or from Parquet. */
interface RowSource {
  /** Rows [start, end) of the file, or fewer (up to a stored batch or row group boundary). */
  read(start: number, end: number): Promise<RecordBatch>;
}

/** Reads by byte ranges of the file's tier copy; undefined when it has none this can read. */
async function tierSource(ctx: ReadContext, s: SelectedFile, columns: string[]): Promise<(RowSource & { keyRanges(keys: string[], window: TimeWindow | undefined): Promise<RowRange[] | undefined> }) | undefined> {
  const tier = s.file.ipc;
  if (!tier) return undefined;
  const path = join(ctx.datasetDir, tier.path);
  if (!(await ctx.tier.canReadRows(path)) || (await ctx.tier.rowCount(path)) !== s.file.rows) return undefined;
  return {
    read: async (start, end) => (await ctx.tier.readRows(path, start, end, columns))!,
    keyRanges: (keys, window) => ctx.tier.keyRanges(path, keys, window),
  };
}

function parquetSource(ctx: ReadContext, s: SelectedFile, columns: string[], schema: Schema, rowBytes: number): RowSource {
  const path = join(ctx.datasetDir, s.file.path);
  const starts: number[] = [];
  let at = 0;
  for (const g of s.file.rowGroups) {
    starts.push(at);
    at += g.rows;
  }
  return {
    read: async (start, end) => {
      let g = starts.length - 1;
      while (g > 0 && starts[g]! > start) g--;
      const groupRows = s.file.rowGroups[g]!.rows;
      const from = start - starts[g]!;
      const to = Math.min(end - starts[g]!, groupRows);
      if (groupRows * rowBytes <= ctx.cache.capacityBytes / CACHE_SHARE) {
        // Decoded once into the hot cache (shared by every reader), the window copied out of it.
        const ipc = await ctx.cache.getOrLoad(IpcCache.key(path, columns, [g]), () => ctx.parquet.readIpc(path, { columns, rowGroups: [g] }));
        return copyRows(schema, cachedBatches(ipc), from, to);
      }
      const batches = tableFromIPC(await ctx.parquet.readRowGroupRows(path, g, from, to - from, columns)).batches;
      return batches.length === 1 ? batches[0]! : concatBatches(batches[0]!.schema, batches);
    },
  };
}

/**
 * The hot cache's key of some keys' rows of a file read from its tier copy: a selective read
 * small enough for one window is kept, so asking again reads nothing from disk.
 */
function keyRowsCacheKey(ctx: ReadContext, q: ReadQuery, s: SelectedFile, columns: string[], window: TimeWindow | undefined): string {
  // Keyed by the Parquet file, so retiring that file drops this entry too.
  return `${IpcCache.key(join(ctx.datasetDir, s.file.path), columns, null)}|keys=${JSON.stringify(q.symbols)}|${window ? `${q.startNs}..${q.endNs}` : '*'}`;
}

/** The query's time window when it cuts into the file's time span (key runs are then narrowed). */
function cutWindow(m: Manifest, q: ReadQuery, s: SelectedFile): TimeWindow | undefined {
  const cuts = (q.startNs !== null && q.startNs > BigInt(s.file.minTimeNs)) || (q.endNs !== null && q.endNs <= BigInt(s.file.maxTimeNs));
  return cuts ? { column: m.timeColumn, startNs: q.startNs, endNs: q.endNs } : undefined;
}

/**
 * A file's rows that pass the query's filters, conformed to `schema`, a window at a time; the
 * window just yielded is counted in `ctx.windows` until the next is asked for or the read ends.
 */
export async function* fileWindows(ctx: ReadContext, m: Manifest, q: ReadQuery, s: SelectedFile, schema: Schema, size: WindowSize): AsyncGenerator<RecordBatch> {
  const columns = schema.fields.map((f) => f.name).filter((n) => s.file.columns.includes(n));
  const stored = new Schema(schema.fields.filter((f) => columns.includes(f.name)));
  // Some keys of a file of many: their runs in the tier copy, kept in the hot cache when small.
  const byKey = q.symbols !== null && Boolean(s.file.ipc) && !(s.file.minKey !== null && s.file.minKey === s.file.maxKey) && !s.rows;
  const keyWindow = byKey ? cutWindow(m, q, s) : undefined;
  const cacheKey = byKey ? keyRowsCacheKey(ctx, q, s, columns, keyWindow) : '';
  let held = 0;
  const hold = (batch: RecordBatch) => {
    const bytes = batchBytes(batch);
    ctx.windows.hold(bytes);
    ctx.windows.release(held);
    held = bytes;
  };
  try {
    const cached = byKey ? ctx.cache.get(cacheKey) : undefined;
    if (cached) {
      for (const b of cachedBatches(cached)) {
        hold(b);
        const piece = applyFilters(conformBatch(b, schema), m, q);
        if (piece.numRows > 0) yield piece;
      }
      return;
    }
    const tier = await tierSource(ctx, s, columns);
    const source = tier ?? parquetSource(ctx, s, columns, stored, rowBytesOf(s, schema));
    const all = (tier && byKey ? await tier.keyRanges(q.symbols!, keyWindow) : undefined) ?? rowGroupRanges(s);
    const ranges = s.rows ? intersectRanges(all, s.rows) : all;
    let rows = size.rows;
    // Selective rows that fit one window are read as one and kept for the next read.
    const keep = tier !== undefined && byKey && ranges.reduce((n, [a, b]) => n + b - a, 0) <= rows;
    if (keep && ranges.length === 0) {
      ctx.cache.set(cacheKey, tableToIPC(new Table(stored, []), 'stream'));
      return;
    }
    let r = 0;
    let at = ranges[0]?.[0] ?? 0;
    while (r < ranges.length) {
      // One window: rows of one or more ranges, read up to stored batch and row group boundaries.
      const parts: RecordBatch[] = [];
      let count = 0;
      while (r < ranges.length && count < rows) {
        const end = Math.min(ranges[r]![1], at + rows - count);
        const part = await source.read(at, end);
        if (part.numRows === 0) throw new Error(`no rows at ${at} of ${s.file.path}`);
        parts.push(part);
        count += part.numRows;
        at += part.numRows;
        if (at >= ranges[r]![1]) {
          r++;
          at = ranges[r]?.[0] ?? at;
        }
      }
      const window = parts.length === 1 ? parts[0]! : concatBatches(parts[0]!.schema, parts);
      if (keep) ctx.cache.set(cacheKey, tableToIPC(new Table(window.schema, [window]), 'stream'));
      hold(window);
      // Later windows keep to the byte share by the bytes per row seen, not the guess.
      rows = Math.min(size.maxRows, Math.max(MIN_WINDOW_ROWS, Math.floor((size.bytes * window.numRows) / Math.max(1, held))));
      const piece = applyFilters(conformBatch(window, schema), m, q);
      if (piece.numRows > 0) yield piece;
    }
  } finally {
    ctx.windows.release(held);
  }
}
