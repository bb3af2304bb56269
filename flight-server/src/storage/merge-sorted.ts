/**
 * A streaming k-way merge of record batch streams that are each sorted by key columns then time,
 * into one stream in that order. It holds one batch per source: a read over many files emits rows
 * as it goes instead of concatenating and sorting them all.
 */
import type { RecordBatch, Schema, Vector } from 'apache-arrow';
import { concatBatches, partitionPoint, sortPermutation, takeRows, timeColumnInt64 } from './batch-kernels.js';

interface Cursor {
  source: AsyncIterator<RecordBatch>;
  batch: RecordBatch;
  pos: number;
  keys: Vector[];
  time: BigInt64Array;
}

/** Compares strings by code point, which is UTF-8 byte order: the order sortPermutation uses. */
function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

function compareValues(a: unknown, b: unknown): number {
  if (typeof a === 'string' && typeof b === 'string') return compareStrings(a, b);
  const x = a instanceof Date ? a.getTime() : (a as number | bigint | boolean);
  const y = b instanceof Date ? b.getTime() : (b as number | bigint | boolean);
  return x < y ? -1 : x > y ? 1 : 0;
}

function compareRows(a: Cursor, i: number, b: Cursor, j: number): number {
  for (let k = 0; k < a.keys.length; k++) {
    const c = compareValues(a.keys[k]!.get(i), b.keys[k]!.get(j));
    if (c !== 0) return c;
  }
  const s = a.time[i]!;
  const t = b.time[j]!;
  return s < t ? -1 : s > t ? 1 : 0;
}

/** How many rows of `c` from its position are at most row `j` of `bound`. */
function rowsUpTo(c: Cursor, bound: Cursor, j: number): number {
  return partitionPoint(c.pos, c.batch.numRows, (i) => compareRows(c, i, bound, j) <= 0) - c.pos;
}

/** The source's next non-empty batch as a cursor, or null when it has no more. */
async function advance(source: AsyncIterator<RecordBatch>, keyColumns: readonly string[], timeColumn: string): Promise<Cursor | null> {
  for (;;) {
    const next = await source.next();
    if (next.done) return null;
    const batch = next.value;
    if (batch.numRows === 0) continue;
    return { source, batch, pos: 0, keys: keyColumns.map((k) => batch.getChild(k)!), time: timeColumnInt64(batch, timeColumn) };
  }
}

/**
 * Merges sorted sources. Each round takes the source whose current batch ends lowest: every row
 * of every source up to that batch's last row can go out now, sorted among themselves. Every round
 * empties at least one batch, and each row is sorted once.
 */
export async function* mergeSorted(
  sources: AsyncIterable<RecordBatch>[],
  schema: Schema,
  keyColumns: readonly string[],
  timeColumn: string,
): AsyncGenerator<RecordBatch> {
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  const cursors: Cursor[] = [];
  try {
    for (const it of iterators) {
      const c = await advance(it, keyColumns, timeColumn);
      if (c) cursors.push(c);
    }
    while (cursors.length > 1) {
      let low = cursors[0]!;
      for (const c of cursors) if (compareRows(c, c.batch.numRows - 1, low, low.batch.numRows - 1) < 0) low = c;
      const last = low.batch.numRows - 1;
      const parts: RecordBatch[] = [];
      for (const c of cursors) {
        const n = c === low ? c.batch.numRows - c.pos : rowsUpTo(c, low, last);
        if (n > 0) parts.push(c.batch.slice(c.pos, c.pos + n));
        c.pos += n;
      }
      if (parts.length === 1) yield parts[0]!;
      else {
        const rows = concatBatches(schema, parts);
        yield takeRows(rows, sortPermutation(rows, keyColumns, timeColumn));
      }
      for (let i = cursors.length - 1; i >= 0; i--) {
        const c = cursors[i]!;
        if (c.pos < c.batch.numRows) continue;
        const next = await advance(c.source, keyColumns, timeColumn);
        if (next) cursors[i] = next;
        else cursors.splice(i, 1);
      }
    }
    const rest = cursors[0];
    if (rest) {
      yield rest.batch.slice(rest.pos);
      for (let c = await advance(rest.source, keyColumns, timeColumn); c; c = await advance(rest.source, keyColumns, timeColumn)) yield c.batch;
    }
  } finally {
    await Promise.all(iterators.map((it) => it.return?.()));
  }
}
