import { TimeUnit } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { NS_PER_UNIT } from '@flightdeck/contract';
import { genBatch, mulberry32, refRows, UNITS } from '../../../test-support/random-batches.js';
import { StorageError } from '../errors.js';
import { ceilFromNanoseconds, timeColumnInt64, timeValuesNs, toNanoseconds } from './time-column.js';

describe('time helpers', () => {
  it('reads raw int64 values offset-correctly and converts every unit to ns', () => {
    const rng = mulberry32(1);
    for (const unit of UNITS) {
      const batch = genBatch(rng, { n: 50, unit, slice: true, time: [-(10n ** 9n), 10n ** 9n] });
      const raw = timeColumnInt64(batch, 'ts');
      const ref = refRows(batch).map((r) => r['ts'] as bigint);
      expect([...raw]).toEqual(ref);
      expect([...timeValuesNs(batch.getChild('ts')!)]).toEqual(ref.map((v) => v * NS_PER_UNIT[unit]));
      expect(toNanoseconds(-3n, unit)).toBe(-3n * NS_PER_UNIT[unit]);
    }
    expect(() => timeColumnInt64(genBatch(rng, { n: 3 }), 'i64')).toThrow(StorageError);
    expect(() => timeColumnInt64(genBatch(rng, { n: 3 }), 'nope')).toThrow(/"nope"/);
  });

  it('rounds ns bounds up to the unit', () => {
    expect(ceilFromNanoseconds(1_500_000n, TimeUnit.MILLISECOND)).toBe(2n);
    expect(ceilFromNanoseconds(2_000_000n, TimeUnit.MILLISECOND)).toBe(2n);
    expect(ceilFromNanoseconds(-1_500_000n, TimeUnit.MILLISECOND)).toBe(-1n);
    expect(ceilFromNanoseconds(-2_000_000n, TimeUnit.MILLISECOND)).toBe(-2n);
    expect(ceilFromNanoseconds(7n, TimeUnit.NANOSECOND)).toBe(7n);
  });
});
