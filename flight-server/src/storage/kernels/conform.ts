/**
 * conformBatch: a batch reshaped to a target schema. utf8 and dictionary<utf8> are one contract
 * type (typesCompatible), so either is converted to what the target says.
 */
import { DataType, Schema, Vector, type Data, type Dictionary, type Field, type RecordBatch } from 'apache-arrow';
import { describeType, typesCompatible } from '@flightdeck/contract';
import { StorageError } from '../errors.js';
import { bitmapBytes, nullsOf, setBit, validityCopy } from './bitmap.js';
import { ByteInterner } from './byte-interner.js';
import { batchOf, EMPTY_BYTES, emptyUtf8, indexArray, isDictionary, newData } from './column-data.js';
import { dictionaryTypeFor, dictionaryValues, newIndexArray } from './dictionary.js';
import { entryOf, stringColumn } from './string-column.js';

/** A column of `n` nulls of `type`: what data written before evolve_schema holds for a new column. */
export function nullColumn(type: DataType, n: number): Data {
  const bitmap = new Uint8Array(bitmapBytes(n));
  if (DataType.isUtf8(type)) return newData(type, n, n, bitmap, EMPTY_BYTES, new Int32Array(n + 1));
  if (isDictionary(type)) {
    const t = dictionaryTypeFor(type, 0);
    return newData(t, n, n, bitmap, newIndexArray(t, n), undefined, new Vector([emptyUtf8()]));
  }
  if (DataType.isBool(type)) return newData(type, n, n, bitmap, new Uint8Array(bitmapBytes(n)));
  return newData(type, n, n, bitmap, new (type.ArrayType as Int32ArrayConstructor)(n));
}

function decodeDictionary(d: Data, type: DataType): Data {
  const c = stringColumn(d)!;
  const n = d.length;
  const offsets = new Int32Array(n + 1);
  let total = 0;
  let nullCount = 0;
  const entries = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = entryOf(c, i);
    entries[i] = k;
    if (k < 0) nullCount++;
    else total += c.offsets[k + 1]! - c.offsets[k]!;
    offsets[i + 1] = total;
  }
  const bytes = new Uint8Array(total);
  const bitmap = nullCount > 0 ? new Uint8Array(bitmapBytes(n)) : undefined;
  for (let i = 0; i < n; i++) {
    const k = entries[i]!;
    if (k < 0) continue;
    if (bitmap) setBit(bitmap, i);
    const s = c.offsets[k]!;
    const e = c.offsets[k + 1]!;
    let p = offsets[i]!;
    if (e - s > 16) bytes.set(c.bytes.subarray(s, e), p);
    else for (let q = s; q < e; q++) bytes[p++] = c.bytes[q]!;
  }
  return newData(type, n, nullCount, bitmap, bytes, offsets);
}

function encodeDictionary(d: Data, target: Dictionary): Data {
  const c = stringColumn(d)!;
  const n = d.length;
  const interner = new ByteInterner();
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = entryOf(c, i);
    ids[i] = k < 0 ? -1 : interner.intern(c.bytes, c.offsets[k]!, c.offsets[k + 1]!);
  }
  const type = dictionaryTypeFor(target, interner.count);
  const indices = newIndexArray(type, n);
  let nullCount = 0;
  const bitmap = nullsOf(d) !== null ? new Uint8Array(bitmapBytes(n)) : undefined;
  for (let i = 0; i < n; i++) {
    const id = ids[i]!;
    if (id < 0) nullCount++;
    else {
      indices[i] = id;
      if (bitmap) setBit(bitmap, i);
    }
  }
  return newData(type, n, nullCount, nullCount > 0 ? bitmap : undefined, indices, undefined, new Vector([interner.toData()]));
}

function reindexDictionary(d: Data, target: Dictionary): Data {
  const size = dictionaryValues(d).length;
  const type = dictionaryTypeFor(target, size);
  const src = indexArray(d);
  if (src.constructor === type.indices.ArrayType && d.dictionary) return d.clone(type);
  const out = newIndexArray(type, d.length);
  out.set(src);
  const { bitmap, nullCount } = validityCopy(d);
  return newData(type, d.length, nullCount, bitmap, out, undefined, d.dictionary ?? new Vector([emptyUtf8()]));
}

/** `d` as a column of type `target` (utf8 <-> dictionary<utf8> converted, time zone aliases normalized). */
function conformColumn(d: Data, target: DataType, name: string): Data {
  if (!typesCompatible(d.type, target)) {
    throw new StorageError('INVALID_ARGUMENT', `column "${name}": expected type ${describeType(target)}, got ${describeType(d.type)}`);
  }
  if (DataType.isUtf8(target)) return isDictionary(d.type) ? decodeDictionary(d, target) : d.clone(target);
  if (isDictionary(target)) return isDictionary(d.type) ? reindexDictionary(d, target) : encodeDictionary(d, target);
  return d.clone(target);
}

/**
 * `batch` with exactly the fields of `target`, in target order: utf8 and dictionary<utf8> converted
 * to what the target says, target columns absent from `batch` filled with nulls (columns added by
 * evolve_schema), extra batch columns dropped. Compatibility is assumed checked
 * (describeSchemaMismatch); an incompatible column type still throws INVALID_ARGUMENT.
 * A dictionary whose values outgrow the target's index type gets Int32 indices (same dictionary id).
 */
export function conformBatch(batch: RecordBatch, target: Schema): RecordBatch {
  const n = batch.numRows;
  const children: Data[] = [];
  const fields: Field[] = [];
  let changed = false;
  for (const f of target.fields) {
    const i = batch.schema.fields.findIndex((g) => g.name === f.name);
    const d = i < 0 ? nullColumn(f.type, n) : conformColumn(batch.data.children[i]!, f.type, f.name);
    children.push(d);
    if (d.type !== f.type) {
      fields.push(f.clone({ type: d.type }));
      changed = true;
    } else fields.push(f);
  }
  const schema = changed ? new Schema(fields, target.metadata) : target;
  return batchOf(schema, children, n);
}
