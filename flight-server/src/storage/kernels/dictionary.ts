/** dictionary<utf8> columns: their values as one Data, index types wide enough for them, equality. */
import { DataType, Dictionary, Int32, Utf8, type Data, type Vector } from 'apache-arrow';
import { nullsOf } from './bitmap.js';
import { emptyUtf8, utf8Bytes, utf8Offsets, type IndexArray } from './column-data.js';
import { bytesEqual, concatUtf8 } from './utf8.js';

const dictionaryCache = new WeakMap<Vector, Data>();

/** A dictionary column's values as one Utf8 Data (delta dictionaries arrive as several chunks). */
export function dictionaryValues(d: Data): Data {
  const dict = d.dictionary;
  if (!dict || dict.data.length === 0) return emptyUtf8();
  if (dict.data.length === 1) return dict.data[0]!;
  let flat = dictionaryCache.get(dict);
  if (!flat) {
    flat = concatUtf8(new Utf8(), [...dict.data]);
    dictionaryCache.set(dict, flat);
  }
  return flat;
}

/** Largest dictionary size an index type can address, or 0 for 64-bit index types. */
function indexCapacity(t: DataType): number {
  if (!DataType.isInt(t) || t.bitWidth === 64) return 0;
  return t.isSigned ? 2 ** (t.bitWidth - 1) : 2 ** t.bitWidth;
}

/** `target` if its index type can address `size` entries, else the same dictionary with Int32 indices. */
export function dictionaryTypeFor(target: Dictionary, size: number): Dictionary {
  return size <= indexCapacity(target.indices) ? target : new Dictionary(new Utf8(), new Int32(), target.id, target.isOrdered);
}

export function newIndexArray(t: Dictionary, n: number): IndexArray {
  return new (t.indices.ArrayType as Int32ArrayConstructor)(n) as IndexArray;
}

/** Whether two dictionary columns have the same entries in the same order. */
export function sameDictionary(a: Data, b: Data): boolean {
  if (a.dictionary === b.dictionary) return true;
  const da = dictionaryValues(a);
  const db = dictionaryValues(b);
  if (da === db) return true;
  if (da.length !== db.length || nullsOf(da) !== null || nullsOf(db) !== null) return false;
  const oa = utf8Offsets(da);
  const ob = utf8Offsets(db);
  const ba = utf8Bytes(da);
  const bb = utf8Bytes(db);
  for (let k = 0; k < da.length; k++) {
    if (!bytesEqual(ba, oa[k]!, oa[k + 1]!, bb, ob[k]!, ob[k + 1]!)) return false;
  }
  return true;
}
