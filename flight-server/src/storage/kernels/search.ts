/**
 * Binary search over batches sorted by (key columns, time): partitionPoint, galloping runEnd, and
 * the row ranges of a set of keys within a time window.
 */
import { DataType, DateUnit, type Data, type RecordBatch } from 'apache-arrow';
import { describeType } from '@flightdeck/contract';
import { StorageError } from '../errors.js';
import { getBit, nullsOf } from './bitmap.js';
import { column, fixedValues, isInt64Like } from './column-data.js';
import { rowComparator } from './row-compare.js';
import { entryOf, stringColumn } from './string-column.js';
import { ceilFromNanoseconds, timestampData } from './time-column.js';
import { compareBytes } from './utf8.js';

/** A half-open row range [start, end). */
export type RowRange = [start: number, end: number];

const encoder = new TextEncoder();

/** Compares row i of a key column with a query value; null when the value cannot occur. */
function targetComparator(d: Data, name: string, target: string): ((i: number) => number) | null {
  const c = stringColumn(d);
  if (c !== null) {
    const tb = encoder.encode(target);
    return (i) => {
      const k = entryOf(c, i);
      return k < 0 ? -1 : compareBytes(c.bytes, c.offsets[k]!, c.offsets[k + 1]!, tb, 0, tb.length);
    };
  }
  const nulls = nullsOf(d);
  const isNull = (i: number) => nulls !== null && !getBit(nulls, d.offset + i);
  if (isInt64Like(d.type) || (DataType.isInt(d.type) && d.type.bitWidth === 32) || (DataType.isDate(d.type) && d.type.unit === DateUnit.DAY)) {
    if (!/^-?\d+$/.test(target.trim())) return null;
    const x = BigInt(target.trim());
    const v = fixedValues(d) as BigInt64Array | Int32Array;
    return (i) => {
      if (isNull(i)) return -1;
      const y = BigInt(v[i]!);
      return y < x ? -1 : y > x ? 1 : 0;
    };
  }
  throw new StorageError('INVALID_ARGUMENT', `key column "${name}" of type ${describeType(d.type)} cannot be filtered by symbols`);
}

/** First i in [lo, hi) with pred(i) false, for a predicate true on a prefix of the range. */
export function partitionPoint(lo: number, hi: number, pred: (i: number) => boolean): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(mid)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** End of the run of rows equal to row `start` (per `same`) within [start, end), by galloping. */
export function runEnd(start: number, end: number, same: (i: number, j: number) => boolean): number {
  let step = 1;
  let known = start;
  while (start + step < end && same(start, start + step)) {
    known = start + step;
    step *= 2;
  }
  return partitionPoint(known + 1, Math.min(start + step, end), (i) => same(start, i));
}

/**
 * For a batch sorted by (key columns, time): the ascending, non-overlapping row ranges whose first
 * key column is in `keys` (null = any) and whose time t satisfies start <= t < end (bounds in
 * epoch nanoseconds, null = open; compared exactly in the column's unit). Binary search per key and
 * per key run, so cost grows with the number of keys, not of rows.
 *
 * `keyColumn` may also be the full list of key columns (or null when there are none); with more
 * than one key column, time is only sorted within runs of the full key, which are then found by
 * galloping. Passing only the first of several key columns would search unsorted time.
 * `''` is read like null (no key column).
 */
export function sortedRangeForKeys(
  batch: RecordBatch,
  keyColumn: string | readonly string[] | null,
  keys: readonly string[] | null,
  timeColumn: string,
  startNs: bigint | null,
  endNs: bigint | null,
): RowRange[] {
  const n = batch.numRows;
  const keyCols = keyColumn === null || keyColumn === '' ? [] : typeof keyColumn === 'string' ? [keyColumn] : [...keyColumn];
  const td = timestampData(batch, timeColumn);
  const time = fixedValues(td) as BigInt64Array;
  const lo = startNs === null ? null : ceilFromNanoseconds(startNs, td.type.unit);
  const hi = endNs === null ? null : ceilFromNanoseconds(endNs, td.type.unit);
  if (n === 0 || (lo !== null && hi !== null && lo >= hi)) return [];

  let segments: RowRange[];
  if (keys === null) segments = [[0, n]];
  else {
    if (keyCols.length === 0) {
      throw new StorageError('INVALID_ARGUMENT', 'symbols filter given, but the dataset has no key column');
    }
    const first = column(batch, keyCols[0]!);
    segments = [];
    for (const key of keys) {
      const cmp = targetComparator(first, keyCols[0]!, key);
      if (cmp === null) continue;
      const s = partitionPoint(0, n, (i) => cmp(i) < 0);
      const e = partitionPoint(s, n, (i) => cmp(i) === 0);
      if (s < e) segments.push([s, e]);
    }
    segments.sort((a, b) => a[0] - b[0]);
  }
  if (lo === null && hi === null) return mergeRanges(segments);

  const runCols = keys === null ? keyCols : keyCols.slice(1);
  const cmps = runCols.map((name) => rowComparator(column(batch, name), name));
  const same = (i: number, j: number) => {
    for (const c of cmps) if (c(i, j) !== 0) return false;
    return true;
  };
  const out: RowRange[] = [];
  for (const [s0, e0] of segments) {
    let s = s0;
    while (s < e0) {
      const e = cmps.length === 0 ? e0 : runEnd(s, e0, same);
      const a = lo === null ? s : partitionPoint(s, e, (i) => time[i]! < lo);
      const b = hi === null ? e : partitionPoint(a, e, (i) => time[i]! < hi);
      if (a < b) out.push([a, b]);
      s = e;
    }
  }
  return mergeRanges(out);
}

function mergeRanges(ranges: readonly RowRange[]): RowRange[] {
  const out: RowRange[] = [];
  for (const [s, e] of ranges) {
    const last = out[out.length - 1];
    if (last !== undefined && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}
