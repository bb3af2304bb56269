/**
 * The JSON the contract fixes for Flight actions and queries (shared/CONTRACT.md, Actions and
 * Descriptors), typed once for every client written here: the facade, the SDK and the CLI.
 */

/** A column as `create_dataset`, `describe_dataset` and `evolve_schema` spell it. */
export interface FieldSpec {
  name: string;
  /** `utf8`, `dictionary<utf8>`, `bool`, `int32`, `int64`, `float32`, `float64`, `timestamp[s|ms|us|ns, UTC]`, `date32`. */
  type: string;
  nullable: boolean;
}

/** `describe_dataset`'s answer. */
export interface DatasetDescription {
  name: string;
  schema: FieldSpec[];
  time_column: string;
  key_columns: string[];
  partition: string;
  version: number;
  rows: number;
  bytes: number;
  partitions: { key: string; files: number; rows: number; bytes: number; min_time: string; max_time: string }[];
}

/** The query JSON of a CMD descriptor or a ticket. */
export interface FlightQuery {
  dataset: string;
  symbols?: string[];
  /** Inclusive; ISO-8601 or integer epoch nanoseconds. */
  start?: string;
  /** Exclusive. */
  end?: string;
  columns?: string[];
  limit?: number;
  interval?: string;
  as_of?: number;
}
