/**
 * Dense ranks of column values in the kernels' order (row-compare.ts): equal values share a rank,
 * null ranks 0. Sorting small integer ranks by radix replaces comparing strings and int64 values.
 */
import { DataType, DateUnit, type Data } from 'apache-arrow';
import { getBit, nullsOf } from './bitmap.js';
import { ByteInterner } from './byte-interner.js';
import { EMPTY_BYTES, fixedValues, indexArray, int64Words, isDictionary, isInt64Like, unsupported, utf8Bytes, utf8Offsets } from './column-data.js';
import { dictionaryValues } from './dictionary.js';
import { stringColumn } from './string-column.js';
import { bytesEqual, compareBytes } from './utf8.js';

export interface DenseRanks {
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
export function dictionaryRanks(dict: Data): DenseRanks {
  let r = dictionaryRankCache.get(dict);
  if (!r) {
    const nulls = nullsOf(dict);
    const off = dict.offset;
    r = rankStrings(utf8Bytes(dict), utf8Offsets(dict), dict.length, nulls === null ? null : (k) => !getBit(nulls, off + k));
    dictionaryRankCache.set(dict, r);
  }
  return r;
}

/** Dense ranks of a column's rows (0 = null); a key column of another type throws INVALID_ARGUMENT. */
export function columnRanks(d: Data, name: string): DenseRanks {
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
