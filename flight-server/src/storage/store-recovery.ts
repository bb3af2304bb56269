/**
 * Bringing the store in line with what happened outside this process's commits: at open, what a
 * crash interrupted (trash of drops, creates that never committed, files no version names); while
 * running, the commits, creates and drops of other processes on a shared catalog, which are
 * planned and read from then on and announced to this process's followers.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DatasetCatalogHandle } from './catalog/catalog-backend.js';
import { removeUnreferencedFiles, type RemovedFile } from './maintenance/unreferenced-files.js';
import { announce, type StoreContext } from './store-context.js';

/** With a shared catalog, files no version names are deleted only once this old: another process may be about to commit them. */
const SHARED_SWEEP_GRACE_MS = 3600_000;

/** Discards whatever a crash interrupted in the data directory, and opens every dataset of the catalog. */
export async function recoverAll(ctx: StoreContext): Promise<void> {
  for (const entry of await readdir(ctx.options.dataDir, { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name.startsWith('.trash-')) await rm(join(ctx.options.dataDir, entry.name), { recursive: true, force: true });
  }
  for (const name of await ctx.catalogBackend.listDatasets()) await recoverDataset(ctx, name);
}

/**
 * Deletes the files of a dataset directory no retained version names. With a shared catalog only
 * those older than the grace period (another process may be about to commit younger ones), and a
 * directory no file was written to yet is no fault.
 */
export async function sweep(ctx: StoreContext, dir: string, catalog: DatasetCatalogHandle): Promise<RemovedFile[]> {
  const referenced = await catalog.referencedPaths();
  if (!ctx.catalogBackend.shared) return removeUnreferencedFiles(ctx.files.store, dir, referenced);
  return removeUnreferencedFiles(ctx.files.store, dir, referenced, Date.now() - SHARED_SWEEP_GRACE_MS).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [];
    throw e;
  });
}

async function recoverDataset(ctx: StoreContext, name: string): Promise<void> {
  const dir = ctx.datasetDir(name);
  const catalog = await ctx.catalogBackend.openDataset(name);
  if (catalog === null && ctx.catalogBackend.shared) return; // dropped meanwhile by another process
  if (catalog === null) {
    // A create that never committed version 0.
    await rm(dir, { recursive: true, force: true });
    ctx.log.warn({ dataset: name }, 'removed a dataset directory with no committed version');
    return;
  }
  ctx.catalogs.set(name, catalog);
  // Housekeeping never keeps a dataset from opening: an object store down at start-up, or a
  // retained version record that cannot be read (the dataset opened from a checkpoint), only
  // postpones it, and nothing is deleted meanwhile (vacuum sweeps too).
  const removed = await sweep(ctx, ctx.dataPrefix(name), catalog).catch((err: unknown) => {
    ctx.log.warn({ err, dataset: name }, 'files no committed version names not swept at start-up');
    return [];
  });
  if (removed.length > 0) ctx.log.warn({ dataset: name, files: removed.length }, 'removed files no committed version names');
  ctx.backfill?.enqueue(name, catalog.current, catalog.current.files);
}

/**
 * Catches up with a commit, create or drop of `name` by another process (shared catalog): the
 * new current version is planned from then on, and cached decodes of the files it replaced go.
 * Calls for one dataset coalesce; failures are logged (polling or the next event retries).
 */
export function syncDataset(ctx: StoreContext, name: string): Promise<void> {
  const running = ctx.syncing.get(name);
  if (running) {
    running.again = true;
    return running.done;
  }
  const entry = { again: false, done: Promise.resolve() };
  entry.done = (async () => {
    try {
      do {
        entry.again = false;
        await syncOnce(ctx, name);
      } while (entry.again);
    } catch (err) {
      ctx.log.warn({ err, dataset: name, catalog: ctx.catalogBackend.description }, 'catalog refresh failed; retried on the next event or poll');
    } finally {
      ctx.syncing.delete(name);
    }
  })();
  ctx.syncing.set(name, entry);
  return entry.done;
}

async function syncOnce(ctx: StoreContext, name: string): Promise<void> {
  const dir = ctx.dataPrefix(name);
  const handle = ctx.catalogs.get(name);
  if (handle) {
    const before = handle.current.version;
    const advance = await handle.refresh();
    if (advance === null) return;
    if (!advance.dropped) {
      if (advance.removed.length > 0) ctx.cache.retire(dir, advance.removed);
      for (const p of advance.released) {
        ctx.parquet.forget(join(dir, p));
        ctx.tier.forget(join(dir, p));
      }
      await announceRemote(ctx, name, handle, before);
      ctx.scheduler?.afterCommit(name);
      return;
    }
    ctx.commits.emit({ kind: 'drop', dataset: name });
    if (ctx.catalogs.get(name) === handle) {
      ctx.catalogs.delete(name);
      ctx.cache.retire(dir, ['*']);
      ctx.parquet.forgetUnder(dir);
      ctx.tier.forgetUnder(dir);
      ctx.keys.forget(name);
    }
    await handle.close();
  }
  // Created by another process (or dropped and created again).
  const opened = await ctx.catalogBackend.openDataset(name);
  if (opened && !ctx.catalogs.has(name)) {
    ctx.catalogs.set(name, opened);
    ctx.scheduler?.afterCommit(name);
  } else await opened?.close();
}

/**
 * Tells followers of `name` about versions another process committed (shared catalog), each as
 * its own event. The catalog does not record which rows of a file an upsert merged, so a
 * follower of this replica gets every row of the files such a version added.
 */
async function announceRemote(ctx: StoreContext, name: string, handle: DatasetCatalogHandle, before: number): Promise<void> {
  const current = handle.current;
  for (let v = before + 1; v <= current.version && ctx.commits.listenerCount() > 0; v++) {
    try {
      announce(ctx, name, v === current.version ? current : await handle.manifestAt(v), {});
    } catch (err) {
      ctx.log.warn({ err, dataset: name, version: v }, 'a version committed elsewhere could not be announced to followers');
    }
  }
}
