import { RecordBatch, TimeUnit, Timestamp } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { NS_PER_UNIT } from '@flightdeck/contract';
import { fixedData, genBatch, type GenOptions, int, mulberry32, pick, randomBigInt, refRows, type Rng, SYMBOLS, UNITS, utf8Data } from '../../../test-support/random-batches.js';
import { StorageError } from '../errors.js';
import { lastWinsUnique } from './dedupe.js';
import { partitionPoint, runEnd, sortedRangeForKeys, type RowRange } from './search.js';
import { sortPermutation } from './sort.js';
import { filterBatch, takeRows } from './take-filter.js';

function expandRanges(ranges: RowRange[]): number[] {
  return ranges.flatMap(([s, e]) => Array.from({ length: e - s }, (_, k) => s + k));
}

describe('sortedRangeForKeys / filterBatch', () => {
  function sortedUniqueBatch(rng: Rng, o: GenOptions, keys: string[]): RecordBatch {
    const b = genBatch(rng, o);
    return takeRows(b, lastWinsUnique(b, sortPermutation(b, keys, 'ts'), keys, 'ts'));
  }

  it('matches a row-by-row reference filter, for every unit, key subset and bound', () => {
    const rng = mulberry32(15);
    for (let round = 0; round < 80; round++) {
      const unit = UNITS[round % 4]!;
      const multi = round % 5 === 4;
      const keyCols = multi ? ['symbol', 'b'] : ['symbol'];
      const batch = sortedUniqueBatch(rng, { n: int(rng, 300), unit, symbolKind: round % 2 ? 'dictionary' : 'utf8', symbols: SYMBOLS.slice(0, 8), time: [-50n, 50n] }, keyCols);
      const ref = refRows(batch);
      const f = NS_PER_UNIT[unit];
      const times = ref.map((r) => (r['ts'] as bigint) * f);
      const bound = (): bigint | null => {
        const r = rng();
        if (r < 0.2) return null;
        if (r < 0.6 && times.length > 0) return pick(rng, times);
        return randomBigInt(rng, -60n * f, 60n * f);
      };
      const start = bound();
      const end = bound();
      const keys = rng() < 0.3 ? null : [...SYMBOLS.slice(0, 10)].filter(() => rng() < 0.4);
      const ranges = sortedRangeForKeys(batch, multi ? keyCols : 'symbol', keys, 'ts', start, end);
      const expected = ref
        .map((r, i) => ({ r, i, t: times[i]! }))
        .filter(({ r, t }) => (keys === null || keys.includes(r['symbol'] as string)) && (start === null || t >= start) && (end === null || t < end))
        .map(({ i }) => i);
      expect(expandRanges(ranges)).toEqual(expected);
      for (let k = 1; k < ranges.length; k++) expect(ranges[k]![0]).toBeGreaterThan(ranges[k - 1]![1]);
      expect(refRows(filterBatch(batch, ranges))).toEqual(expected.map((i) => ref[i]!));
    }
  });

  it('includes start and excludes end exactly, with ns bounds inside a coarser unit', () => {
    const ms = 1_000_000n;
    const batch = new RecordBatch({
      symbol: utf8Data(['A', 'A', 'A', 'A', 'B', 'B', 'C']),
      ts: fixedData(new Timestamp(TimeUnit.MILLISECOND, 'UTC'), BigInt64Array.from([1n, 2n, 3n, 4n, 2n, 3n, 2n]), Array(7).fill(true)),
    });
    const rows = (keys: string[] | null, s: bigint | null, e: bigint | null) => expandRanges(sortedRangeForKeys(batch, 'symbol', keys, 'ts', s, e));
    expect(rows(['A'], 2n * ms, 4n * ms)).toEqual([1, 2]);
    expect(rows(['A'], 2n * ms - 1n, 4n * ms + 1n)).toEqual([1, 2, 3]);
    expect(rows(['A'], 2n * ms + 1n, 4n * ms - 1n)).toEqual([2]);
    expect(rows(null, 2n * ms, 3n * ms)).toEqual([1, 4, 6]);
    expect(rows(['C', 'A', 'C', 'nope'], null, null)).toEqual([0, 1, 2, 3, 6]);
    expect(rows(['A', 'B'], null, null)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(sortedRangeForKeys(batch, 'symbol', ['A', 'B'], 'ts', null, null)).toEqual([[0, 6]]);
    expect(rows(null, 3n * ms, 3n * ms)).toEqual([]);
    expect(rows(null, 5n * ms, 1n * ms)).toEqual([]);
    expect(rows([], null, null)).toEqual([]);
    expect(filterBatch(batch, []).numRows).toBe(0);
    const one = filterBatch(batch, [[1, 3]]);
    expect(refRows(one).map((r) => r['ts'])).toEqual([2n, 3n]);
  });

  it('handles datasets without key columns', () => {
    const batch = new RecordBatch({
      ts: fixedData(new Timestamp(TimeUnit.SECOND, 'UTC'), BigInt64Array.from([-2n, 0n, 1n, 7n]), Array(4).fill(true)),
    });
    expect(sortedRangeForKeys(batch, null, null, 'ts', 0n, 7_000_000_000n)).toEqual([[1, 3]]);
    expect(sortedRangeForKeys(batch, [], null, 'ts', null, 0n)).toEqual([[0, 1]]);
    expect(() => sortedRangeForKeys(batch, null, ['A'], 'ts', null, null)).toThrow(StorageError);
  });
});

describe('partitionPoint / runEnd', () => {
  it('finds the end of a true prefix and the end of a run of equal rows', () => {
    const xs = [1, 1, 2, 2, 2, 2, 2, 3, 5, 5];
    expect(partitionPoint(0, xs.length, (i) => xs[i]! < 2)).toBe(2);
    expect(partitionPoint(0, xs.length, (i) => xs[i]! < 9)).toBe(xs.length);
    expect(partitionPoint(4, 4, () => true)).toBe(4);
    const same = (i: number, j: number) => xs[i] === xs[j];
    const ends: number[] = [];
    for (let s = 0; s < xs.length; s = ends[ends.length - 1]!) ends.push(runEnd(s, xs.length, same));
    expect(ends).toEqual([2, 7, 8, 10]);
    expect(runEnd(2, 5, same)).toBe(5);
  });
});
