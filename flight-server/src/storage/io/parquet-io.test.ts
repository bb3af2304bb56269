import { TimeUnit } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { genBatch, int, mulberry32, UNITS } from '../../../test-support/random-batches.js';
import { timeColumnInt64 } from '../kernels/time-column.js';
import { rowGroupStats } from './parquet-io.js';

const SCALE: Record<TimeUnit, bigint> = {
  [TimeUnit.SECOND]: 1_000_000_000n,
  [TimeUnit.MILLISECOND]: 1_000_000n,
  [TimeUnit.MICROSECOND]: 1_000n,
  [TimeUnit.NANOSECOND]: 1n,
};

describe('rowGroupStats', () => {
  it("gives each row group's earliest and latest time in nanoseconds, across sign and 32-bit word boundaries", () => {
    const rng = mulberry32(21);
    for (let round = 0; round < 30; round++) {
      const unit = UNITS[round % 4]!;
      const span = 2n ** BigInt(20 + int(rng, 30));
      const batch = genBatch(rng, { n: int(rng, 400) + 1, unit, time: [-span, span], nullRate: 0 });
      const rowGroupRows = int(rng, 60) + 1;
      const times = [...timeColumnInt64(batch, 'ts')];
      const expected = [];
      for (let start = 0; start < times.length; start += rowGroupRows) {
        const group = times.slice(start, start + rowGroupRows);
        const min = group.reduce((a, b) => (b < a ? b : a));
        const max = group.reduce((a, b) => (b > a ? b : a));
        expected.push({ rows: group.length, minTimeNs: String(min * SCALE[unit]), maxTimeNs: String(max * SCALE[unit]) });
      }
      const stats = rowGroupStats(batch, { rowGroupRows, timeColumn: 'ts', keyColumn: null });
      expect(stats.map(({ rows, minTimeNs, maxTimeNs }) => ({ rows, minTimeNs, maxTimeNs }))).toEqual(expected);
    }
  });
});
