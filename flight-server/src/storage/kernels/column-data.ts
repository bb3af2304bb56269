/**
 * How the kernels read and build arrow-js Data. Layout convention of arrow-js (data.ts
 * `_sliceBuffers`): a sliced Data keeps its `offset` for the validity bitmap and for Bool's
 * bit-packed values only; fixed-width value buffers, dictionary indices and Utf8 offset buffers are
 * already subarrayed, so logical row i is element i of them. Every kernel reads Data that way, so
 * sliced inputs (non-zero offsets) are handled.
 */
import { Data, DataType, Dictionary, RecordBatch, Schema, Struct, Utf8, Vector, makeData } from 'apache-arrow';
import { describeType } from '@flightdeck/contract';
import { StorageError } from '../errors.js';

export type IndexArray = Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;
export type FixedArray = Int32Array | Float32Array | Float64Array | BigInt64Array;

export const EMPTY_BYTES = new Uint8Array(0);
export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export function newData(
  type: DataType,
  length: number,
  nullCount: number,
  nullBitmap: Uint8Array | undefined,
  values: ArrayBufferView,
  valueOffsets?: Int32Array,
  dictionary?: Vector,
): Data {
  return new Data(type, 0, length, nullCount, [valueOffsets, values, nullBitmap] as never, [], dictionary);
}

export function batchOf(schema: Schema, children: Data[], length: number): RecordBatch {
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, nullCount: 0, children }));
}

function columnIndex(batch: RecordBatch, name: string): number {
  const i = batch.schema.fields.findIndex((f) => f.name === name);
  if (i < 0) throw new StorageError('INVALID_ARGUMENT', `unknown column "${name}"`);
  return i;
}

/** Column `name` of `batch`; an unknown name throws INVALID_ARGUMENT. */
export function column(batch: RecordBatch, name: string): Data {
  return batch.data.children[columnIndex(batch, name)]!;
}

export function isDictionary(t: DataType): t is Dictionary {
  return DataType.isDictionary(t);
}

export function isInt64Like(t: DataType): boolean {
  return (DataType.isInt(t) && t.bitWidth === 64) || DataType.isTimestamp(t);
}

export function unsupported(d: Data, what: string): StorageError {
  return new StorageError('INVALID_ARGUMENT', `${what}: unsupported column type ${describeType(d.type)}`);
}

/**
 * Int32 view of an int64 buffer: element 2i is the low word (read it `>>> 0`), 2i+1 the signed
 * high word. Lets hot loops compare 64-bit values without BigInt.
 */
export function int64Words(v: BigInt64Array): Int32Array {
  if (LITTLE_ENDIAN) return new Int32Array(v.buffer, v.byteOffset, v.length * 2);
  const w = new Int32Array(v.length * 2);
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    w[2 * i] = Number(BigInt.asIntN(32, x));
    w[2 * i + 1] = Number(x >> 32n);
  }
  return w;
}

/** Rows holding the smallest and the largest of int64 values (the first of equals); [-1, -1] when empty. */
export function int64ExtremeRows(v: BigInt64Array): [min: number, max: number] {
  if (v.length === 0) return [-1, -1];
  const w = int64Words(v);
  let minRow = 0;
  let maxRow = 0;
  let minHi = w[1]!;
  let minLo = w[0]! >>> 0;
  let maxHi = minHi;
  let maxLo = minLo;
  for (let i = 1; i < v.length; i++) {
    const hi = w[2 * i + 1]!;
    const lo = w[2 * i]! >>> 0;
    if (hi < minHi || (hi === minHi && lo < minLo)) {
      minHi = hi;
      minLo = lo;
      minRow = i;
    } else if (hi > maxHi || (hi === maxHi && lo > maxLo)) {
      maxHi = hi;
      maxLo = lo;
      maxRow = i;
    }
  }
  return [minRow, maxRow];
}

/** The fixed-width values of `d`, exactly `d.length` of them. */
export function fixedValues(d: Data): FixedArray {
  const v = d.values as FixedArray | undefined;
  if (v === undefined) return new (d.type.ArrayType as Int32ArrayConstructor)(0) as FixedArray;
  return v.length === d.length ? v : (v.subarray(0, d.length) as FixedArray);
}

/** The indices of a dictionary column, exactly `d.length` of them (64-bit indices narrowed). */
export function indexArray(d: Data): IndexArray {
  const v = d.values as IndexArray | BigInt64Array | BigUint64Array | undefined;
  if (v === undefined) return new Int32Array(0);
  if (v instanceof BigInt64Array || v instanceof BigUint64Array) {
    const out = new Int32Array(d.length);
    for (let i = 0; i < d.length; i++) out[i] = Number(v[i]!);
    return out;
  }
  return v.length === d.length ? v : (v.subarray(0, d.length) as IndexArray);
}

export function utf8Offsets(d: Data): Int32Array {
  return (d.valueOffsets as Int32Array | undefined) ?? new Int32Array(1);
}

export function utf8Bytes(d: Data): Uint8Array {
  return (d.values as Uint8Array | undefined) ?? EMPTY_BYTES;
}

export function emptyUtf8(): Data {
  return newData(new Utf8(), 0, 0, undefined, EMPTY_BYTES, new Int32Array(1));
}
