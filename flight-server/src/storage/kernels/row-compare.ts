/**
 * The kernels' row order, one column at a time: nulls first; utf8 and dictionary<utf8> by UTF-8
 * bytes (code-point order); numbers ascending with NaN last; false < true; timestamps by their raw
 * int64 value.
 */
import { DataType, DateUnit, type Data } from 'apache-arrow';
import { getBit, nullsOf } from './bitmap.js';
import { EMPTY_BYTES, fixedValues, indexArray, int64Words, isDictionary, isInt64Like, unsupported } from './column-data.js';
import { dictionaryValues } from './dictionary.js';
import { dictionaryRanks } from './ranks.js';
import { entryOf, stringColumn } from './string-column.js';
import { compareBytes } from './utf8.js';

export type RowComparator = (i: number, j: number) => number;

/** Compares two rows of column `d`; a type without an order here throws INVALID_ARGUMENT. */
export function rowComparator(d: Data, name: string): RowComparator {
  const type = d.type;
  const nulls = nullsOf(d);
  const off = d.offset;
  const isNull = nulls === null ? null : (i: number) => !getBit(nulls, off + i);
  if (DataType.isUtf8(type)) {
    const c = stringColumn(d)!;
    return (i, j) => {
      const a = entryOf(c, i);
      const b = entryOf(c, j);
      if (a < 0 || b < 0) return (a < 0 ? 0 : 1) - (b < 0 ? 0 : 1);
      return compareBytes(c.bytes, c.offsets[a]!, c.offsets[a + 1]!, c.bytes, c.offsets[b]!, c.offsets[b + 1]!);
    };
  }
  if (isDictionary(type) && DataType.isUtf8(type.dictionary)) {
    const r = dictionaryRanks(dictionaryValues(d)).ranks;
    const idx = indexArray(d);
    return (i, j) => {
      const a = isNull !== null && isNull(i) ? 0 : r[idx[i]!]!;
      const b = isNull !== null && isNull(j) ? 0 : r[idx[j]!]!;
      return a - b;
    };
  }
  if (DataType.isBool(type)) {
    const bits = (d.values as Uint8Array | undefined) ?? EMPTY_BYTES;
    return (i, j) => {
      const a = isNull !== null && isNull(i) ? 0 : 1 + getBit(bits, off + i);
      const b = isNull !== null && isNull(j) ? 0 : 1 + getBit(bits, off + j);
      return a - b;
    };
  }
  if (isInt64Like(type)) {
    const w = int64Words(fixedValues(d) as BigInt64Array);
    return (i, j) => {
      if (isNull !== null) {
        const a = isNull(i) ? 0 : 1;
        const b = isNull(j) ? 0 : 1;
        if (a === 0 || b === 0) return a - b;
      }
      const hi = w[2 * i + 1]! - w[2 * j + 1]!;
      if (hi !== 0) return hi;
      return (w[2 * i]! >>> 0) - (w[2 * j]! >>> 0);
    };
  }
  if (DataType.isInt(type) || DataType.isFloat(type) || DataType.isDate(type)) {
    if (DataType.isDate(type) && type.unit !== DateUnit.DAY) throw unsupported(d, `column "${name}"`);
    const v = fixedValues(d) as Float64Array;
    return (i, j) => {
      if (isNull !== null) {
        const a = isNull(i) ? 0 : 1;
        const b = isNull(j) ? 0 : 1;
        if (a === 0 || b === 0) return a - b;
      }
      const x = v[i]!;
      const y = v[j]!;
      if (x < y) return -1;
      if (x > y) return 1;
      if (x === y) return 0;
      return (x !== x ? 1 : 0) - (y !== y ? 1 : 0);
    };
  }
  throw unsupported(d, `column "${name}"`);
}
