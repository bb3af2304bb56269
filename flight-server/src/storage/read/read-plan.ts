import type { RecordBatch, Schema } from 'apache-arrow';
import type { ReadQuery } from '@flightdeck/contract';

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

/**
 * One endpoint's rows, ordered by key columns then time: record batches, or (when no row needs
 * filtering, merging or reordering) Arrow IPC streams read from the files, whose dictionary and
 * record batch messages can be sent as they are under `schema`. Nothing is read until the
 * generator is pulled.
 */
export type SliceData = (
  | { kind: 'batches'; schema: Schema; batches: AsyncGenerator<RecordBatch> }
  | { kind: 'ipc'; schema: Schema; streams: AsyncGenerator<Uint8Array> }
) & {
  /** Decoded bytes the read holds at most at any time (its files' windows and the rows merged from them). */
  memoryBytes: number;
  /** Decoded bytes of all the rows it returns, estimated from the manifest. */
  estimatedBytes: number;
};
