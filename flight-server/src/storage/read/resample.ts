/**
 * Server-side resampling of OHLCV bars: per key and UTC bucket, open = first, high = max,
 * low = min, close = last, volume = sum, and every other column its last value. Buckets are
 * aligned to the Unix epoch (weeks to Monday 00:00); a bucket's time value is its start.
 */
import { DataType, RecordBatch, Struct, makeData, makeVector, type Schema, type Timestamp, type Vector } from 'apache-arrow';
import { takeRows } from '../kernels/take-filter.js';
import { timeColumnInt64, toNanoseconds } from '../kernels/time-column.js';
import { StorageError } from '../errors.js';
import { bucketStartNs, type Interval } from '@flightdeck/contract';

export const OHLC_COLUMNS = ['open', 'high', 'low', 'close'] as const;

function isNumeric(type: DataType): boolean {
  return DataType.isFloat(type) || DataType.isInt(type);
}

/** INVALID_ARGUMENT unless the schema has numeric open, high, low and close columns. */
export function checkResampleSchema(schema: Schema, dataset: string): void {
  for (const name of OHLC_COLUMNS) {
    const field = schema.fields.find((f) => f.name === name);
    if (!field || !isNumeric(field.type)) {
      throw new StorageError('INVALID_ARGUMENT', `field "interval": dataset "${dataset}" has no numeric "${name}" column, so it cannot be resampled as OHLCV bars`);
    }
  }
}

type Reduce = 'max' | 'min' | 'sum';

function reduceColumn(vector: Vector, starts: number[], ends: number[], how: Reduce): Vector {
  const big = DataType.isInt(vector.type) && (vector.type as { bitWidth: number }).bitWidth === 64;
  const out: (number | bigint | null)[] = new Array(starts.length);
  for (let g = 0; g < starts.length; g++) {
    let acc: number | bigint | null = null;
    for (let i = starts[g]!; i < ends[g]!; i++) {
      const v = vector.get(i) as number | bigint | null;
      if (v === null) continue;
      if (acc === null) acc = v;
      else if (how === 'sum') acc = (acc as number) + (v as number);
      else if (how === 'max' ? v > acc : v < acc) acc = v;
    }
    out[g] = acc;
  }
  return buildVector(vector.type, out, big);
}

function buildVector(type: DataType, values: (number | bigint | null)[], big: boolean): Vector {
  const n = values.length;
  const ArrayType = (type as unknown as { ArrayType: new (n: number) => ArrayLike<number | bigint> & { [i: number]: number | bigint } }).ArrayType;
  const data = new ArrayType(n);
  const validity = new Uint8Array((n + 7) >> 3);
  let nullCount = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      nullCount++;
      continue;
    }
    data[i] = big ? BigInt(v) : Number(v);
    validity[i >> 3]! |= 1 << (i & 7);
  }
  return makeVector(makeData({ type, length: n, nullCount, data: data as never, nullBitmap: nullCount > 0 ? validity : null } as never));
}

/**
 * Resamples a batch sorted by key columns then time into one row per key and bucket.
 */
export function resample(batch: RecordBatch, keyColumns: string[], timeColumn: string, interval: Interval): RecordBatch {
  const n = batch.numRows;
  if (n === 0) return batch;
  const timeField = batch.schema.fields.find((f) => f.name === timeColumn)!;
  const unit = (timeField.type as Timestamp).unit;
  const raw = timeColumnInt64(batch, timeColumn);
  const keys = keyColumns.map((k) => batch.getChild(k)!);
  const starts: number[] = [];
  const ends: number[] = [];
  const bucketStarts: bigint[] = [];
  let currentBucket = 0n;
  for (let i = 0; i < n; i++) {
    const bucket = bucketStartNs(toNanoseconds(raw[i]!, unit), interval);
    const sameKey = i > 0 && keys.every((k) => k.get(i) === k.get(i - 1));
    if (i === 0 || !sameKey || bucket !== currentBucket) {
      if (i > 0) ends.push(i);
      starts.push(i);
      bucketStarts.push(bucket);
      currentBucket = bucket;
    }
  }
  ends.push(n);
  const last = takeRows(batch, Uint32Array.from(ends, (e) => e - 1));
  const first = takeRows(batch, Uint32Array.from(starts));
  const perNs = toNanoseconds(1n, unit);
  const columns = batch.schema.fields.map((field) => {
    const source = batch.getChild(field.name)!;
    switch (field.name) {
      case timeColumn:
        return buildVector(field.type, bucketStarts.map((b) => b / perNs), true);
      case 'open':
        return first.getChild('open')!;
      case 'high':
        return reduceColumn(source, starts, ends, 'max');
      case 'low':
        return reduceColumn(source, starts, ends, 'min');
      case 'volume':
        return isNumeric(field.type) ? reduceColumn(source, starts, ends, 'sum') : last.getChild(field.name)!;
      default:
        return last.getChild(field.name)!;
    }
  });
  return new RecordBatch(
    batch.schema,
    makeData({ type: new Struct(batch.schema.fields), length: starts.length, nullCount: 0, children: columns.map((v) => v.data[0]!) }),
  );
}
