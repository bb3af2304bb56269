/**
 * Committing new versions: the commit loop every change goes through (under the dataset's commit
 * lock, retried when another process's writer wins the race on a shared catalog), and the DoPut
 * that builds a version by merge-on-write: its rows replace any stored row with the same primary
 * key by rewriting just the files whose key and time ranges overlap the new rows.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import { concatBatches } from './kernels/concat.js';
import { conformBatch } from './kernels/conform.js';
import type { RowRange } from './kernels/search.js';
import { CatalogUnavailable, CommitConflict } from './catalog/catalog-backend.js';
import type { Change } from './catalog/version-record.js';
import { sortUnique, sortUniqueFrom } from './write/sort-unique.js';
import { DataFileWriter } from './write/data-file-writer.js';
import { checkSchemaRoles, fieldsFromSchema, manifestSchemaOf, schemaFromFields } from './dataset-spec.js';
import { StorageError } from './errors.js';
import { describeSchemaMismatch } from '@flightdeck/contract';
import { IngestBuffer } from './write/ingest.js';
import type { FileEntry, Manifest } from './manifest.js';
import { rowGroupStats } from './io/parquet-io.js';
import { announce, type StoreChange, type StoreContext } from './store-context.js';
import { syncDataset } from './store-recovery.js';

/** Attempts of one commit that loses races to writers of other processes (shared catalog) before ABORTED. */
const COMMIT_ATTEMPTS = 32;

export interface PutOutcome {
  rows: number;
  version: number;
  partitions: string[];
}

/**
 * Runs `build` under the dataset's commit lock against the current version and commits what
 * it returns as the next version. Files it wrote are removed if anything fails before the
 * commit; a null change commits nothing (and removes `prepared`'s files) and returns the
 * current version.
 */
export function commit(
  ctx: StoreContext,
  name: string,
  build: (base: Manifest, files: DataFileWriter) => Promise<StoreChange | null>,
  signal?: AbortSignal,
  prepared?: DataFileWriter,
): Promise<Manifest> {
  return ctx.locks.run(name, async () => {
    for (let attempt = 1; ; attempt++) {
      const catalog = ctx.catalog(name);
      const base = catalog.current;
      const files = prepared ?? newFileWriter(ctx, name);
      try {
        const change = await build(base, files);
        if (!change) {
          await files.discard();
          return base;
        }
        await files.sync();
        const removed = change.removed ?? new Set<string>();
        if (signal?.aborted) throw new StorageError('ABORTED', 'the stream was cancelled before its commit; nothing was committed');
        const next = await catalog.commit(withSwaps(ctx, name, base, change), base.version);
        ctx.backfill?.committed(name, next);
        if (removed.size > 0) ctx.cache.retire(ctx.dataPrefix(name), [...removed]);
        announce(ctx, name, next, change);
        ctx.scheduler?.afterCommit(name);
        return next;
      } catch (e) {
        // A commit whose outcome is unknown keeps its files: the version may exist.
        if (e instanceof CatalogUnavailable && e.outcomeUnknown) {
          void syncDataset(ctx, name);
          throw e;
        }
        // Lost a race to another process's writer: re-plan on the newer version (prepared files are planned again by `build`).
        const retry = e instanceof CommitConflict && ctx.catalogBackend.shared && attempt < (ctx.options.commitAttempts ?? COMMIT_ATTEMPTS) && !signal?.aborted;
        if (!retry || !prepared) await files.discard();
        if (!retry) {
          if (e instanceof CommitConflict && ctx.catalogBackend.shared) {
            throw new StorageError('ABORTED', `commit to dataset "${name}" lost the race for its next version ${attempt} times to other writers; nothing was committed, retry`);
          }
          throw e;
        }
        ctx.log.info({ dataset: name, version: base.version + 1, attempt }, 'commit lost the race for its version to another process; re-planning on the newer version');
        await syncDataset(ctx, name);
        await new Promise((r) => setTimeout(r, Math.random() * 5 * Math.min(attempt, 10)));
      }
    }
  });
}

/** `change` plus the swap of the base's pending files whose Parquet is written since (write-ahead ingest). */
function withSwaps(ctx: StoreContext, name: string, base: Manifest, change: StoreChange): StoreChange {
  const swaps = ctx.backfill?.swapsFor(name, base, change.removed);
  if (!swaps || swaps.added.length === 0) return change;
  return { ...change, removed: new Set([...(change.removed ?? []), ...swaps.removed]), added: [...(change.added ?? []), ...swaps.added] };
}

/**
 * Commits a DoPut stream as one new version, or nothing. The schema is the stream's; it must
 * match the dataset's (or fixes it when the dataset has none yet).
 */
