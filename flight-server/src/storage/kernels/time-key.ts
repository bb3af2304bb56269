/**
 * Timestamps as a radix-sort key: (value - minimum) / common divisor in two unsigned 32-bit words,
 * in the order of the values but with far fewer significant bits, so fewer radix passes.
 */
import { int64ExtremeRows, int64Words } from './column-data.js';

/** Significant bits of an unsigned 32-bit value: the bits a radix sort over it must cover. */
export function bitsOf(x: number): number {
  return 32 - Math.clz32(x);
}

export interface TimeKey {
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

/** The TimeKey of raw int64 time values. */
export function timeKey(values: BigInt64Array): TimeKey {
  const n = values.length;
  const w = int64Words(values);
  const [minRow] = int64ExtremeRows(values);
  const minHi = n === 0 ? 0 : w[2 * minRow + 1]!;
  const minLo = n === 0 ? 0 : w[2 * minRow]! >>> 0;
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
