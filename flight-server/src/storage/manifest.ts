/**
 * A dataset version's manifest: everything a reader needs to see that version whole: the schema,
 * the partition scheme and every live file with its statistics. Manifests are immutable; the
 * catalog (catalog/) stores each version as the change it made and rebuilds manifests from a
 * checkpoint plus those changes. `format: 1` is also how servers before the version log stored
 * every version whole (`_catalog/v<20 digits>.json`), which the catalog still reads.
 */
import { z } from 'zod';
import { fieldSpecSchema, PARTITION_SCHEMES } from '@flightdeck/contract';

const nsString = z.string().regex(/^-?\d+$/);

/** The folder, inside a dataset directory, of the IPC tier's Arrow copies of Parquet files. */
export const IPC_TIER_DIR = '_ipc';

/** Where the IPC tier keeps the copy of a Parquet file (both relative to the dataset directory). */
export function ipcCopyPath(parquetPath: string): string {
  return `${IPC_TIER_DIR}/${parquetPath.replace(/\.parquet$/, '.arrows')}`;
}

export const rowGroupStatsSchema = z.object({
  rows: z.number().int().nonnegative(),
  minTimeNs: nsString,
  maxTimeNs: nsString,
  /** First key column's smallest and largest value, when that column is a string. */
  minKey: z.string().nullable(),
  maxKey: z.string().nullable(),
});
export type RowGroupStats = z.infer<typeof rowGroupStatsSchema>;

export const fileEntrySchema = z.object({
  /** Relative to the dataset directory, e.g. `date=2024-01-02/part-....parquet`. */
  path: z.string(),
  partition: z.string(),
  rows: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  minTimeNs: nsString,
  maxTimeNs: nsString,
  minKey: z.string().nullable(),
  maxKey: z.string().nullable(),
  /** Columns the file holds; columns added later by evolve_schema read as null. */
  columns: z.array(z.string()),
  rowGroups: z.array(rowGroupStatsSchema),
  /**
   * The same rows as an uncompressed Arrow IPC stream under `_ipc/` (ignored by pyarrow.dataset
   * and by `*.parquet` globs): a full read sends its messages as they are, decoding nothing.
   */
  ipc: z.object({ path: z.string(), bytes: z.number().int().nonnegative() }).nullable().optional(),
  /** The version that added the file (absent in manifests written before the version log). */
  addedIn: z.number().int().nonnegative().optional(),
  /**
   * Set when the version that added the file was acknowledged with only its IPC copy durable: the
   * Parquet file at `path` is encoded in the background (write/parquet-backfill.ts), and a later
   * version swaps the entry for the same one without the marker and with the Parquet size (while
   * set, `bytes` is the IPC copy's size). Absent: the Parquet file exists.
   */
  pending: z.literal(true).optional(),
});
export type FileEntry = z.infer<typeof fileEntrySchema>;

/** Whether only the file's IPC copy exists yet (its Parquet file is still being encoded). */
export function isPending(f: Pick<FileEntry, 'pending'>): boolean {
  return f.pending === true;
}

/** What made a version; `retention` is a partition leaving by the dataset's retention. */
export const OPERATIONS = ['create', 'put', 'delete_range', 'compact', 'evolve_schema', 'set_retention', 'retention'] as const;

export const manifestSchema = z.object({
  format: z.literal(1),
  name: z.string(),
  version: z.number().int().nonnegative(),
  committedAt: z.string(),
  operation: z.enum(OPERATIONS),
  timeColumn: z.string(),
  keyColumns: z.array(z.string()),
  partition: z.enum(PARTITION_SCHEMES),
  /** Null until the first DoPut fixes the schema of a dataset created without fields. */
  fields: z.array(fieldSpecSchema).nullable(),
  /** Columns added by evolve_schema, which a DoPut may omit. */
  addedColumns: z.array(z.string()),
  /** `"400d"`, `"26w"`, `"10y"`: partitions wholly older than now - retention leave; null or absent: none. */
  retention: z.string().nullable().optional(),
  files: z.array(fileEntrySchema),
});
export type Manifest = z.infer<typeof manifestSchema> & { partition: 'hour' | 'day' | 'month' | 'year' };

export function manifestRows(m: Manifest): number {
  return m.files.reduce((sum, f) => sum + f.rows, 0);
}

export function manifestBytes(m: Manifest): number {
  return m.files.reduce((sum, f) => sum + f.bytes, 0);
}
