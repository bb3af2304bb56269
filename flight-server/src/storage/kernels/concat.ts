/** concatBatches: many batches as one, each column in one contiguous buffer set. */
import { DataType, Schema, Vector, type Data, type Dictionary, type Field, type RecordBatch } from 'apache-arrow';
import { bitmapBytes, copyBits, getBit, mergedValidity, nullsOf } from './bitmap.js';
import { ByteInterner } from './byte-interner.js';
import { batchOf, EMPTY_BYTES, fixedValues, indexArray, isDictionary, newData, utf8Offsets, utf8Bytes, type FixedArray } from './column-data.js';
import { conformBatch, nullColumn } from './conform.js';
import { dictionaryTypeFor, dictionaryValues, newIndexArray, sameDictionary } from './dictionary.js';
import { concatUtf8 } from './utf8.js';

function concatDictionary(target: Dictionary, parts: readonly Data[]): Data {
  let total = 0;
  for (const p of parts) total += p.length;
  const first = parts[0]!;
  const shared = parts.every((p) => sameDictionary(first, p));
  let dictionary: Vector;
  let remaps: (Int32Array | null)[];
  if (shared) {
    const dict = dictionaryValues(first);
    dictionary = first.dictionary ?? new Vector([dict]);
    remaps = parts.map(() => null);
  } else {
    const interner = new ByteInterner();
    remaps = parts.map((p) => {
      const dict = dictionaryValues(p);
      const o = utf8Offsets(dict);
      const b = utf8Bytes(dict);
      const nulls = nullsOf(dict);
      const remap = new Int32Array(dict.length);
      for (let k = 0; k < dict.length; k++) {
        remap[k] = nulls !== null && !getBit(nulls, dict.offset + k) ? -1 : interner.intern(b, o[k]!, o[k + 1]!);
      }
      return remap;
    });
    dictionary = new Vector([interner.toData()]);
  }
  const type = dictionaryTypeFor(target, dictionary.length);
  const indices = newIndexArray(type, total);
  let { bitmap, nullCount } = mergedValidity(parts, total);
  let row = 0;
  parts.forEach((p, j) => {
    const src = indexArray(p);
    const remap = remaps[j];
    if (!remap) indices.set(src, row);
    else {
      const nulls = nullsOf(p);
      for (let i = 0; i < p.length; i++) {
        if (nulls !== null && !getBit(nulls, p.offset + i)) continue;
        const k = remap[src[i]!]!;
        if (k >= 0) indices[row + i] = k;
        else {
          if (!bitmap) {
            bitmap = new Uint8Array(bitmapBytes(total)).fill(255);
          }
          if (getBit(bitmap, row + i)) {
            bitmap[(row + i) >> 3] = bitmap[(row + i) >> 3]! & ~(1 << ((row + i) & 7));
            nullCount++;
          }
        }
      }
    }
    row += p.length;
  });
  return newData(type, total, nullCount, bitmap, indices, undefined, dictionary);
}

function concatColumn(type: DataType, parts: readonly Data[]): Data {
  let total = 0;
  for (const p of parts) total += p.length;
  if (DataType.isUtf8(type)) return concatUtf8(type, parts);
  if (isDictionary(type)) return parts.length === 0 ? nullColumn(type, 0) : concatDictionary(type, parts);
  const { bitmap, nullCount } = mergedValidity(parts, total);
  if (DataType.isBool(type)) {
    const bits = new Uint8Array(bitmapBytes(total));
    let pos = 0;
    for (const p of parts) {
      copyBits(bits, pos, (p.values as Uint8Array | undefined) ?? EMPTY_BYTES, p.offset, p.length);
      pos += p.length;
    }
    return newData(type, total, nullCount, bitmap, bits);
  }
  const out = new (type.ArrayType as Int32ArrayConstructor)(total) as FixedArray;
  let pos = 0;
  for (const p of parts) {
    (out as Int32Array).set(fixedValues(p) as Int32Array, pos);
    pos += p.length;
  }
  return newData(type, total, nullCount, bitmap, out);
}

/**
 * One batch of `schema` holding the rows of `batches` in order, each column in one contiguous
 * buffer set: Utf8 offsets rebased, validity bitmaps merged, dictionaries unified into one with
 * remapped indices (batches sharing a dictionary keep it). Batches are conformed to `schema` first.
 * Zero batches give a zero-row batch; one batch is returned conformed but not copied.
 */
export function concatBatches(schema: Schema, batches: readonly RecordBatch[]): RecordBatch {
  const parts = batches.map((b) => conformBatch(b, schema));
  if (parts.length === 1) return parts[0]!;
  let total = 0;
  for (const p of parts) total += p.numRows;
  const fields: Field[] = [];
  const children = schema.fields.map((f, c) => {
    const d = concatColumn(f.type, parts.map((p) => p.data.children[c]!));
    fields.push(d.type === f.type ? f : f.clone({ type: d.type }));
    return d;
  });
  const changed = fields.some((f, c) => f !== schema.fields[c]);
  return batchOf(changed ? new Schema(fields, schema.metadata) : schema, children, total);
}
