/**
 * Maintenance of a dataset's versions and files: compaction, vacuum, retention, delete_range,
 * schema evolution and drop, each a commit (store-commit.ts) or, for vacuum and drop, work under
 * the dataset's commit and maintenance locks; and the start of background maintenance (the
 * scheduler of compaction and retention checks, and the lease that says whether it runs).
 */
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { concatBatches } from './kernels/concat.js';
import { sortedRangeForKeys, type RowRange } from './kernels/search.js';
import { filterBatch } from './kernels/take-filter.js';
import { fsyncPath } from './catalog.js';
import { compactOverfullPartition, type CompactionTarget } from './maintenance/background-compaction.js';
import { MaintenanceScheduler } from './maintenance/maintenance-scheduler.js';
import { expiredFiles } from './maintenance/retention.js';
import { removeReleasedFiles } from './maintenance/unreferenced-files.js';
import { sortUnique } from './write/sort-unique.js';
import { DataFileWriter } from './write/data-file-writer.js';
import { manifestSchemaOf } from './dataset-spec.js';
import { StorageError } from './errors.js';
import { checkRetention, typeFromString, typeToString, type DatasetDescription, type FieldSpec } from '@flightdeck/contract';
import type { FileEntry } from './manifest.js';
import { describeManifest } from './dataset-description.js';
import type { StoreContext } from './store-context.js';
import { commit } from './store-commit.js';
import { sweep } from './store-recovery.js';

/** Rows one background merge may hold (and one merged file may have). */
const COMPACT_GROUP_ROWS = 1 << 20;
/** How often every dataset's retention is checked (besides after each commit). */
const RETENTION_CHECK_MS = 3600_000;

/**
 * Takes the catalog's maintenance lease and starts the scheduler of background compaction (of
 * `compaction`'s datasets, i.e. the store's) and retention checks, active while the lease is held.
 */
export function startMaintenance(ctx: StoreContext, compaction: CompactionTarget): void {
  const limits = { maxFiles: ctx.options.compactFiles ?? 0, maxGroupRows: COMPACT_GROUP_ROWS };
  const lease = ctx.catalogBackend.maintenanceLease();
  ctx.lease = lease;
  const scheduler = new MaintenanceScheduler(
    {
      datasetNames: () => [...ctx.catalogs.keys()],
      applyRetention: (name) => applyRetention(ctx, name),
      compactStep: (name) => ctx.maintenanceLocks.run(name, () => compactOverfullPartition(compaction, name, limits, ctx.log)),
    },
    ctx.log,
    { compaction: limits.maxFiles > 0, retentionCheckMs: RETENTION_CHECK_MS, active: lease.held },
  );
  ctx.scheduler = scheduler;
  lease.onChange((held) => scheduler.setActive(held));
  scheduler.start();
}

/**
 * Sets (or, with null, removes) the dataset's retention and removes the partitions already past
 * it, in one new version; nothing changes when the retention is the same and nothing expired.
 */
export async function setRetention(ctx: StoreContext, name: string, retention: string | null, nowMs = Date.now()): Promise<DatasetDescription> {
  checkRetention(retention);
  const next = await commit(ctx, name, async (base) => {
    const same = (base.retention ?? null) === retention;
    const expired = expiredFiles({ ...base, retention }, nowMs);
    if (same && expired.length === 0) return null;
    return { operation: same ? 'retention' : 'set_retention', retention, removed: new Set(expired.map((f) => f.path)) };
  });
  return describeManifest(next);
}

/** Removes the partitions past the dataset's retention (a new version); nothing without one. */
export async function applyRetention(ctx: StoreContext, name: string, nowMs = Date.now()): Promise<void> {
  if (!ctx.manifest(name).retention) return;
  await commit(ctx, name, async (base) => {
    const expired = expiredFiles(base, nowMs);
    return expired.length === 0 ? null : { operation: 'retention', removed: new Set(expired.map((f) => f.path)) };
  });
}

