import { Float64, RecordBatch, TimeUnit, Timestamp } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { cmpCell, dictData, fixedData, genBatch, int, mulberry32, refRows, refSort, type Row, UNITS } from '../../../test-support/random-batches.js';
import { isSortedUnique, lastWinsUnique } from './dedupe.js';
import { sortPermutation } from './sort.js';
import { takeRows } from './take-filter.js';

describe('lastWinsUnique / isSortedUnique', () => {
  it('keeps exactly the last write of each primary key', () => {
    const rng = mulberry32(12);
    for (let round = 0; round < 30; round++) {
      const unit = UNITS[round % 4]!;
      const batch = genBatch(rng, {
        n: int(rng, 400),
        unit,
        symbolKind: round % 2 ? 'dictionary' : 'utf8',
        symbols: ['A', 'B', 'é', '😀'],
        time: [-3n, 12n],
        slice: round % 3 === 0,
      });
      const keys = round % 3 === 2 ? ['symbol', 'b'] : ['symbol'];
      const ref = refRows(batch);
      const perm = sortPermutation(batch, keys, 'ts');
      const out = takeRows(batch, lastWinsUnique(batch, perm, keys, 'ts'));

      const latest = new Map<string, Row>();
      for (const r of ref) latest.set(JSON.stringify([...keys.map((k) => r[k]), String(r['ts'])]), r);
      const expectedRows = [...latest.values()];
      const expected = refSort(expectedRows, keys, 'ts').map((i) => expectedRows[i]!);
      expect(refRows(out)).toEqual(expected);
      expect(isSortedUnique(out, keys, 'ts')).toBe(true);
      if (out.numRows < batch.numRows) expect(isSortedUnique(takeRows(batch, perm), keys, 'ts')).toBe(false);
    }
  });

  it('prefers the later of two equal keys written in one batch', () => {
    const batch = new RecordBatch({
      symbol: dictData(mulberry32(13), ['X', 'X', 'Y', 'X']),
      ts: fixedData(new Timestamp(TimeUnit.MILLISECOND, 'UTC'), BigInt64Array.from([5n, 5n, 5n, 4n]), [true, true, true, true]),
      v: fixedData(new Float64(), Float64Array.from([1, 2, 3, 4]), [true, true, true, true]),
    });
    const perm = sortPermutation(batch, ['symbol'], 'ts');
    expect([...perm]).toEqual([3, 0, 1, 2]);
    expect([...lastWinsUnique(batch, perm, ['symbol'], 'ts')]).toEqual([3, 1, 2]);
  });

  it('agrees with the reference on random batches', () => {
    const rng = mulberry32(14);
    for (let round = 0; round < 60; round++) {
      const batch = genBatch(rng, { n: int(rng, 12), symbols: ['A', 'B', 'C'], time: [0n, 4n], symbolKind: round % 2 ? 'dictionary' : 'utf8', slice: round % 2 === 0 });
      const ref = refRows(batch);
      const sortedUnique = ref.every((r, i) => i === 0 || cmpCell(ref[i - 1]!['symbol']!, r['symbol']!) < 0 || (cmpCell(ref[i - 1]!['symbol']!, r['symbol']!) === 0 && (ref[i - 1]!['ts'] as bigint) < (r['ts'] as bigint)));
      expect(isSortedUnique(batch, ['symbol'], 'ts')).toBe(sortedUnique);
      const dedup = takeRows(batch, lastWinsUnique(batch, sortPermutation(batch, ['symbol'], 'ts'), ['symbol'], 'ts'));
      expect(isSortedUnique(dedup, ['symbol'], 'ts')).toBe(true);
    }
  });
});
