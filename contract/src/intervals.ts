/** The resampling intervals of a query's `interval` and their widths. */
export const INTERVALS = ['1m', '5m', '15m', '30m', '1h', '4h', '1d', '1w'] as const;
export type Interval = (typeof INTERVALS)[number];

const MINUTE_NS = 60_000_000_000n;

export const INTERVAL_NS: Record<Interval, bigint> = {
  '1m': MINUTE_NS,
  '5m': 5n * MINUTE_NS,
  '15m': 15n * MINUTE_NS,
  '30m': 30n * MINUTE_NS,
  '1h': 60n * MINUTE_NS,
  '4h': 240n * MINUTE_NS,
  '1d': 1440n * MINUTE_NS,
  '1w': 7n * 1440n * MINUTE_NS,
};

export function isInterval(value: unknown): value is Interval {
  return typeof value === 'string' && (INTERVALS as readonly string[]).includes(value);
}

/** 1970-01-05, the first Monday after the epoch: weeks start on Mondays. */
const WEEK_ORIGIN_NS = 4n * INTERVAL_NS['1d'];

/** The start of the bucket holding `timeNs`: buckets are aligned to the Unix epoch in UTC, weeks to Monday 00:00. */
export function bucketStartNs(timeNs: bigint, interval: Interval): bigint {
  const width = INTERVAL_NS[interval];
  const origin = interval === '1w' ? WEEK_ORIGIN_NS : 0n;
  const shifted = timeNs - origin;
  let q = shifted / width;
  if (shifted % width !== 0n && shifted < 0n) q -= 1n;
  return q * width + origin;
}
