/**
 * A streaming k-way merge of record batch streams that are each sorted by key columns then time,
 * into one stream in that order. It holds one batch per source (a bounded window of each file,
 * see read-window.ts) and reads a source's next batch only when the consumer pulls for rows it
 * needs: a read over many files emits rows as it goes instead of concatenating and sorting them all.
 */
import type { RecordBatch, Schema, Vector } from 'apache-arrow';
import { concatBatches } from '../kernels/concat.js';
import { partitionPoint } from '../kernels/search.js';
import { sortPermutation } from '../kernels/sort.js';
import { takeRows } from '../kernels/take-filter.js';
import { timeColumnInt64 } from '../kernels/time-column.js';

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

/** Rows [start, end) of a cursor's batch that go out in one round. */
interface Part {
  cursor: Cursor;
  start: number;
  end: number;
  batch: RecordBatch;
}

/** Rows [start, end) of parts[part]: a run of rows that goes out in one piece. */
type Block = [part: number, start: number, end: number];

/**
 * The merge order of sorted parts as blocks: the part whose next row is lowest gives every row up
 * to the next row of the part after it (found by binary search). Files of one partition after
 * another interleave in long blocks (one key's rows of one file), so this costs a few comparisons
 * per block where a sort costs several per row. Null once there are more than `maxBlocks` (rows
 * interleave finely): the caller sorts instead.
 */
function mergeBlocks(parts: Part[], maxBlocks: number): Block[] | null {
  const heads = parts.map((p, i) => ({ p, i, at: p.start }));
  const blocks: Block[] = [];
  while (heads.length > 1) {
    if (blocks.length >= maxBlocks) return null;
    let first = 0;
    let second = -1;
    for (let h = 1; h < heads.length; h++) {
      const x = heads[h]!;
      if (compareRows(x.p.cursor, x.at, heads[first]!.p.cursor, heads[first]!.at) < 0) {
        second = first;
        first = h;
      } else if (second < 0 || compareRows(x.p.cursor, x.at, heads[second]!.p.cursor, heads[second]!.at) < 0) second = h;
    }
    const a = heads[first]!;
    const b = heads[second]!;
    const end = partitionPoint(a.at + 1, a.p.end, (i) => compareRows(a.p.cursor, i, b.p.cursor, b.at) <= 0);
    blocks.push([a.i, a.at, end]);
    a.at = end;
    if (a.at >= a.p.end) heads.splice(first, 1);
  }
  const rest = heads[0];
  if (rest) blocks.push([rest.i, rest.at, rest.p.end]);
  return blocks;
}

/**
 * The parts' rows in key/time order as one batch. Long blocks are copied once, block by block;
 * short ones through one permutation of the parts concatenated; rows that interleave finely are
 * sorted.
 */
function mergeParts(parts: Part[], schema: Schema, keyColumns: readonly string[], timeColumn: string): RecordBatch {
  const rows = parts.reduce((n, p) => n + p.end - p.start, 0);
  const blocks = mergeBlocks(parts, Math.max(16, rows >> 3));
  if (blocks && blocks.length <= Math.max(16, rows >> 6)) {
    return concatBatches(schema, blocks.map(([p, start, end]) => parts[p]!.cursor.batch.slice(start, end)));
  }
  const all = concatBatches(schema, parts.map((p) => p.batch));
  if (!blocks) return takeRows(all, sortPermutation(all, keyColumns, timeColumn));
  const offsets = parts.map((_, i) => parts.slice(0, i).reduce((n, q) => n + q.end - q.start, 0) - parts[i]!.start);
  const order = new Uint32Array(rows);
  let out = 0;
  for (const [p, start, end] of blocks) for (let i = start; i < end; i++) order[out++] = offsets[p]! + i;
  return takeRows(all, order);
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
      const parts: Part[] = [];
      for (const c of cursors) {
        const n = c === low ? c.batch.numRows - c.pos : rowsUpTo(c, low, last);
        if (n > 0) parts.push({ cursor: c, start: c.pos, end: c.pos + n, batch: c.batch.slice(c.pos, c.pos + n) });
        c.pos += n;
      }
      yield parts.length === 1 ? parts[0]!.batch : mergeParts(parts, schema, keyColumns, timeColumn);
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
