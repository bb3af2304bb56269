import {  } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { genBatch, int, ipcRoundTrip, mulberry32, refRows } from '../../../test-support/random-batches.js';
import { StorageError } from '../errors.js';
import { takeRows } from './take-filter.js';

describe('takeRows', () => {
  it('gathers every type, with repeats, nulls and sliced inputs', () => {
    const rng = mulberry32(7);
    for (let round = 0; round < 20; round++) {
      const batch = genBatch(rng, { n: int(rng, 80) + 1, symbolKind: round % 2 ? 'dictionary' : 'utf8', slice: round % 3 !== 0 });
      const ref = refRows(batch);
      const idx = Array.from({ length: int(rng, 120) }, () => int(rng, batch.numRows));
      const out = takeRows(batch, round % 2 ? idx : Uint32Array.from(idx));
      const expected = idx.map((i) => ref[i]!);
      expect(refRows(out)).toEqual(expected);
      expect(ipcRoundTrip(out)).toEqual(expected);
    }
  });

  it('rejects out-of-range indices', () => {
    const batch = genBatch(mulberry32(8), { n: 5 });
    expect(() => takeRows(batch, [0, 5])).toThrow(StorageError);
  });
});