/** Deletes the rows whose first key is in `symbols` (all when null) and time in [start, end). */
export async function deleteRange(ctx: StoreContext, name: string, symbols: string[] | null, startNs: bigint | null, endNs: bigint | null): Promise<{ rows_deleted: number; version: number }> {
  let deleted = 0;
  const next = await commit(ctx, name, async (base, files) => {
    deleted = 0;
    if (symbols && base.keyColumns.length === 0) {
      throw new StorageError('INVALID_ARGUMENT', `field "symbols": dataset "${name}" has no key column to filter on`);
    }
    if (startNs !== null && endNs !== null && endNs < startNs) throw new StorageError('INVALID_ARGUMENT', 'field "end" is before field "start"');
    const schema = manifestSchemaOf(base);
    const removed = new Set<string>();
    const added: FileEntry[] = [];
    for (const f of base.files) {
      if (startNs !== null && BigInt(f.maxTimeNs) < startNs) continue;
      if (endNs !== null && BigInt(f.minTimeNs) >= endNs) continue;
      if (symbols && f.minKey !== null && f.maxKey !== null && !symbols.some((s) => s >= f.minKey! && s <= f.maxKey!)) continue;
      const batch = concatBatches(schema, await ctx.readFiles(base, [f], schema));
      // Only the first key column is filtered, so ranges come from it and time alone.
      const hit = sortedRangeForKeys(batch, base.keyColumns, symbols, base.timeColumn, startNs, endNs);
      const hitRows = hit.reduce((n, [s, e]) => n + e - s, 0);
      if (hitRows === 0) continue;
      deleted += hitRows;
      removed.add(f.path);
      if (hitRows < batch.numRows) added.push(await files.write(base, f.partition, filterBatch(batch, complement(hit, batch.numRows))));
    }
    return deleted === 0 ? null : { operation: 'delete_range', removed, added };
  });
  return { rows_deleted: deleted, version: next.version };
}

/** Merges each partition's files (or one partition's) into one sorted file. */
export async function compact(ctx: StoreContext, name: string, partition: string | null): Promise<{ files_before: number; files_after: number; version: number }> {
  let before = 0;
  let after = 0;
  const next = await commit(ctx, name, async (base, files) => {
    const scope = base.files.filter((f) => partition === null || f.partition === partition);
    if (partition !== null && scope.length === 0 && !base.files.some((f) => f.partition === partition)) {
      throw new StorageError('NOT_FOUND', `partition "${partition}" of dataset "${name}" holds no files`);
    }
    before = scope.length;
    after = before;
    const schema = manifestSchemaOf(base);
    const byPartition = new Map<string, FileEntry[]>();
    for (const f of scope) byPartition.set(f.partition, [...(byPartition.get(f.partition) ?? []), f]);
    const removed = new Set<string>();
    const writes: Promise<FileEntry>[] = [];
    for (const [key, group] of byPartition) {
      if (group.length < 2) continue;
      const merged = sortUnique(concatBatches(schema, await ctx.readFiles(base, group, schema)), base);
      writes.push(files.write(base, key, merged));
      group.forEach((f) => removed.add(f.path));
      after -= group.length - 1;
    }
    const added = await DataFileWriter.all(writes);
    return removed.size === 0 ? null : { operation: 'compact', removed, added };
  });
  return { files_before: before, files_after: after, version: next.version };
}

/** Adds nullable columns; files written before read them as null. */
export async function evolveSchema(ctx: StoreContext, name: string, add: FieldSpec[]): Promise<DatasetDescription> {
  const next = await commit(ctx, name, async (base) => {
    if (base.fields === null) {
      throw new StorageError('FAILED_PRECONDITION', `dataset "${name}" has no schema yet; its first DoPut or create_dataset fields fix it`);
    }
    const fresh = add.filter((f) => !base.fields!.some((g) => g.name === f.name));
    for (const f of add) {
      const existing = base.fields.find((g) => g.name === f.name);
      if (existing && existing.type !== typeToString(typeFromString(f.type))) {
        throw new StorageError('INVALID_ARGUMENT', `column "${f.name}" already exists as ${existing.type}, not ${f.type}`);
      }
      if (!f.nullable) throw new StorageError('INVALID_ARGUMENT', `column "${f.name}": added columns must be nullable`);
    }
    if (new Set(add.map((f) => f.name)).size !== add.length) throw new StorageError('INVALID_ARGUMENT', 'field "add" names a column twice');
    if (fresh.length === 0) return null;
    const fields = [...base.fields, ...fresh.map((f) => ({ name: f.name, type: typeToString(typeFromString(f.type)), nullable: true }))];
    return { operation: 'evolve_schema', fields, addedColumns: [...base.addedColumns, ...fresh.map((f) => f.name)] };
  });
  return describeManifest(next);
}

