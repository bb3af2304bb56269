/**
 * Text for one Arrow cell, as CSV, NDJSON and the terminal table show it. Timestamps print as
 * ISO-8601 UTC with the column unit's precision (so text round-trips exactly); int64 stays exact.
 */
import { DataType, TimeUnit, type Vector } from 'apache-arrow';

export type CellText = (column: Vector, row: number) => string | null;

const FRACTION_DIGITS: Record<TimeUnit, number> = {
  [TimeUnit.SECOND]: 0,
  [TimeUnit.MILLISECOND]: 3,
  [TimeUnit.MICROSECOND]: 6,
  [TimeUnit.NANOSECOND]: 9,
};
const PER_SECOND: Record<TimeUnit, bigint> = {
  [TimeUnit.SECOND]: 1n,
  [TimeUnit.MILLISECOND]: 1_000n,
  [TimeUnit.MICROSECOND]: 1_000_000n,
  [TimeUnit.NANOSECOND]: 1_000_000_000n,
};

/** `2024-01-02T09:30:00.000000000Z` for a raw timestamp value in `unit`. */
export function formatTimestamp(value: bigint, unit: TimeUnit): string {
  const per = PER_SECOND[unit];
  let seconds = value / per;
  let frac = value % per;
  if (frac < 0n) {
    frac += per;
    seconds -= 1n;
  }
  const iso = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  const digits = FRACTION_DIGITS[unit];
  return digits === 0 ? `${iso}Z` : `${iso}.${frac.toString().padStart(digits, '0')}Z`;
}

/** Whether a column's values are numbers (right-aligned in tables, unquoted in NDJSON). */
export function isNumericType(type: DataType): boolean {
  return DataType.isInt(type) || DataType.isFloat(type);
}

/** The text of a column's cells, null for nulls. */
export function cellText(type: DataType): CellText {
  if (DataType.isTimestamp(type)) {
    const unit = type.unit as TimeUnit;
    return (column, i) => {
      if (!column.isValid(i)) return null;
      return formatTimestamp((column.data[0]!.values as BigInt64Array)[i]!, unit);
    };
  }
  if (DataType.isDate(type)) {
    return (column, i) => {
      if (!column.isValid(i)) return null;
      const v = column.get(i) as number | Date;
      return typeof v === 'number' ? new Date(v).toISOString().slice(0, 10) : v.toISOString().slice(0, 10);
    };
  }
  return (column, i) => {
    const v: unknown = column.get(i);
    if (v === null || v === undefined) return null;
    return typeof v === 'string' ? v : String(v);
  };
}