export async function put(ctx: StoreContext, name: string, schema: Schema, batches: AsyncIterable<RecordBatch>, signal?: AbortSignal): Promise<PutOutcome> {
  if (ctx.deferParquet) {
    ctx.manifest(name); // NOT_FOUND before any wait
    // Back-pressure: the stream is not read while the encoder is too far behind.
    await ctx.backfill!.admit(signal);
  }
  const before = ctx.manifest(name);
  const target = targetSchema(before, schema);
  const buffer = new IngestBuffer(target, before, { maxStreamBytes: ctx.options.maxPutBytes });
  for await (const batch of batches) buffer.add(batch);

  const next = await commit(
    ctx,
    name,
    async (base, files) => {
      // Another stream may have fixed the schema while this one was arriving.
      const schemaNow = before.fields === null && base.fields !== null ? targetSchema(base, schema) : target;
      if (buffer.rows === 0 && base.fields !== null) return null;
      const removed = new Set<string>();
      const writes: Promise<FileEntry>[] = [];
      const written = new Map<string, readonly RowRange[]>();
      for (const [key, part] of [...buffer.partitions].sort(([a], [b]) => a.localeCompare(b))) {
        const incoming = sortUnique(concatBatches(schemaNow, part.batches.map((b) => conformBatch(b, schemaNow))), base);
        const overlapping = overlappingFiles(base, key, incoming);
        let merged = incoming;
        let newRows: RowRange[] | null = null;
        if (overlapping.length > 0) {
          // Stored rows first, new rows last: the stable sort then keeps the new row of each key.
          const stored = await ctx.readFiles(base, overlapping, schemaNow);
          const all = concatBatches(schemaNow, [...stored, incoming]);
          ({ batch: merged, fromRows: newRows } = sortUniqueFrom(all, base, all.numRows - incoming.numRows));
          overlapping.forEach((f) => removed.add(f.path));
        }
        // Encoding runs in worker threads: the next partition is merged meanwhile.
        const rows = newRows;
        writes.push(
          files.write(base, key, merged, { deferParquet: ctx.deferParquet }).then((entry) => {
            if (rows) written.set(entry.path, rows);
            return entry;
          }),
        );
      }
      const added = await DataFileWriter.all(writes);
      return { operation: 'put', added, removed, written, fields: base.fields ?? fieldsFromSchema(schemaNow, base) };
    },
    signal,
  );
  if (ctx.deferParquet) ctx.backfill!.enqueue(name, next, next.files.filter((f) => f.addedIn === next.version));
  return { rows: buffer.rows, version: next.version, partitions: [...buffer.partitions.keys()].sort() };
}

function targetSchema(m: Manifest, incoming: Schema): Schema {
  if (m.fields === null) {
    checkSchemaRoles(incoming, m.timeColumn, m.keyColumns, `DoPut schema for dataset "${m.name}"`);
    return schemaFromFields(fieldsFromSchema(incoming, m), m);
  }
  const expected = manifestSchemaOf(m);
  const mismatch = describeSchemaMismatch(expected, incoming, { optionalTrailing: new Set(m.addedColumns) });
  if (mismatch) throw new StorageError('INVALID_ARGUMENT', `DoPut schema does not match dataset "${m.name}": ${mismatch}`);
  return expected;
}

/** A writer of new data files of `name` (background compaction writes outside the commit lock). */
export function newFileWriter(ctx: StoreContext, name: string): DataFileWriter {
  return new DataFileWriter(ctx.files, ctx.dataPrefix(name), ctx.options.rowGroupRows, ctx.options.ipcTier ? ctx.options.outputBatchRows : 0, ctx.encoder);
}

/**
 * Commits files written outside the commit lock when `change`, given the version current at
 * commit time, accepts them; otherwise removes them and answers null.
 */
export async function commitPrepared(ctx: StoreContext, name: string, files: DataFileWriter, change: (current: Manifest) => Change | null): Promise<Manifest | null> {
  let accepted = false;
  const next = await commit(
    ctx,
    name,
    async (base) => {
      const c = change(base);
      accepted = c !== null;
      return c;
    },
    undefined,
    files,
  );
  return accepted ? next : null;
}

/** Stored files of a partition whose time and first-key ranges overlap a sorted batch's. */
function overlappingFiles(m: Manifest, partition: string, batch: RecordBatch): FileEntry[] {
  const [g] = rowGroupStats(batch, { rowGroupRows: Math.max(1, batch.numRows), timeColumn: m.timeColumn, keyColumn: m.keyColumns[0] ?? null });
  const minT = BigInt(g!.minTimeNs);
  const maxT = BigInt(g!.maxTimeNs);
  return m.files.filter(
    (f) =>
      f.partition === partition &&
      BigInt(f.minTimeNs) <= maxT &&
      BigInt(f.maxTimeNs) >= minT &&
      (f.minKey === null || g!.minKey === null || (f.minKey <= g!.maxKey! && f.maxKey! >= g!.minKey)),
  );
}
