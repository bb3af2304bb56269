/**
 * Write-ahead ingest's second half: a DoPut is acknowledged once its rows are durable as the IPC
 * copies of pending files (one write and fsync each, the shape of InfluxDB 3's write-ahead log);
 * this encodes their Parquet files in the background. The next version the dataset commits anyway
 * swaps each encoded entry for the same entry without its marker (`swapsFor`): same path, same
 * rows, same `addedIn`, so readers and followers see nothing new and every DoPut still makes
 * exactly one version. Until then the store answers the Parquet sizes from here (list_files,
 * describe). A file replaced or removed before its turn is not encoded unless list_files asks.
 *
 * Back-pressure: the IPC bytes of files queued here are bounded (INGEST_PENDING_MB); a DoPut
 * waits in `admit` before reading its stream while the bound is exceeded, so a crawler that
 * outruns the encoder is held by gRPC flow control and the lag (disk, list_files waits, the
 * work after a crash) stays bounded. The queue itself holds manifest entries, never rows.
 *
 * Crash safety: the Parquet file is written whole (a temporary file outside the dataset, fsync,
 * rename) at the entry's path and made durable before any commit names it encoded; start-up
 * removes a half-written temporary file and queues the current version's pending files again
 * (one already written is only measured).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fsyncPath } from '../catalog.js';
import { Schema, Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import { concatBatches } from '../kernels/concat.js';
import { isPending, type FileEntry, type Manifest } from '../manifest.js';
import type { FileSource, ObjectStore } from '../object-store/object-store.js';
import type { ParquetEncoderPool } from './parquet-encoder-pool.js';
import { StorageError } from '../errors.js';

/** What the encoder needs of the store. */
export interface BackfillTarget {
  /** The current manifest; throws NOT_FOUND once the dataset is dropped. */
  manifest(name: string): Manifest;
  /** The dataset's prefix in the object store (its directory locally). */
  dataPrefix(name: string): string;
  /** Runs `work` under the dataset's maintenance lock (vacuum must not sweep a file being written). */
  underMaintenanceLock<T>(name: string, work: () => Promise<T>): Promise<T>;
  /** Told of each queued file's absolute Parquet path: readers read its IPC copy until `written`. */
  pending(path: string): void;
  /** Told once a queued file is settled: its Parquet durable, or not wanted (readers then try Parquet first). */
  settled(path: string): void;
}

export interface BackfillOptions {
  /** The data directory (local mode only): Parquet files are written through a temporary file in `.trash-encoding/`. */
  dataDir: string;
  store: ObjectStore;
  source: FileSource;
  encoder: ParquetEncoderPool;
  rowGroupRows: number;
  /** Queued IPC bytes above which a DoPut waits (INGEST_PENDING_MB). */
  maxPendingBytes: number;
  /** Files encoded at once. */
  concurrency: number;
  /** Test only (FLIGHT_TEST_ENCODE_DELAY_MS): a pause before each file, to widen the window between acknowledgement and Parquet. */
  delayMs?: number;
  /** How long `encodedSizes` waits before UNAVAILABLE. */
  waitMs: number;
  log: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

interface Job {
  name: string;
  entry: FileEntry;
  timeColumn: string;
  /** The Parquet file's size once durable. */
  done: Promise<number>;
  resolve(bytes: number): void;
  reject(e: unknown): void;
  failures: number;
  /** Asked for by list_files: encoded even when no longer live (an older version names it). */
  requested: boolean;
}

/** Attempts of one file before its waiters get the error (it is queued again at the next start). */
const MAX_FAILURES = 5;

export class ParquetBackfill {
  private readonly jobs = new Map<string, Job>();
  private readonly queue: Job[] = [];
  /** Parquet sizes of files encoded since the dataset's last commit named them pending, by dataset and path. */
  private readonly encoded = new Map<string, Map<string, number>>();
  private running = 0;
  private pendingBytes = 0;
  private readonly admitted: (() => void)[] = [];
  private closed = false;
  /** Cuts the test-only delays short at close. */
  private readonly closing = new AbortController();

  constructor(
    private readonly target: BackfillTarget,
    private readonly opts: BackfillOptions,
  ) {}

  /** IPC bytes of the files queued or being encoded. */
  get queuedBytes(): number {
    return this.pendingBytes;
  }

  /** Resolves once the queued bytes are below the bound (at once when they are). */
  async admit(signal?: AbortSignal): Promise<void> {
    while (this.pendingBytes >= this.opts.maxPendingBytes && !this.closed) {
      if (signal?.aborted) throw new StorageError('ABORTED', 'the stream was cancelled while waiting for the Parquet encoder; nothing was committed');
      await new Promise<void>((resolve) => {
        this.admitted.push(resolve);
        signal?.addEventListener('abort', () => resolve(), { once: true });
      });
    }
  }

