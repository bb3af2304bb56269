/** Row selection: takeRows gathers rows by index, filterBatch keeps row ranges. */
import { DataType, Dictionary, Int32, Schema, Utf8, Vector, type Data, type RecordBatch } from 'apache-arrow';
import { StorageError } from '../errors.js';
import { bitmapBytes, getBit, nullsOf, setBit } from './bitmap.js';
import { batchOf, EMPTY_BYTES, emptyUtf8, fixedValues, indexArray, int64Words, isDictionary, LITTLE_ENDIAN, newData, utf8Bytes, utf8Offsets } from './column-data.js';
import { concatBatches } from './concat.js';
import type { RowRange } from './search.js';

/** `indices` as a Uint32Array (one element kind keeps the gather loops monomorphic), bounds-checked. */
function checkedIndices(indices: Uint32Array | readonly number[], n: number): Uint32Array {
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    if (!(i >= 0 && i < n && Number.isInteger(i))) {
      throw new StorageError('INTERNAL', `takeRows: row index ${i} at position ${k} is outside [0, ${n})`);
    }
  }
  return indices instanceof Uint32Array ? indices : Uint32Array.from(indices);
}

function takeValidity(d: Data, indices: Uint32Array): { bitmap: Uint8Array | undefined; nullCount: number } {
  const nulls = nullsOf(d);
  if (nulls === null) return { bitmap: undefined, nullCount: 0 };
  const m = indices.length;
  const bitmap = new Uint8Array(bitmapBytes(m));
  let nullCount = 0;
  for (let k = 0; k < m; k++) {
    if (getBit(nulls, d.offset + indices[k]!)) setBit(bitmap, k);
    else nullCount++;
  }
  return nullCount > 0 ? { bitmap, nullCount } : { bitmap: undefined, nullCount: 0 };
}

function takeColumn(d: Data, indices: Uint32Array): Data {
  const m = indices.length;
  const type = d.type;
  const { bitmap, nullCount } = takeValidity(d, indices);
  if (DataType.isUtf8(type)) {
    const o = utf8Offsets(d);
    const src = utf8Bytes(d);
    const offsets = new Int32Array(m + 1);
    const starts = new Int32Array(m);
    let total = 0;
    for (let k = 0; k < m; k++) {
      const i = indices[k]!;
      const s = o[i]!;
      starts[k] = s;
      total += o[i + 1]! - s;
      offsets[k + 1] = total;
    }
    const bytes = new Uint8Array(total);
    for (let k = 0; k < m; k++) {
      const s = starts[k]!;
      let p = offsets[k]!;
      const len = offsets[k + 1]! - p;
      if (len > 16) bytes.set(src.subarray(s, s + len), p);
      else for (let q = s; q < s + len; q++) bytes[p++] = src[q]!;
    }
    return newData(type, m, nullCount, bitmap, bytes, offsets);
  }
  if (isDictionary(type)) {
    const src = indexArray(d);
    const out = new (src.constructor as Int32ArrayConstructor)(m);
    for (let k = 0; k < m; k++) out[k] = src[indices[k]!]!;
    const t = src.constructor === type.indices.ArrayType ? type : new Dictionary(new Utf8(), new Int32(), type.id, type.isOrdered);
    return newData(t, m, nullCount, bitmap, out, undefined, d.dictionary ?? new Vector([emptyUtf8()]));
  }
  if (DataType.isBool(type)) {
    const src = (d.values as Uint8Array | undefined) ?? EMPTY_BYTES;
    const bits = new Uint8Array(bitmapBytes(m));
    for (let k = 0; k < m; k++) if (getBit(src, d.offset + indices[k]!)) setBit(bits, k);
    return newData(type, m, nullCount, bitmap, bits);
  }
  const values = fixedValues(d);
  if (values instanceof BigInt64Array) {
    const out = new BigInt64Array(m);
    const sw = int64Words(values);
    const ow = LITTLE_ENDIAN ? new Int32Array(out.buffer) : null;
    if (ow) {
      for (let k = 0; k < m; k++) {
        const i = indices[k]! * 2;
        ow[2 * k] = sw[i]!;
        ow[2 * k + 1] = sw[i + 1]!;
      }
    } else for (let k = 0; k < m; k++) out[k] = values[indices[k]!]!;
    return newData(type, m, nullCount, bitmap, out);
  }
  const out = new (values.constructor as Float64ArrayConstructor)(m);
  const src = values as Float64Array;
  for (let k = 0; k < m; k++) out[k] = src[indices[k]!]!;
  return newData(type, m, nullCount, bitmap, out);
}

/**
 * The rows of `batch` at `indices`, in that order (repeats allowed). Nulls and sliced inputs are
 * handled; dictionary columns keep their dictionary. An index outside the batch throws INTERNAL.
 */
export function takeRows(batch: RecordBatch, indices: Uint32Array | readonly number[]): RecordBatch {
  const idx = checkedIndices(indices, batch.numRows);
  const children = batch.data.children.map((d) => takeColumn(d, idx));
  const changed = children.some((d, c) => d.type !== batch.schema.fields[c]!.type);
  const schema = changed
    ? new Schema(batch.schema.fields.map((f, c) => f.clone({ type: children[c]!.type })), batch.schema.metadata)
    : batch.schema;
  return batchOf(schema, children, indices.length);
}

/**
 * Rows of the given ranges, in order: `batch.slice` for one range, a concatenation for several.
 */
export function filterBatch(batch: RecordBatch, ranges: readonly RowRange[]): RecordBatch {
  if (ranges.length === 0) return batch.slice(0, 0);
  if (ranges.length === 1) return batch.slice(ranges[0]![0], ranges[0]![1]);
  return concatBatches(
    batch.schema,
    ranges.map(([s, e]) => batch.slice(s, e)),
  );
}
