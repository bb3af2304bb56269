/**
 * What the client workers answer (bench/client.py, src/node-client.ts) and what flightdeck's actions
 * return, as far as the scenarios read them.
 */
import { summarize, type Rep } from './stats.js';

export interface GetResult extends Rep {
  plan_seconds: number;
  first_batch_seconds: number | null;
  /** Summed over the endpoints: from each DoGet call to its first batch (0 for an endpoint with none). */
  endpoint_wait_seconds: number;
  batches: number;
  endpoints: number;
  total_records: number;
  total_bytes: number;
  /** CPU seconds the client process spent on this read (all its threads). */
  client_cpu_seconds?: number;
  /** CPU seconds the server spent meanwhile, where the caller named its pid. */
  server_cpu_seconds?: number;
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

/**
 * Where a scan's time went, per side: the server's and the client's CPU seconds beside the scan's
 * wall seconds (medians). A side whose client CPU comes near its scan time is bound by the client;
 * one whose server and client both sit well under it waits on something else (the network, I/O).
 */
export function cpuPerScanNote(sides: readonly (readonly [who: string, reps: readonly GetResult[]])[]): string {
  const median = (xs: (number | undefined)[]) => {
    const known = xs.filter((x): x is number => x !== undefined && Number.isFinite(x));
    return known.length === 0 ? 'not measured' : `${summarize(known).median.toFixed(2)} s`;
  };
  const parts = sides.map(
    ([who, reps]) =>
      `${who}: server ${median(reps.map((r) => r.server_cpu_seconds))}, client ${median(reps.map((r) => r.client_cpu_seconds))}, scan ${median(reps.map((r) => r.seconds))}`,
  );
  return `CPU per scan (user + system, medians) beside the scan's wall time — ${parts.join('; ')}.`;
}
