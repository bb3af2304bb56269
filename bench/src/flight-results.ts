/**
 * What the client workers answer (bench/client.py, src/node-client.ts) and what flightdeck's actions
 * return, as far as the scenarios read them.
 */
import type { Rep } from './stats.js';

export interface GetResult extends Rep {
  plan_seconds: number;
  first_batch_seconds: number | null;
  /** Summed over the endpoints: from each DoGet call to its first batch (0 for an endpoint with none). */
  endpoint_wait_seconds: number;
  batches: number;
  endpoints: number;
  total_records: number;
  total_bytes: number;
}

export interface PutResult extends Rep {
  result: unknown;
}

export interface PartitionInfo {
  key: string;
  files: number;
  rows: number;
  bytes: number;
}

export interface Describe {
  rows: number;
  bytes: number;
  version: number;
  partitions: PartitionInfo[];
}

export interface CacheStats {
  hits: number;
  misses: number;
  entries?: number;
  bytes?: number;
  capacityBytes?: number;
}

export type Descriptor = { path: string[] } | { cmd: object };
