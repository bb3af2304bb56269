import { Float64, RecordBatch, Schema, Field, TimeUnit, Timestamp, Utf8 } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { MAX_TIME_NS, MIN_TIME_NS } from '@flightdeck/contract';
import { fixedData, int, mulberry32, randomBigInt, utf8Data } from '../../../test-support/random-batches.js';
import { int64ExtremeRows } from '../kernels/column-data.js';
import { StorageError } from '../errors.js';
import { partitionOf } from '../partition-path.js';
import { IngestBuffer } from './ingest.js';

const DAY_NS = 86_400_000_000_000n;
const T0 = 1_704_067_200_000_000_000n; // 2024-01-01T00:00:00Z

function bars(timesNs: bigint[], unit = TimeUnit.NANOSECOND): RecordBatch {
  const n = timesNs.length;
  const scale = { [TimeUnit.SECOND]: 1_000_000_000n, [TimeUnit.MILLISECOND]: 1_000_000n, [TimeUnit.MICROSECOND]: 1_000n, [TimeUnit.NANOSECOND]: 1n }[unit];
  return new RecordBatch({
    symbol: utf8Data(timesNs.map((_, i) => `S${i % 3}`)),
    ts: fixedData(new Timestamp(unit, 'UTC'), BigInt64Array.from(timesNs, (t) => t / scale), Array<boolean>(n).fill(true)),
    close: fixedData(new Float64(), Float64Array.from(timesNs, (_, i) => i), Array<boolean>(n).fill(true)),
  });
}

function buffer(unit = TimeUnit.NANOSECOND): IngestBuffer {
  const schema = new Schema([new Field('symbol', new Utf8(), false), new Field('ts', new Timestamp(unit, 'UTC'), false), new Field('close', new Float64(), true)]);
  return new IngestBuffer(schema, { timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day' }, { maxStreamBytes: 1 << 30 });
}

/** Each partition's `close` values (the input row numbers), in the order they were added. */
function rowsByPartition(b: IngestBuffer): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [key, { batches }] of b.partitions) out[key] = batches.flatMap((batch) => [...(batch.getChild('close')!.toArray() as Float64Array)]);
  return out;
}

describe('int64ExtremeRows', () => {
  it('finds the first smallest and first largest value, across sign and word boundaries', () => {
    const rng = mulberry32(3);
    for (let round = 0; round < 200; round++) {
      const n = int(rng, 50) + 1;
      const span = round % 2 ? 2n ** 40n : 2n ** 62n;
      const values = BigInt64Array.from({ length: n }, () => randomBigInt(rng, -span, span));
      if (round % 5 === 0) values[n - 1] = values[0]!; // ties keep the first
      let min = 0;
      let max = 0;
      values.forEach((v, i) => {
        if (v < values[min]!) min = i;
        if (v > values[max]!) max = i;
      });
      expect(int64ExtremeRows(values)).toEqual([min, max]);
    }
    expect(int64ExtremeRows(new BigInt64Array(0))).toEqual([-1, -1]);
  });
});

describe('IngestBuffer', () => {
  it('keeps a batch within one partition whole, and splits one that spans several in row order', () => {
    const b = buffer();
    const oneDay = bars([T0 + 5n, T0 + DAY_NS - 1n, T0]);
    b.add(oneDay);
    const day1 = partitionOf(T0, 'day').key;
    const [kept] = b.partitions.get(day1)!.batches;
    // Not taken apart: the stored batch views the incoming column buffers.
    expect(kept!.getChild('close')!.data[0]!.values).toBe(oneDay.getChild('close')!.data[0]!.values);

    b.add(bars([T0 + 2n * DAY_NS, T0 + DAY_NS, T0 + 1n, T0 + DAY_NS + 7n, T0 - 1n]));
    expect(rowsByPartition(b)).toEqual({
      [day1]: [0, 1, 2, 2],
      [partitionOf(T0 + 2n * DAY_NS, 'day').key]: [0],
      [partitionOf(T0 + DAY_NS, 'day').key]: [1, 3],
      [partitionOf(T0 - 1n, 'day').key]: [4],
    });
    expect(b.rows).toBe(8);
  });

  it('refuses a time outside the domain, naming the first such row of the stream, in any unit', () => {
    for (const unit of [TimeUnit.SECOND, TimeUnit.MILLISECOND, TimeUnit.NANOSECOND]) {
      const b = buffer(unit);
      b.add(bars([T0, T0 + 1_000_000_000n], unit));
      const below = ((MIN_TIME_NS - 1_000_000_000n) / 1_000_000_000n) * 1_000_000_000n;
      const times = [T0, MAX_TIME_NS - 1_000_000_000n, below, MIN_TIME_NS];
      const err = (() => {
        try {
          b.add(bars(times, unit));
        } catch (e) {
          return e;
        }
        return null;
      })();
      expect(err).toBeInstanceOf(StorageError);
      expect((err as StorageError).code).toBe('INVALID_ARGUMENT');
      expect((err as StorageError).message).toMatch(/column "ts" row 4: time -?\d+ \(.*\) is outside \[1678-01-01, 2262-01-01\) UTC/);
    }
  });

  it('takes the edges of the domain', () => {
    const b = buffer(TimeUnit.SECOND);
    b.add(bars([MIN_TIME_NS, MAX_TIME_NS - 1_000_000_000n], TimeUnit.SECOND));
    expect(b.rows).toBe(2);
    expect(b.partitions.size).toBe(2);
  });
});
