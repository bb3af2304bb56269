/**
 * What every input reader of one `put` shares: the dataset's roles, its schema (fixed by the
 * dataset, or by the first file when the dataset has none yet; all later files must conform),
 * `--schema` types, and how to read epoch numbers.
 */
import type { DataType, Schema } from 'apache-arrow';
import type { DatasetRoles, EpochUnit } from '../sdk/index.js';

export interface PutPlan {
  roles: DatasetRoles;
  /** The wire schema the stream is sent in; null until the first file fixes it. */
  schema: Schema | null;
  overrides: ReadonlyMap<string, DataType>;
  epochUnit: EpochUnit;
  batchRows: number;
  /** CSV field delimiter (default `,`; `\t` for .tsv). */
  delimiter?: string;
}

/** Reports the bytes of the current file read so far (for progress). */
export type BytesRead = (bytes: number) => void;
