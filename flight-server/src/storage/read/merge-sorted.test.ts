import { Dictionary, Field, Int32, Int64, makeData, RecordBatch, Schema, Struct, Timestamp, TimeUnit, Utf8, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { concatBatches } from '../kernels/concat.js';
import { sortPermutation } from '../kernels/sort.js';
import { takeRows } from '../kernels/take-filter.js';
import { mergeSorted } from './merge-sorted.js';

/** A small deterministic generator, so a failure reproduces. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

// Astral characters sort after U+FF5E by code point (UTF-8 bytes) but before it by UTF-16 units.
const KEYS = ['A', 'AB', 'B', 'Z', 'a', 'é', '\uff5e', '\u{1f600}', '\u{1f600}x'];

const schemaOf = (dictionary: boolean) =>
  new Schema([
    new Field('symbol', dictionary ? new Dictionary(new Utf8(), new Int32()) : new Utf8(), false),
    new Field('venue', new Int32(), false),
    new Field('ts', new Timestamp(TimeUnit.NANOSECOND, 'UTC'), false),
    new Field('v', new Int64(), false),
  ]);

function batchOf(schema: Schema, rows: { symbol: string; venue: number; ts: bigint; v: bigint }[]): RecordBatch {
  const children = [
    vectorFromArray(rows.map((r) => r.symbol), schema.fields[0]!.type).data[0]!,
    makeData({ type: new Int32(), length: rows.length, data: Int32Array.from(rows.map((r) => r.venue)) }),
    makeData({ type: schema.fields[2]!.type as Timestamp, length: rows.length, data: BigInt64Array.from(rows.map((r) => r.ts)) }),
    makeData({ type: new Int64(), length: rows.length, data: BigInt64Array.from(rows.map((r) => r.v)) }),
  ];
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: rows.length, nullCount: 0, children }));
}

/** `files` sorted sources with disjoint primary keys, each cut into batches of random sizes. */
function sources(seed: number, files: number, dictionary: boolean): { schema: Schema; batches: RecordBatch[][] } {
  const rnd = random(seed);
  const schema = schemaOf(dictionary);
  const seen = new Set<string>();
  const batches: RecordBatch[][] = [];
  for (let f = 0; f < files; f++) {
    const rows: { symbol: string; venue: number; ts: bigint; v: bigint }[] = [];
    const n = Math.floor(rnd() * 300);
    for (let i = 0; i < n; i++) {
      const row = { symbol: KEYS[Math.floor(rnd() * KEYS.length)]!, venue: Math.floor(rnd() * 3), ts: BigInt(Math.floor(rnd() * 50)) * 1000n, v: BigInt(f * 1000 + i) };
      const id = `${row.symbol}|${row.venue}|${row.ts}`;
      if (seen.has(id)) continue;
      seen.add(id);
      rows.push(row);
    }
    const all = rows.length > 0 ? batchOf(schema, rows) : null;
    const sorted = all ? takeRows(all, sortPermutation(all, ['symbol', 'venue'], 'ts')) : null;
    const pieces: RecordBatch[] = [];
    for (let start = 0; sorted && start < sorted.numRows; ) {
      const size = 1 + Math.floor(rnd() * 60);
      pieces.push(sorted.slice(start, Math.min(sorted.numRows, start + size)));
      start += size;
    }
    if (rnd() < 0.2) pieces.push(sorted ? sorted.slice(0, 0) : batchOf(schema, [])); // empty batches are skipped
    batches.push(pieces);
  }
  return { schema, batches };
}

async function* stream(batches: RecordBatch[]): AsyncGenerator<RecordBatch> {
  yield* batches;
}

const rowsOf = (batches: RecordBatch[]) => batches.flatMap((b) => [...b].map((r) => [r!.symbol, r!.venue, r!.v]));

describe('mergeSorted', () => {
  it.each([
    [1, 2, false],
    [2, 5, true],
    [3, 12, false],
    [4, 1, true],
    [5, 0, false],
  ])('merges sorted sources into key/time order (seed %i, %i sources, dictionary %s)', async (seed, files, dictionary) => {
    const { schema, batches } = sources(seed, files, dictionary);
    const all = batches.flat();
    const expected = all.length > 0 ? (() => {
      const rows = concatBatches(schema, all);
      return rowsOf([takeRows(rows, sortPermutation(rows, ['symbol', 'venue'], 'ts'))]);
    })() : [];
    const merged: RecordBatch[] = [];
    for await (const b of mergeSorted(batches.map(stream), schema, ['symbol', 'venue'], 'ts')) merged.push(b);
    expect(rowsOf(merged)).toEqual(expected);
  });

  it('holds one batch per source: a source is read only as far as the merge needs', async () => {
    const schema = schemaOf(false);
    const row = (symbol: string, ms: number) => ({ symbol, venue: 0, ts: BigInt(ms) * 1_000_000n, v: 0n });
    let pulled = 0;
    async function* lazy(): AsyncGenerator<RecordBatch> {
      for (const symbol of ['B', 'C', 'D', 'E']) {
        pulled++;
        yield batchOf(schema, [row(symbol, 1), row(symbol, 2)]);
      }
    }
    const merged = mergeSorted([lazy(), stream([batchOf(schema, [row('A', 1), row('B', 3)])])], schema, ['symbol', 'venue'], 'ts');
    // The lazy source's first batch ends lowest (B@2 < B@3): A@1, B@1, B@2 can go out, B@3 waits.
    const first = (await merged.next()).value as RecordBatch;
    expect([...first].map((r) => `${r!.symbol}@${r!.ts}`)).toEqual(['A@1', 'B@1', 'B@2']);
    expect(pulled).toBe(1);
    const second = (await merged.next()).value as RecordBatch;
    expect([...second].map((r) => `${r!.symbol}@${r!.ts}`)).toEqual(['B@3']);
    expect(pulled).toBe(2);
    await merged.return(undefined);
  });

  it.each([
    ['long blocks (one key of one day file after another): copied block by block', 50, false],
    ['short blocks: gathered through one permutation', 10, false],
    ['rows that alternate between files: sorted', 50, true],
  ])('merges seven files in windows whose rows interleave in %s', async (_, run, alternate) => {
    const schema = schemaOf(true);
    const keys = ['A', 'B', 'C', '\u{1f600}', '\uff5e'];
    // Seven files of every key and two venues: a "day" each (runs of `run` rows per key and venue),
    // or, alternating, minute m of file f at 7m + f.
    const files = Array.from({ length: 7 }, (_, f) => {
      const rows = keys.flatMap((symbol) =>
        [0, 1].flatMap((venue) => Array.from({ length: run }, (_, m) => ({ symbol, venue, ts: BigInt(alternate ? 7 * m + f : f * 1000 + m), v: BigInt(f) }))),
      );
      const all = batchOf(schema, rows);
      const sorted = takeRows(all, sortPermutation(all, ['symbol', 'venue'], 'ts'));
      // Windows of 97 rows, as read-window.ts would cut them.
      return Array.from({ length: Math.ceil(sorted.numRows / 97) }, (_, i) => sorted.slice(i * 97, Math.min(sorted.numRows, (i + 1) * 97)));
    });
    const everything = concatBatches(schema, files.flat());
    const expected = rowsOf([takeRows(everything, sortPermutation(everything, ['symbol', 'venue'], 'ts'))]);
    const merged: RecordBatch[] = [];
    for await (const b of mergeSorted(files.map(stream), schema, ['symbol', 'venue'], 'ts')) merged.push(b);
    expect(rowsOf(merged)).toEqual(expected);
    // No round holds more than a window of each file.
    expect(Math.max(...merged.map((b) => b.numRows))).toBeLessThanOrEqual(7 * 97);
  });
});
