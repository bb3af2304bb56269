import type { Schema } from 'apache-arrow';
import type { ReadQuery } from './read-query.js';

/** One endpoint's share of a query: the query pinned to a version, restricted to some partitions. */
export interface ReadSlice {
  query: ReadQuery & { asOf: number };
  /** Hive partition keys this slice reads; null = every partition the query selects. */
  partitions: string[] | null;
}

export interface PlannedEndpoint {
  slice: ReadSlice;
  rows: number;
  bytes: number;
}

export interface ReadPlan {
  /** Output schema, after projection (or resampling). */
  schema: Schema;
  version: number;
  endpoints: PlannedEndpoint[];
  /** Exact when no filter cuts through a file, else an estimate. */
  totalRecords: number;
  totalBytes: number;
  /** Whether reading the endpoints in order yields the whole result in key/time order. */
  ordered: boolean;
}
