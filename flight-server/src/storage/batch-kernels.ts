/**
 * Column kernels arrow-js does not have: conform, concat, take, sort, last-write-wins dedupe and
 * range filtering of RecordBatches whose columns have the contract's types (see field-types.ts).
 *
 * Layout convention of arrow-js (data.ts `_sliceBuffers`): a sliced Data keeps its `offset` for the
 * validity bitmap and for Bool's bit-packed values only; fixed-width value buffers, dictionary
 * indices and Utf8 offset buffers are already subarrayed, so logical row i is element i of them.
 * Every kernel here reads Data that way, so sliced inputs (non-zero offsets) are handled.
 *
 * Order used throughout: nulls first; utf8 and dictionary<utf8> by UTF-8 bytes (code-point order);
 * numbers ascending with NaN last; false < true; timestamps by their raw int64 value.
 */
import {
  Data,
  DataType,
  DateUnit,
  Dictionary,
  Int32,
  RecordBatch,
  Schema,
  Struct,
  TimeUnit,
  Utf8,
  Vector,
  makeData,
  type Field,
  type Timestamp,
} from 'apache-arrow';
import { StorageError } from './errors.js';
import { describeType, typesCompatible } from '@flightdeck/contract';

/** A half-open row range [start, end). */
export type RowRange = [start: number, end: number];

type IndexArray = Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;
type FixedArray = Int32Array | Float32Array | Float64Array | BigInt64Array;

const EMPTY_BYTES = new Uint8Array(0);
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const encoder = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// Small helpers: bitmaps, column lookup, Data construction

function bitmapBytes(n: number): number {
  return ((n + 63) & ~63) >> 3;
}

function getBit(bm: Uint8Array, i: number): number {
  return (bm[i >> 3]! >> (i & 7)) & 1;
}

function setBit(bm: Uint8Array, i: number): void {
  bm[i >> 3] = bm[i >> 3]! | (1 << (i & 7));
}

/** The validity bitmap of `d` if it has nulls (index it with `d.offset + i`), else null. */
function nullsOf(d: Data): Uint8Array | null {
  return d.nullCount > 0 && d.nullBitmap !== undefined && d.nullBitmap.length > 0 ? d.nullBitmap : null;
}

/** Sets bits [dstPos, dstPos+len) of a zeroed `dst` from bits [srcPos, srcPos+len) of `src`. */
function copyBits(dst: Uint8Array, dstPos: number, src: Uint8Array, srcPos: number, len: number): void {
  let k = 0;
  if (((dstPos | srcPos) & 7) === 0) {
    const nb = len >> 3;
    dst.set(src.subarray(srcPos >> 3, (srcPos >> 3) + nb), dstPos >> 3);
    k = nb << 3;
  }
  for (; k < len; k++) {
    if (getBit(src, srcPos + k)) setBit(dst, dstPos + k);
  }
}

function newData(
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

function batchOf(schema: Schema, children: Data[], length: number): RecordBatch {
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, nullCount: 0, children }));
}

function columnIndex(batch: RecordBatch, name: string): number {
  const i = batch.schema.fields.findIndex((f) => f.name === name);
  if (i < 0) throw new StorageError('INVALID_ARGUMENT', `unknown column "${name}"`);
  return i;
}

function column(batch: RecordBatch, name: string): Data {
  return batch.data.children[columnIndex(batch, name)]!;
}

function isDictionary(t: DataType): t is Dictionary {
  return DataType.isDictionary(t);
}

function isInt64Like(t: DataType): boolean {
  return (DataType.isInt(t) && t.bitWidth === 64) || DataType.isTimestamp(t);
}

function unsupported(d: Data, what: string): StorageError {
  return new StorageError('INVALID_ARGUMENT', `${what}: unsupported column type ${describeType(d.type)}`);
}

/**
 * Int32 view of an int64 buffer: element 2i is the low word (read it `>>> 0`), 2i+1 the signed
 * high word. Lets hot loops compare 64-bit values without BigInt.
 */
function int64Words(v: BigInt64Array): Int32Array {
  if (LITTLE_ENDIAN) return new Int32Array(v.buffer, v.byteOffset, v.length * 2);
  const w = new Int32Array(v.length * 2);
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    w[2 * i] = Number(BigInt.asIntN(32, x));
    w[2 * i + 1] = Number(x >> 32n);
  }
  return w;
}

function fixedValues(d: Data): FixedArray {
  const v = d.values as FixedArray | undefined;
  if (v === undefined) return new (d.type.ArrayType as Int32ArrayConstructor)(0) as FixedArray;
  return v.length === d.length ? v : (v.subarray(0, d.length) as FixedArray);
}

function indexArray(d: Data): IndexArray {
  const v = d.values as IndexArray | BigInt64Array | BigUint64Array | undefined;
  if (v === undefined) return new Int32Array(0);
  if (v instanceof BigInt64Array || v instanceof BigUint64Array) {
    const out = new Int32Array(d.length);
    for (let i = 0; i < d.length; i++) out[i] = Number(v[i]!);
    return out;
  }
  return v.length === d.length ? v : (v.subarray(0, d.length) as IndexArray);
}

