/**
 * One committed version as the catalog stores it: `_catalog/v<20 digits>.json` holds what that
 * version changed, the files it added (each carrying `addedIn`, its version) and the paths of the
 * files it removed, plus the dataset's schema and settings when the version changed them (always
 * at version 0). A commit so writes bytes in proportion to its own change; a manifest is the
 * previous one with the record applied. Records of servers before the version log (`format: 1`)
 * hold the whole manifest instead, and are read as such.
 */
import { z } from 'zod';
import { fieldSpecSchema, PARTITION_SCHEMES, type FieldSpec } from '@flightdeck/contract';
import { StorageError } from '../errors.js';
import { fileEntrySchema, manifestSchema, OPERATIONS, type FileEntry, type Manifest } from '../manifest.js';

/** The schema and settings of a dataset: what a record carries when a version changes them. */
const datasetMetaSchema = z.object({
  name: z.string(),
  timeColumn: z.string(),
  keyColumns: z.array(z.string()),
  partition: z.enum(PARTITION_SCHEMES),
  fields: z.array(fieldSpecSchema).nullable(),
  addedColumns: z.array(z.string()),
  retention: z.string().nullable(),
});
type DatasetMeta = z.infer<typeof datasetMetaSchema>;

export const versionRecordSchema = z.object({
  format: z.literal(2),
  version: z.number().int().nonnegative(),
  committedAt: z.string(),
  operation: z.enum(OPERATIONS),
  /** Present when this version changed the schema or settings (and at version 0). */
  meta: datasetMetaSchema.optional(),
  added: z.array(fileEntrySchema),
  /** Paths (relative to the dataset directory) of the Parquet files this version removed. */
  removed: z.array(z.string()),
});
export type VersionRecord = z.infer<typeof versionRecordSchema>;

/** A version file as read: a record of the version log, or a whole manifest of the old format. */
export type VersionFile = { format: 2; record: VersionRecord } | { format: 1; manifest: Manifest };

/** What one commit changes; null from a builder means nothing changes (a no-op). */
export interface Change {
  operation: Manifest['operation'];
  added?: FileEntry[];
  removed?: ReadonlySet<string>;
  fields?: FieldSpec[];
  addedColumns?: string[];
  /** Undefined: unchanged; null: no retention. */
  retention?: string | null;
}

/** Files in partition order, then by first time; the order every manifest keeps. */
export function compareFiles(a: FileEntry, b: FileEntry): number {
  return a.partition === b.partition ? a.minTimeNs.localeCompare(b.minTimeNs) : a.partition.localeCompare(b.partition);
}

function metaOf(m: Manifest): DatasetMeta {
  return {
    name: m.name,
    timeColumn: m.timeColumn,
    keyColumns: m.keyColumns,
    partition: m.partition,
    fields: m.fields,
    addedColumns: m.addedColumns,
    retention: m.retention ?? null,
  };
}

function withFiles(prev: readonly FileEntry[], removed: ReadonlySet<string>, added: readonly FileEntry[]): FileEntry[] {
  return [...prev.filter((f) => !removed.has(f.path)), ...added].sort(compareFiles);
}

/** The manifest `change` makes of `base`: the next version. */
export function nextManifest(base: Manifest, change: Change, committedAt: string): Manifest {
  const version = base.version + 1;
  return {
    ...base,
    version,
    committedAt,
    operation: change.operation,
    fields: change.fields ?? base.fields,
    addedColumns: change.addedColumns ?? base.addedColumns,
    retention: change.retention !== undefined ? change.retention : (base.retention ?? null),
    // A file swapped for its encoded self keeps the version that added its rows.
    files: withFiles(base.files, change.removed ?? new Set(), (change.added ?? []).map((f) => ({ ...f, addedIn: f.addedIn ?? version }))),
  };
}

/** The record of `next`, made from `base` by `removed` (null base: version 0). */
export function recordOf(base: Manifest | null, next: Manifest, removed: ReadonlySet<string>): VersionRecord {
  const meta = metaOf(next);
  const metaChanged = base === null || JSON.stringify(metaOf(base)) !== JSON.stringify(meta);
  const basePaths = new Set(base?.files.map((f) => f.path) ?? []);
  return {
    format: 2,
    version: next.version,
    committedAt: next.committedAt,
    operation: next.operation,
    ...(metaChanged ? { meta } : {}),
    // A version that swaps a pending file for its encoded self removes and adds the same path.
    added: next.files.filter((f) => !basePaths.has(f.path) || removed.has(f.path)),
    removed: [...removed].filter((p) => basePaths.has(p)).sort(),
  };
}

/** The manifest a record makes of the previous version's (null: the record must be version 0's). */
export function applyRecord(prev: Manifest | null, r: VersionRecord): Manifest {
  if (prev !== null && prev.version !== r.version - 1) {
    throw new StorageError('INTERNAL', `version ${r.version} cannot follow version ${prev.version}`);
  }
  const meta = r.meta ?? (prev ? metaOf(prev) : null);
  if (meta === null) throw new StorageError('INTERNAL', `version ${r.version} records a change but no earlier version is readable`);
  const removed = new Set(r.removed);
  if (prev) {
    const live = new Set(prev.files.map((f) => f.path));
    const unknown = r.removed.find((p) => !live.has(p));
    if (unknown !== undefined) throw new StorageError('INTERNAL', `version ${r.version} removes "${unknown}", which version ${prev.version} does not hold`);
  }
  return {
    format: 1,
    ...meta,
    version: r.version,
    committedAt: r.committedAt,
    operation: r.operation,
    files: withFiles(prev?.files ?? [], removed, r.added),
  } as Manifest;
}

/** Parses a version file's JSON, of either format; INTERNAL naming `what` when it is neither. */
export function parseVersionFile(json: unknown, what: string): VersionFile {
  const format = (json as { format?: unknown } | null)?.format;
  if (format === 2) {
    const parsed = versionRecordSchema.safeParse(json);
    if (parsed.success) return { format: 2, record: parsed.data };
    throw new StorageError('INTERNAL', `${what} is corrupt: ${parsed.error.message}`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (parsed.success) return { format: 1, manifest: parsed.data as Manifest };
  throw new StorageError('INTERNAL', `${what} is corrupt: ${parsed.error.message}`);
}
