/**
 * sortPermutation: the stable (key columns, time) order of a batch's rows, found by LSD radix sorts
 * over dense key ranks (ranks.ts) and a compacted time key (time-key.ts) instead of comparisons.
 */
import type { RecordBatch } from 'apache-arrow';
import { column, int64Words } from './column-data.js';
import { columnRanks, type DenseRanks } from './ranks.js';
import { rowComparator } from './row-compare.js';
import { timeColumnInt64 } from './time-column.js';
import { bitsOf, timeKey } from './time-key.js';

const RADIX_BITS = 11;
const RADIX_MASK = (1 << RADIX_BITS) - 1;

interface RadixWord {
  key: Uint32Array;
  bits: number;
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

/** Whether, for every key, its rows appear in non-decreasing time order (raw int64 times, as words). */
function timeOrderedPerKey(key: DenseRanks, times: BigInt64Array, n: number): boolean {
  const w = int64Words(times);
  const k = key.max + 1;
  const lastHi = new Int32Array(k).fill(-0x80000000);
  const lastLo = new Uint32Array(k);
  for (let i = 0; i < n; i++) {
    const r = key.ranks[i]!;
    const hi = w[2 * i + 1]!;
    const lo = w[2 * i]! >>> 0;
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
  const times = timeColumnInt64(batch, timeColumn);
  const composite = keys.length > 0 ? compositeRanks(keys, n) : null;
  // The order check reads the raw times: the time key (two passes, two arrays) only when it is needed.
  const t = composite !== null && timeOrderedPerKey(composite, times, n) ? null : timeKey(times);
  const timeBits = t === null ? 0 : t.hiBits > 0 ? 32 + t.hiBits : t.loBits;
  const keyBits = composite === null ? 0 : bitsOf(composite.max);
  if (composite !== null && timeBits + keyBits <= 32) {
    const packed = new Uint32Array(n);
    const r = composite.ranks;
    if (t === null || timeBits === 0) packed.set(r);
    else for (let i = 0; i < n; i++) packed[i] = ((r[i]! << timeBits) | t.lo[i]!) >>> 0;
    return radixSortPacked(packed, timeBits + keyBits);
  }
  if (t !== null && composite === null && keys.length === 0 && timeBits <= 32) return radixSortPacked(t.lo, timeBits);
  const words: RadixWord[] = [];
  if (t !== null) words.push({ key: t.lo, bits: t.hiBits > 0 ? 32 : t.loBits }, { key: t.hi, bits: t.hiBits });
  if (composite !== null) words.push({ key: composite.ranks, bits: keyBits });
  else for (let k = keys.length - 1; k >= 0; k--) words.push({ key: keys[k]!.ranks, bits: bitsOf(keys[k]!.max) });
  return radixSort(n, words);
}

/** Whether rows are in (key columns, time) order; `strict` also rejects equal (key, time) neighbours. */
export function isSorted(batch: RecordBatch, keyColumns: readonly string[], timeColumn: string, strict: boolean): boolean {
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
