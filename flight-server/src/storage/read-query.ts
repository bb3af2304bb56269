/** A validated read request, as the storage engine takes it (the JSON form lives in the service layer). */
export const INTERVALS = ['1m', '5m', '15m', '30m', '1h', '4h', '1d', '1w'] as const;
export type Interval = (typeof INTERVALS)[number];

export interface ReadQuery {
  dataset: string;
  /** Filter on the first key column; null = every key. */
  symbols: string[] | null;
  /** Inclusive start and exclusive end, nanoseconds since the epoch (UTC). */
  startNs: bigint | null;
  endNs: bigint | null;
  /** Projection in the caller's order; null = every column. */
  columns: string[] | null;
  limit: number | null;
  interval: Interval | null;
  /** Committed version to read; null = the current one. */
  asOf: number | null;
}

export function wholeDataset(dataset: string): ReadQuery {
  return { dataset, symbols: null, startNs: null, endNs: null, columns: null, limit: null, interval: null, asOf: null };
}
