/** A dataset's `partition`: its rows are split by the time column, in UTC, into these periods. */
export const PARTITION_SCHEMES = ['hour', 'day', 'month', 'year'] as const;
export type PartitionScheme = (typeof PARTITION_SCHEMES)[number];

export function isPartitionScheme(value: unknown): value is PartitionScheme {
  return typeof value === 'string' && (PARTITION_SCHEMES as readonly string[]).includes(value);
}
