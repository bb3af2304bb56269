/**
 * Column types inferred from a sample of loosely typed values (CSV text, JSON values, JS
 * objects), as pyarrow's CSV and JSON readers do: bool, int64, float64, date32 or a UTC timestamp
 * when every non-empty sampled value fits, utf8 otherwise. The time column is always a timestamp
 * and key columns are strings unless `overrides` say otherwise.
 */
import { Bool, DataType, DateDay, Field, Float64, Int64, Schema, Timestamp, TimeUnit, Utf8 } from 'apache-arrow';
import { checkRoles, type DatasetRoles } from './dataset-schema.js';
import { isIsoDate, isIsoDateTime } from '@flightdeck/contract';

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const BOOL_WORDS = new Set(['true', 'false']);

/** The narrowest type every value of `values` fits (empty strings and nulls are missing values). */
export function inferType(values: Iterable<unknown>): DataType {
  let seen = false;
  let bool = true;
  let int = true;
  let num = true;
  let date = true;
  let time = true;
  for (const v of values) {
    if (v === null || v === undefined || v === '') continue;
    seen = true;
    if (typeof v === 'boolean') {
      int = num = date = time = false;
    } else if (typeof v === 'bigint') {
      bool = date = time = false;
    } else if (typeof v === 'number') {
      bool = date = time = false;
      if (!Number.isInteger(v)) int = false;
    } else if (v instanceof Date) {
      bool = int = num = date = false;
    } else if (typeof v === 'string') {
      const text = v.trim();
      if (bool && !BOOL_WORDS.has(text.toLowerCase())) bool = false;
      if (int && !INTEGER.test(text)) int = false;
      if (num && !DECIMAL.test(text)) num = false;
      const isDate = isIsoDate(text);
      if (date && !isDate) date = false;
      if (time && !isDate && !isIsoDateTime(text)) time = false;
    } else {
      return new Utf8();
    }
    if (!bool && !int && !num && !date && !time) return new Utf8();
  }
  if (!seen) return new Utf8();
  if (bool) return new Bool();
  if (int) return new Int64();
  if (num) return new Float64();
  if (date) return new DateDay();
  if (time) return new Timestamp(TimeUnit.NANOSECOND, 'UTC');
  return new Utf8();
}

/**
 * A new dataset's schema from its column names and a sample: `valuesOf(column)` iterates the
 * sampled values of that column.
 */
export function inferSchema(
  columns: readonly string[],
  valuesOf: (columnIndex: number) => Iterable<unknown>,
  roles: DatasetRoles,
  overrides: ReadonlyMap<string, DataType>,
  where: string,
): Schema {
  const fields = columns.map((name, i) => {
    const isRole = name === roles.timeColumn || roles.keyColumns.includes(name);
    let type = overrides.get(name);
    if (type === undefined) {
      if (name === roles.timeColumn) type = new Timestamp(TimeUnit.NANOSECOND, 'UTC');
      else if (roles.keyColumns.includes(name)) type = new Utf8();
      else type = inferType(valuesOf(i));
    }
    return new Field(name, type, !isRole);
  });
  const schema = new Schema(fields);
  checkRoles(schema, roles, where);
  return schema;
}