function utf8Offsets(d: Data): Int32Array {
  return (d.valueOffsets as Int32Array | undefined) ?? new Int32Array(1);
}

function utf8Bytes(d: Data): Uint8Array {
  return (d.values as Uint8Array | undefined) ?? EMPTY_BYTES;
}

function emptyUtf8(): Data {
  return newData(new Utf8(), 0, 0, undefined, EMPTY_BYTES, new Int32Array(1));
}

const dictionaryCache = new WeakMap<Vector, Data>();

/** A dictionary column's values as one Utf8 Data (delta dictionaries arrive as several chunks). */
function dictionaryValues(d: Data): Data {
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
function dictionaryTypeFor(target: Dictionary, size: number): Dictionary {
  return size <= indexCapacity(target.indices) ? target : new Dictionary(new Utf8(), new Int32(), target.id, target.isOrdered);
}

function newIndexArray(t: Dictionary, n: number): IndexArray {
  return new (t.indices.ArrayType as Int32ArrayConstructor)(n) as IndexArray;
}

// ---------------------------------------------------------------------------------------------
// Strings: uniform access to utf8 and dictionary<utf8> columns, byte comparison, interning

interface StringColumn {
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

function stringColumn(d: Data): StringColumn | null {
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
function entryOf(c: StringColumn, i: number): number {
  if (c.rowNulls !== null && !getBit(c.rowNulls, c.rowOffset + i)) return -1;
  const k = c.indices === null ? i : c.indices[i]!;
  if (c.entryNulls !== null && !getBit(c.entryNulls, c.entryOffset + k)) return -1;
  return k;
}

function compareBytes(a: Uint8Array, as: number, ae: number, b: Uint8Array, bs: number, be: number): number {
  const la = ae - as;
  const lb = be - bs;
  const n = la < lb ? la : lb;
  for (let k = 0; k < n; k++) {
    const x = a[as + k]!;
    const y = b[bs + k]!;
    if (x !== y) return x - y;
  }
  return la - lb;
}

function bytesEqual(a: Uint8Array, as: number, ae: number, b: Uint8Array, bs: number, be: number): boolean {
  if (ae - as !== be - bs) return false;
  for (let k = 0; k < ae - as; k++) if (a[as + k] !== b[bs + k]) return false;
  return true;
}

/** Open-addressing hash set of byte strings, assigning ids in first-seen order. */
class ByteInterner {
  bytes = new Uint8Array(1024);
  byteLength = 0;
  offsets = new Int32Array(257);
  count = 0;
  private hashes = new Int32Array(256);
  private table = new Int32Array(512).fill(-1);
  private mask = 511;

  intern(src: Uint8Array, s: number, e: number): number {
    let h = 0x811c9dc5 | 0;
    for (let k = s; k < e; k++) h = Math.imul(h ^ src[k]!, 0x01000193);
    let slot = h & this.mask;
    for (;;) {
      const id = this.table[slot]!;
      if (id === -1) break;
      if (this.hashes[id] === h && bytesEqual(this.bytes, this.offsets[id]!, this.offsets[id + 1]!, src, s, e)) return id;
      slot = (slot + 1) & this.mask;
    }
    const id = this.count;
    if (id + 1 >= this.hashes.length) this.growEntries();
    const len = e - s;
    if (this.byteLength + len > this.bytes.length) {
      const bigger = new Uint8Array(Math.max(this.bytes.length * 2, this.byteLength + len));
      bigger.set(this.bytes.subarray(0, this.byteLength));
      this.bytes = bigger;
    }
    this.bytes.set(src.subarray(s, e), this.byteLength);
    this.byteLength += len;
    this.offsets[id + 1] = this.byteLength;
    this.hashes[id] = h;
    this.table[slot] = id;
    this.count = id + 1;
    if (this.count * 2 > this.mask) this.rehash();
    return id;
  }

  toData(): Data {
    return newData(
      new Utf8(),
      this.count,
      0,
      undefined,
      this.bytes.slice(0, this.byteLength),
      this.offsets.slice(0, this.count + 1),
    );
  }

  private growEntries(): void {
    const offsets = new Int32Array(this.offsets.length * 2);
    offsets.set(this.offsets);
    this.offsets = offsets;
    const hashes = new Int32Array(this.hashes.length * 2);
    hashes.set(this.hashes);
    this.hashes = hashes;
  }

  private rehash(): void {
    const size = (this.mask + 1) * 2;
    this.mask = size - 1;
    this.table = new Int32Array(size).fill(-1);
    for (let id = 0; id < this.count; id++) {
      let slot = this.hashes[id]! & this.mask;
      while (this.table[slot] !== -1) slot = (slot + 1) & this.mask;
      this.table[slot] = id;
    }
  }
}

interface DenseRanks {
  /** Rank per input: 0 for null, 1 + dense rank (equal values share one) otherwise. */
  ranks: Uint32Array;
  max: number;
}

/** Dense byte-order ranks of `count` strings; entries flagged by `isNull` rank 0. */
function rankStrings(bytes: Uint8Array, offsets: Int32Array, count: number, isNull: ((k: number) => boolean) | null): DenseRanks {
  const ids: number[] = [];
  for (let k = 0; k < count; k++) if (isNull === null || !isNull(k)) ids.push(k);
  const prefix = new Uint32Array(count);
  for (const k of ids) {
    const s = offsets[k]!;
    const len = offsets[k + 1]! - s;
    let p = 0;
    for (let b = 0; b < 4; b++) p = p * 256 + (b < len ? bytes[s + b]! : 0);
    prefix[k] = p;
  }
  ids.sort((a, b) => {
    const pa = prefix[a]!;
    const pb = prefix[b]!;
    if (pa !== pb) return pa < pb ? -1 : 1;
    return compareBytes(bytes, offsets[a]!, offsets[a + 1]!, bytes, offsets[b]!, offsets[b + 1]!);
  });
  const ranks = new Uint32Array(count);
  let rank = 0;
  let prev = -1;
  for (const k of ids) {
    if (prev < 0 || !bytesEqual(bytes, offsets[prev]!, offsets[prev + 1]!, bytes, offsets[k]!, offsets[k + 1]!)) rank++;
    ranks[k] = rank;
    prev = k;
  }
  return { ranks, max: rank };
}

const dictionaryRankCache = new WeakMap<Data, DenseRanks>();

/** Dense byte-order ranks of a dictionary's entries (duplicated entries share a rank). */
function dictionaryRanks(dict: Data): DenseRanks {
  let r = dictionaryRankCache.get(dict);
  if (!r) {
    const nulls = nullsOf(dict);
    const off = dict.offset;
    r = rankStrings(utf8Bytes(dict), utf8Offsets(dict), dict.length, nulls === null ? null : (k) => !getBit(nulls, off + k));
    dictionaryRankCache.set(dict, r);
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Column kernels: null columns, conversion, concat, take

function nullColumn(type: DataType, n: number): Data {
  const bitmap = new Uint8Array(bitmapBytes(n));
  if (DataType.isUtf8(type)) return newData(type, n, n, bitmap, EMPTY_BYTES, new Int32Array(n + 1));
  if (isDictionary(type)) {
    const t = dictionaryTypeFor(type, 0);
    return newData(t, n, n, bitmap, newIndexArray(t, n), undefined, new Vector([emptyUtf8()]));
  }
  if (DataType.isBool(type)) return newData(type, n, n, bitmap, new Uint8Array(bitmapBytes(n)));
  return newData(type, n, n, bitmap, new (type.ArrayType as Int32ArrayConstructor)(n));
}

function validityCopy(d: Data): { bitmap: Uint8Array | undefined; nullCount: number } {
  const nulls = nullsOf(d);
  if (nulls === null) return { bitmap: undefined, nullCount: 0 };
  const bitmap = new Uint8Array(bitmapBytes(d.length));
  copyBits(bitmap, 0, nulls, d.offset, d.length);
  return { bitmap, nullCount: d.nullCount };
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

function mergedValidity(parts: readonly Data[], total: number): { bitmap: Uint8Array | undefined; nullCount: number } {
  let nullCount = 0;
  for (const p of parts) nullCount += Math.max(p.nullCount, 0);
  if (nullCount === 0) return { bitmap: undefined, nullCount: 0 };
  const bitmap = new Uint8Array(bitmapBytes(total));
  let pos = 0;
  for (const p of parts) {
    const nulls = nullsOf(p);
    if (nulls === null) for (let i = 0; i < p.length; i++) setBit(bitmap, pos + i);
    else copyBits(bitmap, pos, nulls, p.offset, p.length);
    pos += p.length;
  }
  return { bitmap, nullCount };
}

function concatUtf8(type: DataType, parts: readonly Data[]): Data {
  let total = 0;
  let bytesTotal = 0;
  for (const p of parts) {
    total += p.length;
    if (p.length > 0) {
      const o = utf8Offsets(p);
      bytesTotal += o[p.length]! - o[0]!;
    }
  }
  const offsets = new Int32Array(total + 1);
  const bytes = new Uint8Array(bytesTotal);
  let row = 0;
  let at = 0;
  for (const p of parts) {
    if (p.length === 0) continue;
    const o = utf8Offsets(p);
    const base = o[0]!;
    const shift = at - base;
    for (let i = 1; i <= p.length; i++) offsets[row + i] = o[i]! + shift;
    bytes.set(utf8Bytes(p).subarray(base, o[p.length]!), at);
    at += o[p.length]! - base;
    row += p.length;
  }
  const { bitmap, nullCount } = mergedValidity(parts, total);
  return newData(type, total, nullCount, bitmap, bytes, offsets);
}

function sameDictionary(a: Data, b: Data): boolean {
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

// ---------------------------------------------------------------------------------------------
// Batch kernels

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

// ---------------------------------------------------------------------------------------------
// Time values

const NS_PER_UNIT: Record<TimeUnit, bigint> = {
  [TimeUnit.SECOND]: 1_000_000_000n,
  [TimeUnit.MILLISECOND]: 1_000_000n,
  [TimeUnit.MICROSECOND]: 1_000n,
  [TimeUnit.NANOSECOND]: 1n,
};

/** Nanoseconds in one `unit`. */
export function nanosecondsPerUnit(unit: TimeUnit): bigint {
  return NS_PER_UNIT[unit];
}

/** A raw timestamp value in `unit` as epoch nanoseconds. */
export function toNanoseconds(value: bigint, unit: TimeUnit): bigint {
  return value * NS_PER_UNIT[unit];
}

/** Smallest value v in `unit` with v * unit >= ns: the inclusive bound in `unit` for `time >= ns`. */
export function ceilFromNanoseconds(ns: bigint, unit: TimeUnit): bigint {
  const f = NS_PER_UNIT[unit];
  const q = ns / f;
  return ns > 0n && q * f !== ns ? q + 1n : q;
}

function timestampData(batch: RecordBatch, name: string): Data<Timestamp> {
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

// ---------------------------------------------------------------------------------------------
// Ordering: per-column ranks and row comparators

/** Dense ranks of a column's rows in the module's order (0 = null). */
function columnRanks(d: Data, name: string): DenseRanks {
  const n = d.length;
  const nulls = nullsOf(d);
  const off = d.offset;
  const type = d.type;
  if (DataType.isUtf8(type)) {
    const c = stringColumn(d)!;
    const interner = new ByteInterner();
    const ids = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      ids[i] = nulls !== null && !getBit(nulls, off + i) ? -1 : interner.intern(c.bytes, c.offsets[i]!, c.offsets[i + 1]!);
    }
    const r = rankStrings(interner.bytes, interner.offsets, interner.count, null);
    const ranks = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const id = ids[i]!;
      ranks[i] = id < 0 ? 0 : r.ranks[id]!;
    }
    return { ranks, max: r.max };
  }
  if (isDictionary(type) && DataType.isUtf8(type.dictionary)) {
    const r = dictionaryRanks(dictionaryValues(d));
    const idx = indexArray(d);
    const ranks = new Uint32Array(n);
    for (let i = 0; i < n; i++) ranks[i] = nulls !== null && !getBit(nulls, off + i) ? 0 : r.ranks[idx[i]!]!;
    return { ranks, max: r.max };
  }
  if (DataType.isBool(type)) {
    const bits = (d.values as Uint8Array | undefined) ?? EMPTY_BYTES;
    const ranks = new Uint32Array(n);
    for (let i = 0; i < n; i++) ranks[i] = nulls !== null && !getBit(nulls, off + i) ? 0 : 1 + getBit(bits, off + i);
    return { ranks, max: 2 };
  }
  if (DataType.isInt(type) && type.bitWidth === 32 && type.isSigned) return int32Ranks(fixedValues(d) as Int32Array, nulls, off);
  if (DataType.isDate(type) && type.unit === DateUnit.DAY) return int32Ranks(fixedValues(d) as Int32Array, nulls, off);
  if (DataType.isFloat(type)) return floatRanks(fixedValues(d) as Float64Array, nulls, off);
  if (isInt64Like(type)) return int64Ranks(fixedValues(d) as BigInt64Array, nulls, off);
  throw unsupported(d, `key column "${name}"`);
}

function int32Ranks(v: Int32Array, nulls: Uint8Array | null, off: number): DenseRanks {
  const n = v.length;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    if (nulls !== null && !getBit(nulls, off + i)) continue;
    const x = v[i]!;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  if (min > max) return { ranks: new Uint32Array(n), max: 0 };
  if (max - min + 1 >= 0xffffffff) return floatRanks(v, nulls, off);
  const ranks = new Uint32Array(n);
  for (let i = 0; i < n; i++) ranks[i] = nulls !== null && !getBit(nulls, off + i) ? 0 : v[i]! - min + 1;
  return { ranks, max: max - min + 1 };
}

function floatRanks(v: Float64Array | Float32Array | Int32Array, nulls: Uint8Array | null, off: number): DenseRanks {
  const n = v.length;
  const sorted = new Float64Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    if (nulls !== null && !getBit(nulls, off + i)) continue;
    const x = v[i]!;
    if (x === x) sorted[m++] = x;
  }
  const uniq = sorted.subarray(0, m).sort();
  let u = 0;
  for (let k = 0; k < m; k++) if (k === 0 || uniq[k] !== uniq[u - 1]) uniq[u++] = uniq[k]!;
  const ranks = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    if (nulls !== null && !getBit(nulls, off + i)) continue;
    const x = v[i]!;
    if (x !== x) {
      ranks[i] = u + 1;
      continue;
    }
    let lo = 0;
    let hi = u;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (uniq[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    ranks[i] = lo + 1;
  }
  return { ranks, max: u + 1 };
}

function int64Ranks(v: BigInt64Array, nulls: Uint8Array | null, off: number): DenseRanks {
  const n = v.length;
  const sorted = new BigInt64Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    if (nulls !== null && !getBit(nulls, off + i)) continue;
    sorted[m++] = v[i]!;
  }
  const sw = int64Words(sorted.subarray(0, m).sort());
  const uHi = new Int32Array(m);
  const uLo = new Uint32Array(m);
  let u = 0;
  for (let k = 0; k < m; k++) {
    const lo = sw[2 * k]! >>> 0;
    const hi = sw[2 * k + 1]!;
    if (u === 0 || uHi[u - 1] !== hi || uLo[u - 1] !== lo) {
      uHi[u] = hi;
      uLo[u] = lo;
      u++;
    }
  }
  const w = int64Words(v);
  const ranks = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    if (nulls !== null && !getBit(nulls, off + i)) continue;
    const lo = w[2 * i]! >>> 0;
    const hi = w[2 * i + 1]!;
    let a = 0;
    let b = u;
    while (a < b) {
      const mid = (a + b) >>> 1;
      const mh = uHi[mid]!;
      if (mh < hi || (mh === hi && uLo[mid]! < lo)) a = mid + 1;
      else b = mid;
    }
    ranks[i] = a + 1;
  }
  return { ranks, max: u };
}

type RowComparator = (i: number, j: number) => number;

/** Compares two rows of one column in the module's order. */
function rowComparator(d: Data, name: string): RowComparator {
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

// ---------------------------------------------------------------------------------------------
// Sorting

const RADIX_BITS = 11;
const RADIX_MASK = (1 << RADIX_BITS) - 1;

interface RadixWord {
  key: Uint32Array;
  bits: number;
}

function bitsOf(x: number): number {
  return 32 - Math.clz32(x);
}

function identity(n: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

/**
 * Stable LSD radix sort of row indices by unsigned 32-bit words, least significant word first.
 * Digits on which every row agrees are skipped.
 */
function radixSort(n: number, words: readonly RadixWord[]): Uint32Array {
  const counts = new Uint32Array(1 << RADIX_BITS);
  let src: Uint32Array | null = null;
  let dst: Uint32Array = new Uint32Array(n);
  for (const { key, bits } of words) {
    for (let shift = 0; shift < bits; shift += RADIX_BITS) {
      counts.fill(0);
      for (let i = 0; i < n; i++) {
        const b = (key[i]! >>> shift) & RADIX_MASK;
        counts[b] = counts[b]! + 1;
      }
      if (counts[(key[0]! >>> shift) & RADIX_MASK] === n) continue;
      let sum = 0;
      for (let b = 0; b <= RADIX_MASK; b++) {
        const c = counts[b]!;
        counts[b] = sum;
        sum += c;
      }
      if (src === null) {
        for (let i = 0; i < n; i++) {
          const b = (key[i]! >>> shift) & RADIX_MASK;
          const p = counts[b]!;
          counts[b] = p + 1;
          dst[p] = i;
        }
      } else {
        for (let i = 0; i < n; i++) {
          const r = src[i]!;
          const b = (key[r]! >>> shift) & RADIX_MASK;
          const p = counts[b]!;
          counts[b] = p + 1;
          dst[p] = r;
        }
      }
      const done = dst;
      dst = src ?? new Uint32Array(n);
      src = done;
    }
  }
  return src ?? identity(n);
}

/**
 * Stable LSD radix sort of row indices by one packed unsigned key of `bits` bits, carrying the
 * keys along so every pass reads sequentially; all digit histograms come from one pass.
 */
function radixSortPacked(keys: Uint32Array, bits: number): Uint32Array {
  const n = keys.length;
  const passes = Math.max(1, Math.ceil(bits / RADIX_BITS));
  const width = Math.ceil(bits / passes);
  const mask = (1 << width) - 1;
  const size = 1 << width;
  const counts = new Uint32Array(size * passes);
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    for (let p = 0; p < passes; p++) {
      const b = p * size + ((k >>> (p * width)) & mask);
      counts[b] = counts[b]! + 1;
    }
  }
  let srcKeys = keys;
  let srcIdx: Uint32Array | null = null;
  let dstKeys: Uint32Array = new Uint32Array(n);
  let dstIdx: Uint32Array = new Uint32Array(n);
  for (let p = 0; p < passes; p++) {
    const shift = p * width;
    const base = p * size;
    if (counts[base + ((keys[0]! >>> shift) & mask)] === n) continue;
    let sum = 0;
    for (let b = base; b < base + size; b++) {
      const c = counts[b]!;
      counts[b] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const k = srcKeys[i]!;
      const b = base + ((k >>> shift) & mask);
      const at = counts[b]!;
      counts[b] = at + 1;
      dstKeys[at] = k;
      dstIdx[at] = srcIdx === null ? i : srcIdx[i]!;
    }
    const doneKeys = dstKeys;
    const doneIdx = dstIdx;
    dstKeys = srcKeys === keys ? new Uint32Array(n) : srcKeys;
    dstIdx = srcIdx ?? new Uint32Array(n);
    srcKeys = doneKeys;
    srcIdx = doneIdx;
  }
  return srcIdx ?? identity(n);
}

interface TimeKey {
  /**
   * (value - column minimum) / common divisor, as an unsigned 64-bit number split in two words:
   * same order as the values, usually far fewer significant bits (bars on a 1-minute grid in ns
   * span 20 bits a year instead of 55), so fewer radix passes.
   */
  lo: Uint32Array;
  hi: Uint32Array;
  loBits: number;
  hiBits: number;
}

const TWO_32 = 4294967296;

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

function timeKey(values: BigInt64Array): TimeKey {
  const n = values.length;
  const w = int64Words(values);
  let minHi = 0;
  let minLo = 0;
  for (let i = 0; i < n; i++) {
    const hi = w[2 * i + 1]!;
    const lo = w[2 * i]! >>> 0;
    if (i === 0 || hi < minHi || (hi === minHi && lo < minLo)) {
      minHi = hi;
      minLo = lo;
    }
  }
  const dLo = new Uint32Array(n);
  const dHi = new Uint32Array(n);
  let orLo = 0;
  let orHi = 0;
  for (let i = 0; i < n; i++) {
    const lo = w[2 * i]! >>> 0;
    const hi = w[2 * i + 1]!;
    const l = (lo - minLo) >>> 0;
    const h = (hi - minHi - (lo < minLo ? 1 : 0)) >>> 0;
    dLo[i] = l;
    dHi[i] = h;
    orLo |= l;
    orHi |= h;
  }
  // Drop trailing zero bits common to every delta.
  const shift = orLo !== 0 ? 31 - Math.clz32(orLo & -orLo) : orHi !== 0 ? 32 + 31 - Math.clz32(orHi & -orHi) : 0;
  if (shift >= 32) {
    for (let i = 0; i < n; i++) {
      dLo[i] = dHi[i]! >>> (shift - 32);
      dHi[i] = 0;
    }
  } else if (shift > 0) {
    for (let i = 0; i < n; i++) {
      dLo[i] = (dLo[i]! >>> shift) | (dHi[i]! << (32 - shift));
      dHi[i] = dHi[i]! >>> shift;
    }
  }
  if (shift > 0) {
    orLo = 0;
    orHi = 0;
    for (let i = 0; i < n; i++) {
      orLo |= dLo[i]!;
      orHi |= dHi[i]!;
    }
  }
  // Divide by the common divisor while deltas are exact doubles (< 2^53).
  if (orHi >>> 0 < 1 << 21 && (orLo | orHi) !== 0) {
    let g = 0;
    for (let i = 0; i < n && g !== 1; i++) {
      const x = dHi[i]! * TWO_32 + dLo[i]!;
      if (g === 0 || x % g !== 0) g = gcd(x, g);
    }
    if (g > 1) {
      orLo = 0;
      orHi = 0;
      for (let i = 0; i < n; i++) {
        const q = (dHi[i]! * TWO_32 + dLo[i]!) / g;
        const l = q >>> 0;
        const h = Math.floor(q / TWO_32);
        dLo[i] = l;
        dHi[i] = h;
        orLo |= l;
        orHi |= h;
      }
    }
  }
  return { lo: dLo, hi: dHi, loBits: bitsOf(orLo), hiBits: bitsOf(orHi) };
}

/** Single rank per row over all key columns when the combined key space is small, else null. */
function compositeRanks(keys: readonly DenseRanks[], n: number): DenseRanks | null {
  if (keys.length === 1) return keys[0]!;
  let space = 1;
  for (const k of keys) space *= k.max + 1;
  if (space > Math.max(4 * n, 1 << 16) || space > 0xffffffff) return null;
  const ranks = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (const k of keys) r = r * (k.max + 1) + k.ranks[i]!;
    ranks[i] = r;
  }
  return { ranks, max: space - 1 };
}

/** Whether, for every key, its rows appear in non-decreasing time order. */
function timeOrderedPerKey(key: DenseRanks, t: TimeKey, n: number): boolean {
  const k = key.max + 1;
  const lastHi = new Uint32Array(k);
  const lastLo = new Uint32Array(k);
  for (let i = 0; i < n; i++) {
    const r = key.ranks[i]!;
    const hi = t.hi[i]!;
    const lo = t.lo[i]!;
    const ph = lastHi[r]!;
    if (hi < ph || (hi === ph && lo < lastLo[r]!)) return false;
    lastHi[r] = hi;
    lastLo[r] = lo;
  }
  return true;
}

/**
 * Stable sort permutation of the rows of `batch` by key columns (in order) then time ascending.
 * Key columns are ranked once (distinct strings sorted by UTF-8 bytes, dictionaries by ranking
 * the dictionary, integers by offset from the minimum), time becomes (value - min) / gcd in
 * 32-bit words, and rows are sorted by an LSD radix sort, on one packed 32-bit key when key rank
 * and time fit together. Already-sorted input returns the identity after one O(n) check; input
 * whose rows are time-ordered within each key skips the time digits.
 */
export function sortPermutation(batch: RecordBatch, keyColumns: readonly string[], timeColumn: string): Uint32Array {
  const n = batch.numRows;
  if (n <= 1 || isSorted(batch, keyColumns, timeColumn, false)) return identity(n);
  const keys = keyColumns.map((name) => columnRanks(column(batch, name), name));
  const t = timeKey(timeColumnInt64(batch, timeColumn));
  const composite = keys.length > 0 ? compositeRanks(keys, n) : null;
  const needTime = composite === null || !timeOrderedPerKey(composite, t, n);
  const timeBits = needTime ? (t.hiBits > 0 ? 32 + t.hiBits : t.loBits) : 0;
  const keyBits = composite === null ? 0 : bitsOf(composite.max);
  if (composite !== null && timeBits + keyBits <= 32) {
    const packed = new Uint32Array(n);
    const r = composite.ranks;
    if (timeBits === 0) packed.set(r);
    else for (let i = 0; i < n; i++) packed[i] = ((r[i]! << timeBits) | t.lo[i]!) >>> 0;
    return radixSortPacked(packed, timeBits + keyBits);
  }
  if (composite === null && keys.length === 0 && timeBits <= 32) return radixSortPacked(t.lo, timeBits);
  const words: RadixWord[] = [];
  if (needTime) words.push({ key: t.lo, bits: t.hiBits > 0 ? 32 : t.loBits }, { key: t.hi, bits: t.hiBits });
  if (composite !== null) words.push({ key: composite.ranks, bits: keyBits });
  else for (let k = keys.length - 1; k >= 0; k--) words.push({ key: keys[k]!.ranks, bits: bitsOf(keys[k]!.max) });
  return radixSort(n, words);
}

/**
 * From a stable sort permutation (sortPermutation) of a batch in which later rows are newer
 * writes, the permutation with only the last row of each run of equal primary key
 * (key columns + time) kept: upsert semantics, last write wins.
 */
export function lastWinsUnique(
  batch: RecordBatch,
  permutation: Uint32Array,
  keyColumns: readonly string[],
  timeColumn: string,
): Uint32Array {
  const w = int64Words(timeColumnInt64(batch, timeColumn));
  const cmps = keyColumns.map((name) => rowComparator(column(batch, name), name));
  const m = permutation.length;
  const out = new Uint32Array(m);
  let kept = 0;
  for (let k = 0; k < m; k++) {
    const r = permutation[k]!;
    if (k + 1 < m) {
      const s = permutation[k + 1]!;
      if (w[2 * r] === w[2 * s] && w[2 * r + 1] === w[2 * s + 1]) {
        let same = true;
        for (let c = 0; c < cmps.length && same; c++) same = cmps[c]!(r, s) === 0;
        if (same) continue;
      }
    }
    out[kept++] = r;
  }
  return kept === m ? out : out.slice(0, kept);
}

/** Whether rows are in strictly increasing (key columns, time) order: sorted, no duplicate key. */
export function isSortedUnique(batch: RecordBatch, keyColumns: readonly string[], timeColumn: string): boolean {
  return isSorted(batch, keyColumns, timeColumn, true);
}

function isSorted(batch: RecordBatch, keyColumns: readonly string[], timeColumn: string, strict: boolean): boolean {
  const w = int64Words(timeColumnInt64(batch, timeColumn));
  const tie = strict ? 1 : 0;
  const cmps = keyColumns.map((name) => rowComparator(column(batch, name), name));
  for (let i = 1; i < batch.numRows; i++) {
    let c = 0;
    for (let k = 0; k < cmps.length && c === 0; k++) c = cmps[k]!(i - 1, i);
    if (c > 0) return false;
    if (c < 0) continue;
    const h0 = w[2 * i - 1]!;
    const h1 = w[2 * i + 1]!;
    if (h0 > h1 || (h0 === h1 && (w[2 * i - 2]! >>> 0) + tie > w[2 * i]! >>> 0)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Range search on sorted batches

/** Compares row i of a key column with a query value; null when the value cannot occur. */
function targetComparator(d: Data, name: string, target: string): ((i: number) => number) | null {
  const c = stringColumn(d);
  if (c !== null) {
    const tb = encoder.encode(target);
    return (i) => {
      const k = entryOf(c, i);
      return k < 0 ? -1 : compareBytes(c.bytes, c.offsets[k]!, c.offsets[k + 1]!, tb, 0, tb.length);
    };
  }
  const nulls = nullsOf(d);
  const isNull = (i: number) => nulls !== null && !getBit(nulls, d.offset + i);
  if (isInt64Like(d.type) || (DataType.isInt(d.type) && d.type.bitWidth === 32) || (DataType.isDate(d.type) && d.type.unit === DateUnit.DAY)) {
    if (!/^-?\d+$/.test(target.trim())) return null;
    const x = BigInt(target.trim());
    const v = fixedValues(d) as BigInt64Array | Int32Array;
    return (i) => {
      if (isNull(i)) return -1;
      const y = BigInt(v[i]!);
      return y < x ? -1 : y > x ? 1 : 0;
    };
  }
  throw new StorageError('INVALID_ARGUMENT', `key column "${name}" of type ${describeType(d.type)} cannot be filtered by symbols`);
}

/** First i in [lo, hi) with pred(i) false, for a predicate true on a prefix of the range. */
export function partitionPoint(lo: number, hi: number, pred: (i: number) => boolean): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(mid)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** End of the run of rows equal to row `start` (per `same`) within [start, end), by galloping. */
export function runEnd(start: number, end: number, same: (i: number, j: number) => boolean): number {
  let step = 1;
  let known = start;
  while (start + step < end && same(start, start + step)) {
    known = start + step;
    step *= 2;
  }
  return partitionPoint(known + 1, Math.min(start + step, end), (i) => same(start, i));
}

/**
 * For a batch sorted by (key columns, time): the ascending, non-overlapping row ranges whose first
 * key column is in `keys` (null = any) and whose time t satisfies start <= t < end (bounds in
 * epoch nanoseconds, null = open; compared exactly in the column's unit). Binary search per key and
 * per key run, so cost grows with the number of keys, not of rows.
 *
 * `keyColumn` may also be the full list of key columns (or null when there are none); with more
 * than one key column, time is only sorted within runs of the full key, which are then found by
 * galloping. Passing only the first of several key columns would search unsorted time.
 * `''` is read like null (no key column).
 */
export function sortedRangeForKeys(
  batch: RecordBatch,
  keyColumn: string | readonly string[] | null,
  keys: readonly string[] | null,
  timeColumn: string,
  startNs: bigint | null,
  endNs: bigint | null,
): RowRange[] {
  const n = batch.numRows;
  const keyCols = keyColumn === null || keyColumn === '' ? [] : typeof keyColumn === 'string' ? [keyColumn] : [...keyColumn];
  const td = timestampData(batch, timeColumn);
  const time = fixedValues(td) as BigInt64Array;
  const lo = startNs === null ? null : ceilFromNanoseconds(startNs, td.type.unit);
  const hi = endNs === null ? null : ceilFromNanoseconds(endNs, td.type.unit);
  if (n === 0 || (lo !== null && hi !== null && lo >= hi)) return [];

  let segments: RowRange[];
  if (keys === null) segments = [[0, n]];
  else {
    if (keyCols.length === 0) {
      throw new StorageError('INVALID_ARGUMENT', 'symbols filter given, but the dataset has no key column');
    }
    const first = column(batch, keyCols[0]!);
    segments = [];
    for (const key of keys) {
      const cmp = targetComparator(first, keyCols[0]!, key);
      if (cmp === null) continue;
      const s = partitionPoint(0, n, (i) => cmp(i) < 0);
      const e = partitionPoint(s, n, (i) => cmp(i) === 0);
      if (s < e) segments.push([s, e]);
    }
    segments.sort((a, b) => a[0] - b[0]);
  }
  if (lo === null && hi === null) return mergeRanges(segments);

  const runCols = keys === null ? keyCols : keyCols.slice(1);
  const cmps = runCols.map((name) => rowComparator(column(batch, name), name));
  const same = (i: number, j: number) => {
    for (const c of cmps) if (c(i, j) !== 0) return false;
    return true;
  };
  const out: RowRange[] = [];
  for (const [s0, e0] of segments) {
    let s = s0;
    while (s < e0) {
      const e = cmps.length === 0 ? e0 : runEnd(s, e0, same);
      const a = lo === null ? s : partitionPoint(s, e, (i) => time[i]! < lo);
      const b = hi === null ? e : partitionPoint(a, e, (i) => time[i]! < hi);
      if (a < b) out.push([a, b]);
      s = e;
    }
  }
  return mergeRanges(out);
}

function mergeRanges(ranges: readonly RowRange[]): RowRange[] {
  const out: RowRange[] = [];
  for (const [s, e] of ranges) {
    const last = out[out.length - 1];
    if (last !== undefined && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}