  /** Queues the pending files among `files` of dataset `name` (those already queued are not queued twice). */
  enqueue(name: string, m: Pick<Manifest, 'timeColumn'>, files: readonly FileEntry[]): void {
    for (const entry of files) if (isPending(entry)) this.jobFor(name, m.timeColumn, entry);
    this.pump();
  }

  /**
   * Waits until every file of `files` has its Parquet file (queueing those not queued, e.g. files of
   * an older version replaced before they were encoded) and answers each one's size by path.
   * UNAVAILABLE when the encoder fails or takes longer than the bound.
   */
  async encodedSizes(name: string, m: Pick<Manifest, 'timeColumn'>, files: readonly FileEntry[]): Promise<Map<string, number>> {
    const sizes = new Map<string, number>();
    const waits: Promise<void>[] = [];
    for (const f of files) {
      if (!isPending(f)) continue;
      const job = this.jobs.get(keyOf(name, f.path));
      if (job) {
        job.requested = true;
        waits.push(job.done.then((bytes) => void sizes.set(f.path, bytes)));
        continue;
      }
      waits.push(
        (async () => {
          const head = await this.opts.store.head(join(this.target.dataPrefix(name), f.path));
          if (head) sizes.set(f.path, head.size);
          else {
            const job = this.jobFor(name, m.timeColumn, f);
            job.requested = true;
            this.pump();
            sizes.set(f.path, await job.done);
          }
        })(),
      );
    }
    this.pump();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new StorageError('UNAVAILABLE', `the Parquet files of dataset "${name}" are still being encoded after ${this.opts.waitMs} ms; retry`)),
        this.opts.waitMs,
      );
    });
    try {
      await Promise.race([Promise.all(waits), timeout]);
    } catch (e) {
      if (e instanceof StorageError) throw e;
      throw new StorageError('UNAVAILABLE', `Parquet encoding of dataset "${name}" failed: ${(e as Error).message}; retry`, { cause: e });
    } finally {
      clearTimeout(timer);
    }
    return sizes;
  }

  /** `m` with its pending files' Parquet written and their sizes, once they are (see `encodedSizes`). */
  async withParquet(name: string, m: Manifest): Promise<Manifest> {
    if (!m.files.some(isPending)) return m;
    const sizes = await this.encodedSizes(name, m, m.files);
    return { ...m, files: m.files.map((f) => (isPending(f) ? { ...f, bytes: sizes.get(f.path)! } : f)) };
  }

  /** Forgets a dropped dataset's queued files. */
  forget(name: string): void {
    this.encoded.delete(name);
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const job = this.queue[i]!;
      if (job.name !== name) continue;
      this.queue.splice(i, 1);
      this.finish(job, new StorageError('NOT_FOUND', `dataset "${name}" was dropped`));
    }
  }

  /** Resolves once nothing is queued, encoding or waiting for its commit. */
  async idle(): Promise<void> {
    while (this.jobs.size > 0 && !this.closed) {
      await Promise.allSettled([...this.jobs.values()].map((j) => j.done));
    }
  }

  /** Stops taking files; those in progress finish (their commit may not happen: they are queued again at the next start). */
  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    for (const resolve of this.admitted.splice(0)) resolve();
    for (const job of this.queue.splice(0)) this.finish(job, new StorageError('UNAVAILABLE', 'the server is shutting down'));
    await Promise.allSettled([...this.jobs.values()].map((j) => j.done));
  }

  private jobFor(name: string, timeColumn: string, entry: FileEntry): Job {
    const key = keyOf(name, entry.path);
    const existing = this.jobs.get(key);
    if (existing) return existing;
    let resolve!: (bytes: number) => void;
    let reject!: (e: unknown) => void;
    const done = new Promise<number>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    done.catch(() => undefined);
    const job: Job = { name, entry, timeColumn, done, resolve, reject, failures: 0, requested: false };
    this.jobs.set(key, job);
    this.queue.push(job);
    this.pendingBytes += entry.bytes;
    this.target.pending(join(this.target.dataPrefix(name), entry.path));
    return job;
  }

  private pump(): void {
    while (!this.closed && this.running < this.opts.concurrency && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.running++;
      void this.encode(job).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async encode(job: Job): Promise<void> {
    try {
      if (this.opts.delayMs) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.opts.delayMs);
          this.closing.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
        });
        if (this.closed) throw new StorageError('UNAVAILABLE', 'the server is shutting down');
      }
      const bytes = await this.target.underMaintenanceLock(job.name, () => (this.stillWanted(job) ? this.writeParquet(job) : Promise.resolve(null)));
      this.target.settled(join(this.target.dataPrefix(job.name), job.entry.path));
      if (bytes === null) {
        this.finish(job, null, 0);
        return;
      }
      const sizes = this.encoded.get(job.name) ?? new Map<string, number>();
      sizes.set(job.entry.path, bytes);
      this.encoded.set(job.name, sizes);
      this.finish(job, null, bytes);
    } catch (err) {
      job.failures++;
      if (job.failures < MAX_FAILURES && !this.closed && this.stillWantedQuietly(job)) {
        this.opts.log.warn({ err, dataset: job.name, file: job.entry.path, attempt: job.failures }, 'Parquet encoding of a pending file failed; retried');
        await new Promise((r) => setTimeout(r, 100 * 2 ** job.failures));
        this.queue.push(job);
      } else {
        this.opts.log.warn({ err, dataset: job.name, file: job.entry.path }, 'Parquet encoding of a pending file failed; its rows stay readable from the IPC copy and it is queued again at the next start');
        this.finish(job, err);
      }
    }
  }

  /** Whether the file still needs its Parquet: live and pending now, or asked for by list_files (a waiter). */
  private stillWanted(job: Job): boolean {
    const m = this.target.manifest(job.name);
    return job.requested || m.files.some((f) => f.path === job.entry.path && isPending(f));
  }

  private stillWantedQuietly(job: Job): boolean {
    try {
      return this.stillWanted(job);
    } catch {
      return false;
    }
  }

  private async writeParquet(job: Job): Promise<number> {
    const prefix = this.target.dataPrefix(job.name);
    const key = join(prefix, job.entry.path);
    const existing = await this.opts.store.head(key);
    if (existing) return existing.size; // encoded before a crash, or by an earlier waiter
    const table = tableFromIPC(await this.opts.source.readAll(join(prefix, job.entry.ipc!.path)));
    // The copy's schema carries its key runs: the Parquet file gets the schema an inline write gives it.
    const schema = new Schema(table.schema.fields);
    const batch = concatBatches(schema, table.batches);
    const body = await this.opts.encoder.encode(tableToIPC(new Table(schema, [batch]), 'stream'), this.opts.rowGroupRows, job.timeColumn);
    // The temporary file lives outside the dataset (start-up removes `.trash-*`), so the dataset
    // directory only ever holds whole files some version names.
    const tmpDir = join(this.opts.dataDir, '.trash-encoding');
    const tmp = join(tmpDir, randomUUID());
    await mkdir(tmpDir, { recursive: true });
    // A pending file's partition may have no directory yet (only `_ipc/` was written).
    const created = await mkdir(dirname(key), { recursive: true });
    try {
      await writeFile(tmp, body);
      await fsyncPath(tmp);
      await rename(tmp, key);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    await fsyncPath(dirname(key));
    if (created) for (let d = dirname(key); d.startsWith(`${prefix}/`); d = dirname(d)) await fsyncPath(dirname(d));
    return body.byteLength;
  }

  /**
   * What a commit of `name` on `base` adds to swap its encoded pending files (those it does not
   * remove itself) for the same entries without the marker. Empty when there are none.
   */
  swapsFor(name: string, base: Manifest, removing: ReadonlySet<string> | undefined): { removed: Set<string>; added: FileEntry[] } {
    const removed = new Set<string>();
    const added: FileEntry[] = [];
    const sizes = this.encoded.get(name);
    if (!sizes) return { removed, added };
    for (const f of base.files) {
      const bytes = sizes.get(f.path);
      if (bytes === undefined || !isPending(f) || removing?.has(f.path)) continue;
      removed.add(f.path);
      const { pending: _pending, ...encoded } = f;
      added.push({ ...encoded, bytes });
    }
    return { removed, added };
  }

  /** A commit of `name` made: the swapped files' sizes (and those of files it removed) are no longer needed. */
  committed(name: string, next: Manifest): void {
    const sizes = this.encoded.get(name);
    if (!sizes) return;
    const live = new Map(next.files.map((f) => [f.path, f]));
    for (const path of [...sizes.keys()]) {
      const f = live.get(path);
      if (!f || !isPending(f)) sizes.delete(path);
    }
    if (sizes.size === 0) this.encoded.delete(name);
  }

  /** `m` with the sizes of its pending files already encoded (what describe reports). */
  withEncodedSizes(name: string, m: Manifest): Manifest {
    const sizes = this.encoded.get(name);
    if (!sizes || !m.files.some(isPending)) return m;
    return { ...m, files: m.files.map((f) => (isPending(f) && sizes.has(f.path) ? { ...f, bytes: sizes.get(f.path)! } : f)) };
  }

  private finish(job: Job, err: unknown, bytes = 0): void {
    if (this.jobs.get(keyOf(job.name, job.entry.path)) !== job) return;
    this.jobs.delete(keyOf(job.name, job.entry.path));
    this.pendingBytes -= job.entry.bytes;
    if (err) job.reject(err);
    else job.resolve(bytes);
    if (this.pendingBytes < this.opts.maxPendingBytes) for (const resolve of this.admitted.splice(0)) resolve();
  }
}

function keyOf(name: string, path: string): string {
  return `${name}\0${path}`;
}
