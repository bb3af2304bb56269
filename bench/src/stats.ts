/** Medians with min–max, percentiles, and the per-repetition rates the tables are built from. */

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function summarize(values: readonly number[]): Summary {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const sorted = [...finite].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, n: sorted.length };
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** One timed repetition: how long, how many rows and Arrow bytes moved, plus what else was seen. */
export interface Rep {
  seconds: number;
  rows: number;
  bytes: number;
  [extra: string]: unknown;
}

export interface Rates {
  seconds: Summary;
  gbps: Summary;
  rowsPerSec: Summary;
}

export function ratesOf(reps: readonly Rep[]): Rates {
  return {
    seconds: summarize(reps.map((r) => r.seconds)),
    gbps: summarize(reps.map((r) => r.bytes / r.seconds / 1e9)),
    rowsPerSec: summarize(reps.map((r) => r.rows / r.seconds)),
  };
}
