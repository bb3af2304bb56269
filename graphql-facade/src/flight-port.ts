/**
 * What the facade needs of a Flight client: the subset of `FlightClient` it calls. Tests pass a
 * wrapper that counts calls; production passes a `FlightClient`.
 */
import type { FlightClient } from '@flightdeck/proto';

export type FlightPort = Pick<FlightClient, 'readTable' | 'doActionJson' | 'listFlights'>;

/** describe_dataset's answer (shared/CONTRACT.md, Actions). */
export interface DatasetDescription {
  name: string;
  schema: { name: string; type: string; nullable: boolean }[];
  time_column: string;
  key_columns: string[];
  partition: string;
  version: number;
  rows: number;
  bytes: number;
  partitions: { key: string; files: number; rows: number; bytes: number; min_time: string; max_time: string }[];
}

/** The query JSON of a CMD descriptor or ticket (shared/CONTRACT.md, Descriptors). */
export interface FlightQuery {
  dataset: string;
  symbols?: string[];
  start?: string;
  end?: string;
  columns?: string[];
  limit?: number;
  interval?: string;
}
