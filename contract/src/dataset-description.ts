/** Datasets as actions describe them: field specs and `describe_dataset`'s answer. */
import { z } from 'zod';

/** A dataset name: `^[a-z][a-z0-9_]{0,62}$`. */
export const DATASET_NAME = /^[a-z][a-z0-9_]{0,62}$/;

/** A column as `create_dataset`, `describe_dataset` and `evolve_schema` spell it. */
export const fieldSpecSchema = z.strictObject({
  name: z.string(),
  /** `utf8`, `dictionary<utf8>`, `bool`, `int32`, `int64`, `float32`, `float64`, `timestamp[s|ms|us|ns, UTC]`, `date32`. */
  type: z.string(),
  nullable: z.boolean(),
});
export type FieldSpec = z.infer<typeof fieldSpecSchema>;

export interface PartitionDescription {
  /** The Hive path, e.g. `date=2024-01-02/hour=13`. */
  key: string;
  files: number;
  rows: number;
  bytes: number;
  /** ISO-8601 UTC. */
  min_time: string;
  max_time: string;
}

/** `describe_dataset`'s answer (and `create_dataset`'s, `evolve_schema`'s). */
export interface DatasetDescription {
  name: string;
  schema: FieldSpec[];
  time_column: string;
  key_columns: string[];
  partition: string;
  version: number;
  rows: number;
  bytes: number;
  partitions: PartitionDescription[];
  /** Present when the dataset has a retention (`create_dataset`, `set_retention`): `"400d"`, `"26w"`, `"10y"`. */
  retention?: string;
}

/** One data file of a version, as `list_files` answers: `url` is absolute (`file:///…`). */
export interface ListedFile {
  url: string;
  partition: string;
  rows: number;
  bytes: number;
}
