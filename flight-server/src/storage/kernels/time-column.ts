/**
 * Timestamp columns read as raw int64 in their unit, and conversions between a unit and epoch
 * nanoseconds (the unit table is the contract's NS_PER_UNIT).
 */
import { DataType, Vector, type Data, type RecordBatch, type TimeUnit, type Timestamp } from 'apache-arrow';
import { describeType, floorDiv, NS_PER_UNIT } from '@flightdeck/contract';
import { StorageError } from '../errors.js';
import { column, fixedValues } from './column-data.js';

/** A raw timestamp value in `unit` as epoch nanoseconds. */
export function toNanoseconds(value: bigint, unit: TimeUnit): bigint {
  return value * NS_PER_UNIT[unit];
}

/** Smallest value v in `unit` with v * unit >= ns: the inclusive bound in `unit` for `time >= ns`. */
export function ceilFromNanoseconds(ns: bigint, unit: TimeUnit): bigint {
  return -floorDiv(-ns, NS_PER_UNIT[unit]);
}

/** Timestamp column `name` of `batch`; a missing or non-timestamp column throws INVALID_ARGUMENT. */
export function timestampData(batch: RecordBatch, name: string): Data<Timestamp> {
  const d = column(batch, name);
  if (!DataType.isTimestamp(d.type)) {
    throw new StorageError('INVALID_ARGUMENT', `column "${name}" is ${describeType(d.type)}, not a timestamp`);
  }
  return d as Data<Timestamp>;
}

/** The unit of timestamp column `name`. */
export function timeUnitOf(batch: RecordBatch, name: string): TimeUnit {
  return timestampData(batch, name).type.unit;
}

/**
 * Raw int64 values of timestamp column `name`, in the column's unit, row i at index i (a view, not a
 * copy: do not mutate). Never use arrow-js `get()` for time: it returns lossy milliseconds.
 */
export function timeColumnInt64(batch: RecordBatch, name: string): BigInt64Array {
  const d = timestampData(batch, name);
  return fixedValues(d) as BigInt64Array;
}

/** Epoch nanoseconds of a timestamp column (Data or Vector); `unit` overrides the type's unit. */
export function timeValuesNs(col: Data | Vector, unit?: TimeUnit): BigInt64Array {
  const parts = col instanceof Vector ? [...col.data] : [col];
  const total = parts.reduce((s, d) => s + d.length, 0);
  const out = new BigInt64Array(total);
  let pos = 0;
  for (const d of parts) {
    if (!DataType.isTimestamp(d.type)) {
      throw new StorageError('INVALID_ARGUMENT', `expected a timestamp column, got ${describeType(d.type)}`);
    }
    const f = NS_PER_UNIT[unit ?? (d.type.unit as TimeUnit)];
    const v = fixedValues(d) as BigInt64Array;
    if (f === 1n) out.set(v, pos);
    else for (let i = 0; i < v.length; i++) out[pos + i] = v[i]! * f;
    pos += d.length;
  }
  return out;
}
