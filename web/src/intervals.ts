/**
 * The chart's intervals: the contract's resampling intervals (`@flightdeck/contract` INTERVALS; the
 * page keeps its own copy so the browser bundle carries none of the contract's Node-side code, and
 * test/src/explorer-browser.test.ts checks the two lists agree). Buckets are aligned to the Unix
 * epoch in UTC, weeks to Monday 00:00, as the server resamples.
 */
export const INTERVALS = ['1m', '5m', '15m', '30m', '1h', '4h', '1d', '1w'] as const;
export type Interval = (typeof INTERVALS)[number];

const MINUTE_MS = 60_000;
export const INTERVAL_MS: Record<Interval, number> = {
  '1m': MINUTE_MS,
  '5m': 5 * MINUTE_MS,
  '15m': 15 * MINUTE_MS,
  '30m': 30 * MINUTE_MS,
  '1h': 60 * MINUTE_MS,
  '4h': 240 * MINUTE_MS,
  '1d': 1440 * MINUTE_MS,
  '1w': 7 * 1440 * MINUTE_MS,
};
/** 1970-01-05, the first Monday after the epoch. */
const WEEK_ORIGIN_MS = 4 * INTERVAL_MS['1d'];

export function isInterval(value: unknown): value is Interval {
  return typeof value === 'string' && (INTERVALS as readonly string[]).includes(value);
}

/** The start of the bucket holding `timeMs`. */
export function bucketStartMs(timeMs: number, interval: Interval): number {
  const width = INTERVAL_MS[interval];
  const origin = interval === '1w' ? WEEK_ORIGIN_MS : 0;
  return Math.floor((timeMs - origin) / width) * width + origin;
}

/** The finest interval that does not split the data's own spacing (the smallest gap between its first rows). */
export function intervalForSpacing(spacingMs: number | undefined): Interval {
  if (spacingMs === undefined || !(spacingMs > 0)) return '1d';
  let chosen: Interval = '1m';
  for (const interval of INTERVALS) if (INTERVAL_MS[interval] <= spacingMs) chosen = interval;
  return chosen;
}
