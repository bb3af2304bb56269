/** One view of utf8 and dictionary<utf8> columns, so string kernels need not care which they get. */
import { DataType, type Data } from 'apache-arrow';
import { getBit, nullsOf } from './bitmap.js';
import { indexArray, isDictionary, utf8Bytes, utf8Offsets, type IndexArray } from './column-data.js';
import { dictionaryValues } from './dictionary.js';

export interface StringColumn {
  /** Value space: rows for utf8, dictionary entries for dictionary<utf8>. */
  bytes: Uint8Array;
  offsets: Int32Array;
  /** Row -> entry; null for utf8 (entry = row). */
  indices: IndexArray | null;
  rowNulls: Uint8Array | null;
  rowOffset: number;
  entryNulls: Uint8Array | null;
  entryOffset: number;
  entryCount: number;
}

/** `d` as a StringColumn, or null when it is neither utf8 nor dictionary<utf8>. */
export function stringColumn(d: Data): StringColumn | null {
  if (DataType.isUtf8(d.type)) {
    return {
      bytes: utf8Bytes(d),
      offsets: utf8Offsets(d),
      indices: null,
      rowNulls: nullsOf(d),
      rowOffset: d.offset,
      entryNulls: null,
      entryOffset: 0,
      entryCount: d.length,
    };
  }
  if (isDictionary(d.type) && DataType.isUtf8(d.type.dictionary)) {
    const dict = dictionaryValues(d);
    return {
      bytes: utf8Bytes(dict),
      offsets: utf8Offsets(dict),
      indices: indexArray(d),
      rowNulls: nullsOf(d),
      rowOffset: d.offset,
      entryNulls: nullsOf(dict),
      entryOffset: dict.offset,
      entryCount: dict.length,
    };
  }
  return null;
}

/** The value-space entry of row i, or -1 when the row (or its dictionary entry) is null. */
export function entryOf(c: StringColumn, i: number): number {
  if (c.rowNulls !== null && !getBit(c.rowNulls, c.rowOffset + i)) return -1;
  const k = c.indices === null ? i : c.indices[i]!;
  if (c.entryNulls !== null && !getBit(c.entryNulls, c.entryOffset + k)) return -1;
  return k;
}
