/**
 * Arrow bitmaps, for validity and for Bool values: bit i is bit (i % 8) of byte (i / 8), 1 = valid
 * or true. A sliced Data keeps its `offset` for these (arrow-js `_sliceBuffers`), so read bit
 * `d.offset + i` for row i.
 */
import type { Data } from 'apache-arrow';

/** Bytes of a bitmap of `n` bits, rounded up to whole 64-bit words. */
export function bitmapBytes(n: number): number {
  return ((n + 63) & ~63) >> 3;
}

export function getBit(bm: Uint8Array, i: number): number {
  return (bm[i >> 3]! >> (i & 7)) & 1;
}

export function setBit(bm: Uint8Array, i: number): void {
  bm[i >> 3] = bm[i >> 3]! | (1 << (i & 7));
}

/** The validity bitmap of `d` if it has nulls (index it with `d.offset + i`), else null. */
export function nullsOf(d: Data): Uint8Array | null {
  return d.nullCount > 0 && d.nullBitmap !== undefined && d.nullBitmap.length > 0 ? d.nullBitmap : null;
}

/** Sets bits [dstPos, dstPos+len) of a zeroed `dst` from bits [srcPos, srcPos+len) of `src`. */
export function copyBits(dst: Uint8Array, dstPos: number, src: Uint8Array, srcPos: number, len: number): void {
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

/** An unsliced copy of the validity of `d` (no bitmap when it has no nulls). */
export function validityCopy(d: Data): { bitmap: Uint8Array | undefined; nullCount: number } {
  const nulls = nullsOf(d);
  if (nulls === null) return { bitmap: undefined, nullCount: 0 };
  const bitmap = new Uint8Array(bitmapBytes(d.length));
  copyBits(bitmap, 0, nulls, d.offset, d.length);
  return { bitmap, nullCount: d.nullCount };
}

/** The validity of `parts` laid end to end (no bitmap when none of them has nulls). */
export function mergedValidity(parts: readonly Data[], total: number): { bitmap: Uint8Array | undefined; nullCount: number } {
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