/**
 * Keeps the newest `retain` versions: the catalog drops older versions (after a checkpoint of
 * the oldest kept one), then every data file no retained version names goes. A crash in between
 * leaves files that start-up removes.
 */
export async function vacuum(ctx: StoreContext, name: string, retain: number): Promise<{ files_removed: number; bytes_freed: number; oldest_version: number }> {
  if (!Number.isInteger(retain) || retain < 1) throw new StorageError('INVALID_ARGUMENT', 'field "retain_versions" must be an integer >= 1');
  return ctx.maintenanceLocks.run(name, () => ctx.locks.run(name, async () => {
    const catalog = ctx.catalog(name);
    const dir = ctx.dataPrefix(name);
    const { oldest, released } = await catalog.vacuum(retain);
    const removed = [...(await removeReleasedFiles(ctx.files.store, dir, released)), ...(await sweep(ctx, dir, catalog))];
    const removedPaths = removed.map((r) => r.path);
    if (removedPaths.length > 0) ctx.cache.retire(dir, removedPaths);
    for (const p of removedPaths) {
      ctx.parquet.forget(join(dir, p));
      ctx.tier.forget(join(dir, p));
    }
    return { files_removed: removed.length, bytes_freed: removed.reduce((n, r) => n + r.bytes, 0), oldest_version: oldest };
  }));
}

/** Removes a dataset: renamed aside at once (atomic), then deleted. */
export async function drop(ctx: StoreContext, name: string): Promise<{ dropped: true }> {
  return ctx.maintenanceLocks.run(name, () => ctx.locks.run(name, async () => {
    await ctx.catalogBackend.dropDataset(name, ctx.catalog(name));
    const dir = ctx.datasetDir(name);
    const trash = join(ctx.options.dataDir, `.trash-${name}-${randomUUID()}`);
    try {
      await rename(dir, trash);
    } catch (e) {
      // With a shared catalog the drop is committed; a dataset that never got a file has no directory.
      if (!(ctx.catalogBackend.shared && (e as NodeJS.ErrnoException).code === 'ENOENT')) throw e;
    }
    await fsyncPath(ctx.options.dataDir);
    ctx.catalogs.delete(name);
    const prefix = ctx.dataPrefix(name);
    ctx.cache.retire(prefix, ['*']);
    ctx.parquet.forgetUnder(prefix);
    ctx.tier.forgetUnder(prefix);
    ctx.keys.forget(name);
    ctx.backfill?.forget(name);
    if (!ctx.files.store.local) await removeObjectsOf(ctx, name);
    ctx.commits.emit({ kind: 'drop', dataset: name });
    await rm(trash, { recursive: true, force: true });
    return { dropped: true as const };
  }));
}

/**
 * Deletes a dropped dataset's objects (DATA_URL). The drop is committed already: a store that
 * cannot be reached leaves them, and the sweep of a dataset created later under the name removes them.
 */
async function removeObjectsOf(ctx: StoreContext, name: string): Promise<void> {
  try {
    await ctx.files.store.delete((await ctx.files.store.list(`${name}/`)).map((o) => o.key));
  } catch (err) {
    ctx.log.warn({ err, dataset: name, store: ctx.files.store.description }, 'objects of a dropped dataset not deleted');
  }
}

/** The row ranges of [0, n) not covered by sorted, disjoint `ranges`. */
function complement(ranges: readonly RowRange[], n: number): RowRange[] {
  const out: RowRange[] = [];
  let at = 0;
  for (const [s, e] of ranges) {
    if (s > at) out.push([at, s]);
    at = e;
  }
  if (at < n) out.push([at, n]);
  return out;
}
