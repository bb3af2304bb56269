/**
 * UTF-8 byte strings and utf8 columns. Comparing bytes gives code-point order, the kernels' string
 * order (UTF-16 units would put '😀' U+1F600 before '～' U+FF5E).
 */
import type { Data, DataType } from 'apache-arrow';
import { mergedValidity } from './bitmap.js';
import { newData, utf8Bytes, utf8Offsets } from './column-data.js';

export function compareBytes(a: Uint8Array, as: number, ae: number, b: Uint8Array, bs: number, be: number): number {
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

export function bytesEqual(a: Uint8Array, as: number, ae: number, b: Uint8Array, bs: number, be: number): boolean {
  if (ae - as !== be - bs) return false;
  for (let k = 0; k < ae - as; k++) if (a[as + k] !== b[bs + k]) return false;
  return true;
}

/** One utf8 column holding the rows of `parts` in order, offsets rebased. */
export function concatUtf8(type: DataType, parts: readonly Data[]): Data {
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
