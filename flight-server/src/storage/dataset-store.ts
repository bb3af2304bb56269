/**
 * The storage engine: datasets of time-partitioned Parquet files with a versioned catalog.
 * Writes are merge-on-write: a DoPut's rows replace any stored row with the same primary key by
 * rewriting just the files whose key and time ranges overlap the new rows, so every version's
 * files hold disjoint primary keys and readers never deduplicate.
 */
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { tableFromIPC, type RecordBatch, type Schema } from 'apache-arrow';
import { concatBatches } from './kernels/concat.js';
import { conformBatch } from './kernels/conform.js';
import { sortedRangeForKeys, type RowRange } from './kernels/search.js';
import { CommitFeed, type CommitEvent } from './commit-feed.js';
import { filterBatch } from './kernels/take-filter.js';
import { fsyncPath } from './catalog.js';
import {
  CatalogUnavailable,
  CommitConflict,
  type CatalogBackend,
  type DatasetCatalogHandle,
  type MaintenanceLease,
  type ReplicaRegistration,
} from './catalog/catalog-backend.js';
import { FileCatalog } from './catalog/file-catalog.js';
import { PostgresCatalog } from './catalog/postgres/postgres-catalog.js';
import { listedFiles } from './catalog/file-listing.js';
import { KeyLister, type KeyList } from './catalog/key-listing.js';
import type { Change } from './catalog/version-record.js';
import { compactOverfullPartition } from './maintenance/background-compaction.js';
import { MaintenanceScheduler } from './maintenance/maintenance-scheduler.js';
import { expiredFiles } from './maintenance/retention.js';
import { removeReleasedFiles, removeUnreferencedFiles, type RemovedFile } from './maintenance/unreferenced-files.js';
import { sortUnique, sortUniqueFrom } from './write/sort-unique.js';
import { DataFileWriter } from './write/data-file-writer.js';
import { checkDatasetName, checkDatasetSpec, checkSchemaRoles, fieldsFromSchema, manifestSchemaOf, schemaFromFields, type DatasetSpec } from './dataset-spec.js';
import { StorageError } from './errors.js';
import {
  checkRetention,
  describeSchemaMismatch,
  formatIsoMs,
  typeFromString,
  typeToString,
  type DatasetDescription,
  type FieldSpec,
  type ListedFile,
  type ReadQuery,
} from '@flightdeck/contract';
import { IngestBuffer } from './write/ingest.js';
import { KeyedMutex } from './keyed-mutex.js';
import { isPending, manifestBytes, manifestRows, type FileEntry, type Manifest } from './manifest.js';
import { rowGroupStats } from './io/parquet-io.js';
import { ParquetReader, type ParquetIoStats } from './io/parquet-reader.js';
import { IpcTierRangeReader } from './io/ipc-tier-ranges.js';
import { DataFiles, type DataFilesOptions } from './object-store/data-files.js';
import type { DiskCacheStats } from './object-store/disk-cache.js';
import { ParquetEncoderPool } from './write/parquet-encoder-pool.js';
import { ParquetBackfill } from './write/parquet-backfill.js';
import { PendingParquetReader } from './write/pending-parquet-reader.js';
import type { ReadPlan, ReadSlice, SliceData } from './read/read-plan.js';
import { IpcCache, type CacheStats } from './io/ipc-cache.js';
import { planRead, readSlice, type ReadOptions } from './read/reader.js';
import { HeldWindows, type ReadWindowStats } from './read/read-window.js';

export interface StoreOptions extends ReadOptions, DataFilesOptions {
  dataDir: string;
  /** Bytes of decoded Arrow IPC the hot cache keeps. */
  cacheBytes: number;
  /** Whether each data file also gets an uncompressed Arrow IPC copy for full reads. */
  ipcTier: boolean;
  /** Worker threads encoding Parquet; 0 encodes on the main thread. */
  encoderThreads?: number;
  rowGroupRows: number;
  maxPutBytes: number;
  /** A catalog checkpoint follows every version that is a multiple of this (default 100). */
  checkpointEvery?: number;
  /** Partitions with more files are compacted in the background; 0 or absent: off. */
  compactFiles?: number;
  /** CATALOG_URL: `postgres://…` keeps the catalog in PostgreSQL, shared by replicas; null or absent: the file catalog. */
  catalogUrl?: string | null;
  /** Attempts of a commit that keeps losing races to other processes' writers before ABORTED (default 32). */
  commitAttempts?: number;
  /**
   * INGEST_PARQUET: 'background' acknowledges a DoPut once its IPC copies are durable and encodes
   * Parquet afterwards (write/parquet-backfill.ts; local mode with the IPC tier only); 'inline'
   * (default here) encodes before the commit.
   */
  ingestParquet?: 'background' | 'inline';
  /** INGEST_PENDING_MB in bytes: IPC bytes waiting for Parquet above which a DoPut waits (default 1 GiB). */
  ingestPendingBytes?: number;
  /** Test only (FLIGHT_TEST_ENCODE_DELAY_MS): pause before encoding each pending file. */
  testEncodeDelayMs?: number;
}

/** Rows one background merge may hold (and one merged file may have). */
const COMPACT_GROUP_ROWS = 1 << 20;
/** How often every dataset's retention is checked (besides after each commit). */
const RETENTION_CHECK_MS = 3600_000;
/** Attempts of one commit that loses races to writers of other processes (shared catalog) before ABORTED. */
const COMMIT_ATTEMPTS = 32;
/** With a shared catalog, files no version names are deleted only once this old: another process may be about to commit them. */
const SHARED_SWEEP_GRACE_MS = 3600_000;
/** How long list_files waits for the Parquet files of the version it lists. */
const LIST_FILES_ENCODE_WAIT_MS = 300_000;

export interface PutOutcome {
  rows: number;
  version: number;
  partitions: string[];
}

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** A commit's change, plus the rows a DoPut wrote into files it merged with stored rows (for followers). */
type StoreChange = Change & { written?: ReadonlyMap<string, readonly RowRange[]> };

export class DatasetStore {
  private readonly catalogs = new Map<string, DatasetCatalogHandle>();
  /** Catching up with other processes' commits, one at a time per dataset (catalog events coalesce). */
  private readonly syncing = new Map<string, { again: boolean; done: Promise<void> }>();
  private readonly locks = new KeyedMutex();
  /** Held by background compaction, vacuum and drop: vacuum must not remove files a merge is writing. */
  private readonly maintenanceLocks = new KeyedMutex();
  private scheduler: MaintenanceScheduler | null = null;
  private lease: MaintenanceLease | null = null;
  private readonly cache: IpcCache;
  private readonly parquet: ParquetReader;
  private readonly tier: IpcTierRangeReader;
  private readonly windows = new HeldWindows();
  private readonly keys: KeyLister;
  private readonly encoder: ParquetEncoderPool;
  /** Encodes pending files' Parquet (local mode; null in shared mode, which writes Parquet inline). */
  private readonly backfill: ParquetBackfill | null;
  /** Whether a DoPut commits pending files (write-ahead ingest). */
  private readonly deferParquet: boolean;
  /** Each durable commit (and drop) of this process, announced to followers. */
  readonly commits: CommitFeed;

  private constructor(
    readonly options: StoreOptions,
    private readonly log: Logger,
    private readonly catalogBackend: CatalogBackend,
    /** Where data files live: DATA_DIR, or DATA_URL's object store read through the disk tier. */
    private readonly files: DataFiles,
  ) {
    const local = files.store.local && !catalogBackend.shared;
    const pendingReader = local ? new PendingParquetReader(files.source, options.dataDir, options.rowGroupRows) : null;
    this.parquet = pendingReader ?? new ParquetReader(files.source);
    this.tier = new IpcTierRangeReader(files.source);
    this.keys = new KeyLister(this.parquet, files.source);
    this.cache = new IpcCache(options.cacheBytes);
    this.encoder = new ParquetEncoderPool(options.encoderThreads);
    this.commits = new CommitFeed(log);
    // Kept in local mode whatever INGEST_PARQUET says: files left pending by a crash still need their Parquet.
    this.backfill = pendingReader && new ParquetBackfill(
      {
        manifest: (name) => this.manifest(name),
        dataPrefix: (name) => this.dataPrefix(name),
        underMaintenanceLock: (name, work) => this.maintenanceLocks.run(name, work),
        pending: (path) => pendingReader.markPending(path),
        settled: (path) => pendingReader.markWritten(path),
      },
      {
        dataDir: options.dataDir,
        store: files.store,
        source: files.source,
        encoder: this.encoder,
        rowGroupRows: options.rowGroupRows,
        maxPendingBytes: options.ingestPendingBytes ?? 1024 * 1024 * 1024,
        // One core fewer than the encoder pool: DoPuts and reads keep a core while it catches up.
        concurrency: Math.max(1, this.encoder.size - 1),
        delayMs: options.testEncodeDelayMs ?? 0,
        waitMs: LIST_FILES_ENCODE_WAIT_MS,
        log,
      },
    );
    this.deferParquet = this.backfill !== null && options.ipcTier && options.ingestParquet === 'background';
  }

  /** Opens a data directory, discarding whatever a crash interrupted. */
  static async open(options: StoreOptions, log: Logger): Promise<DatasetStore> {
    await mkdir(options.dataDir, { recursive: true });
    const catalogOptions = { checkpointEvery: options.checkpointEvery ?? 100, log };
    const backend =
      options.catalogUrl ? await PostgresCatalog.connect(options.catalogUrl, log) : new FileCatalog(options.dataDir, catalogOptions);
    const files = await DataFiles.open(options, log).catch(async (e: unknown) => {
      await backend.close().catch(() => undefined);
      throw e;
    });
    const store = new DatasetStore(options, log, backend, files);
    try {
      for (const entry of await readdir(options.dataDir, { withFileTypes: true })) {
        if (entry.isDirectory() && entry.name.startsWith('.trash-')) await rm(join(options.dataDir, entry.name), { recursive: true, force: true });
      }
      for (const name of await backend.listDatasets()) await store.recoverDataset(name);
    } catch (e) {
      await backend.close().catch(() => undefined);
      await files.close().catch(() => undefined);
      throw e;
    }
    backend.watch((event) => store.syncDataset(event.dataset));
    store.startMaintenance();
    return store;
  }

  private startMaintenance(): void {
    const limits = { maxFiles: this.options.compactFiles ?? 0, maxGroupRows: COMPACT_GROUP_ROWS };
    const lease = this.catalogBackend.maintenanceLease();
    this.lease = lease;
    const scheduler = new MaintenanceScheduler(
      {
        datasetNames: () => [...this.catalogs.keys()],
        applyRetention: (name) => this.applyRetention(name),
        compactStep: (name) => this.maintenanceLocks.run(name, () => compactOverfullPartition(this, name, limits, this.log)),
      },
      this.log,
      { compaction: limits.maxFiles > 0, retentionCheckMs: RETENTION_CHECK_MS, active: lease.held },
    );
    this.scheduler = scheduler;
    lease.onChange((held) => scheduler.setActive(held));
    scheduler.start();
  }

  /** Whether this process runs background maintenance now (always in local mode; the lease holder among replicas). */
  get maintains(): boolean {
    return this.lease?.held ?? false;
  }

  /**
   * Registers this process as a replica reachable at `url` (FLIGHT_ADVERTISE_URL): other replicas
   * list it, and it lists them, as endpoint locations. Call once the server listens.
   */
  registerReplica(url: string): Promise<ReplicaRegistration> {
    return this.catalogBackend.registerReplica(url);
  }

  /** Resolves once no background compaction or retention check is running or queued. */
  maintenanceIdle(): Promise<void> {
    return this.scheduler?.idle() ?? Promise.resolve();
  }

  datasetDir(name: string): string {
    return join(this.options.dataDir, name);
  }

  /** Where data files live, as logs name it: the data directory, or `object store s3://bucket/prefix at <endpoint>`. */
  get dataDescription(): string {
    return this.files.store.description;
  }

  /** Where a dataset's data files are in the object store: its directory in local mode, `<name>` under DATA_URL. */
  dataPrefix(name: string): string {
    return this.files.store.local ? this.datasetDir(name) : name;
  }

  /** Which catalog the store uses, as errors and logs name it. */
  get catalogDescription(): string {
    return this.catalogBackend.description;
  }

  /**
   * Deletes the files of a dataset directory no retained version names. With a shared catalog only
   * those older than the grace period (another process may be about to commit younger ones), and a
   * directory no file was written to yet is no fault.
   */
  private async sweep(dir: string, catalog: DatasetCatalogHandle): Promise<RemovedFile[]> {
    const referenced = await catalog.referencedPaths();
    if (!this.catalogBackend.shared) return removeUnreferencedFiles(this.files.store, dir, referenced);
    return removeUnreferencedFiles(this.files.store, dir, referenced, Date.now() - SHARED_SWEEP_GRACE_MS).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return [];
      throw e;
    });
  }

  private async recoverDataset(name: string): Promise<void> {
    const dir = this.datasetDir(name);
    const catalog = await this.catalogBackend.openDataset(name);
    if (catalog === null && this.catalogBackend.shared) return; // dropped meanwhile by another process
    if (catalog === null) {
      // A create that never committed version 0.
      await rm(dir, { recursive: true, force: true });
      this.log.warn({ dataset: name }, 'removed a dataset directory with no committed version');
      return;
    }
    this.catalogs.set(name, catalog);
    // Housekeeping never keeps a dataset from opening: an object store down at start-up, or a
    // retained version record that cannot be read (the dataset opened from a checkpoint), only
    // postpones it, and nothing is deleted meanwhile (vacuum sweeps too).
    const removed = await this.sweep(this.dataPrefix(name), catalog).catch((err: unknown) => {
      this.log.warn({ err, dataset: name }, 'files no committed version names not swept at start-up');
      return [];
    });
    if (removed.length > 0) this.log.warn({ dataset: name, files: removed.length }, 'removed files no committed version names');
    this.backfill?.enqueue(name, catalog.current, catalog.current.files);
  }

  listDatasets(): Manifest[] {
    return [...this.catalogs.values()].map((c) => c.current).sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Catches up with a commit, create or drop of `name` by another process (shared catalog): the
   * new current version is planned from then on, and cached decodes of the files it replaced go.
   * Calls for one dataset coalesce; failures are logged (polling or the next event retries).
   */
  syncDataset(name: string): Promise<void> {
    const running = this.syncing.get(name);
    if (running) {
      running.again = true;
      return running.done;
    }
    const entry = { again: false, done: Promise.resolve() };
    entry.done = (async () => {
      try {
        do {
          entry.again = false;
          await this.syncOnce(name);
        } while (entry.again);
      } catch (err) {
        this.log.warn({ err, dataset: name, catalog: this.catalogBackend.description }, 'catalog refresh failed; retried on the next event or poll');
      } finally {
        this.syncing.delete(name);
      }
    })();
    this.syncing.set(name, entry);
    return entry.done;
  }

  private async syncOnce(name: string): Promise<void> {
    const dir = this.dataPrefix(name);
    const handle = this.catalogs.get(name);
    if (handle) {
      const before = handle.current.version;
      const advance = await handle.refresh();
      if (advance === null) return;
      if (!advance.dropped) {
        if (advance.removed.length > 0) this.cache.retire(dir, advance.removed);
        for (const p of advance.released) {
          this.parquet.forget(join(dir, p));
          this.tier.forget(join(dir, p));
        }
        await this.announceRemote(name, handle, before);
        this.scheduler?.afterCommit(name);
        return;
      }
      this.commits.emit({ kind: 'drop', dataset: name });
      if (this.catalogs.get(name) === handle) {
        this.catalogs.delete(name);
        this.cache.retire(dir, ['*']);
        this.parquet.forgetUnder(dir);
        this.tier.forgetUnder(dir);
        this.keys.forget(name);
      }
      await handle.close();
    }
    // Created by another process (or dropped and created again).
    const opened = await this.catalogBackend.openDataset(name);
    if (opened && !this.catalogs.has(name)) {
      this.catalogs.set(name, opened);
      this.scheduler?.afterCommit(name);
    } else await opened?.close();
  }

  private catalog(name: string): DatasetCatalogHandle {
    checkDatasetName(name);
    const c = this.catalogs.get(name);
    if (!c) throw new StorageError('NOT_FOUND', `dataset "${name}" does not exist`);
    return c;
  }

  /** The current manifest, or NOT_FOUND. */
  manifest(name: string): Manifest {
    return this.catalog(name).current;
  }

  /** The manifest of a committed version (the current one when `version` is null). */
  async manifestAt(name: string, version: number | null): Promise<Manifest> {
    const c = this.catalog(name);
    return version === null ? c.current : c.manifestAt(version);
  }

  async createDataset(spec: DatasetSpec): Promise<DatasetDescription> {
    checkDatasetSpec(spec);
    return this.locks.run(spec.name, async () => {
      if (this.catalogs.has(spec.name)) throw new StorageError('ALREADY_EXISTS', `dataset "${spec.name}" already exists`);
      const manifest: Manifest = {
        format: 1,
        name: spec.name,
        version: 0,
        committedAt: new Date().toISOString(),
        operation: 'create',
        timeColumn: spec.timeColumn,
        keyColumns: spec.keyColumns,
        partition: spec.partition,
        fields: spec.fields ? fieldsFromSchema(schemaFromFields(spec.fields, spec), spec) : null,
        addedColumns: [],
        retention: checkRetention(spec.retention ?? null),
        files: [],
      };
      const catalog = await this.catalogBackend.createDataset(manifest);
      if (!this.catalogBackend.shared) await fsyncPath(this.options.dataDir);
      this.catalogs.set(spec.name, catalog);
      return describeManifest(manifest);
    });
  }

  async describe(name: string, version: number | null = null): Promise<DatasetDescription & { oldest_version: number }> {
    const m = await this.manifestAt(name, version);
    return { ...describeManifest(this.backfill?.withEncodedSizes(name, m) ?? m), oldest_version: this.catalog(name).oldestVersion };
  }

  /**
   * Runs `build` under the dataset's commit lock against the current version and commits what
   * it returns as the next version. Files it wrote are removed if anything fails before the
   * commit; a null change commits nothing (and removes `prepared`'s files) and returns the
   * current version.
   */
  private commit(
    name: string,
    build: (base: Manifest, files: DataFileWriter) => Promise<StoreChange | null>,
    signal?: AbortSignal,
    prepared?: DataFileWriter,
  ): Promise<Manifest> {
    return this.locks.run(name, async () => {
      for (let attempt = 1; ; attempt++) {
        const catalog = this.catalog(name);
        const base = catalog.current;
        const files = prepared ?? this.newFileWriter(name);
        try {
          const change = await build(base, files);
          if (!change) {
            await files.discard();
            return base;
          }
          await files.sync();
          const removed = change.removed ?? new Set<string>();
          if (signal?.aborted) throw new StorageError('ABORTED', 'the stream was cancelled before its commit; nothing was committed');
          const next = await catalog.commit(this.withSwaps(name, base, change), base.version);
          this.backfill?.committed(name, next);
          if (removed.size > 0) this.cache.retire(this.dataPrefix(name), [...removed]);
          this.announce(name, next, change);
          this.scheduler?.afterCommit(name);
          return next;
        } catch (e) {
          // A commit whose outcome is unknown keeps its files: the version may exist.
          if (e instanceof CatalogUnavailable && e.outcomeUnknown) {
            void this.syncDataset(name);
            throw e;
          }
          // Lost a race to another process's writer: re-plan on the newer version (prepared files are planned again by `build`).
          const retry = e instanceof CommitConflict && this.catalogBackend.shared && attempt < (this.options.commitAttempts ?? COMMIT_ATTEMPTS) && !signal?.aborted;
          if (!retry || !prepared) await files.discard();
          if (!retry) {
            if (e instanceof CommitConflict && this.catalogBackend.shared) {
              throw new StorageError('ABORTED', `commit to dataset "${name}" lost the race for its next version ${attempt} times to other writers; nothing was committed, retry`);
            }
            throw e;
          }
          this.log.info({ dataset: name, version: base.version + 1, attempt }, 'commit lost the race for its version to another process; re-planning on the newer version');
          await this.syncDataset(name);
          await new Promise((r) => setTimeout(r, Math.random() * 5 * Math.min(attempt, 10)));
        }
      }
    });
  }

  /** `change` plus the swap of the base's pending files whose Parquet is written since (write-ahead ingest). */
  private withSwaps(name: string, base: Manifest, change: StoreChange): StoreChange {
    const swaps = this.backfill?.swapsFor(name, base, change.removed);
    if (!swaps || swaps.added.length === 0) return change;
    return { ...change, removed: new Set([...(change.removed ?? []), ...swaps.removed]), added: [...(change.added ?? []), ...swaps.added] };
  }

  /**
   * Commits a DoPut stream as one new version, or nothing. The schema is the stream's; it must
   * match the dataset's (or fixes it when the dataset has none yet).
   */
  async put(name: string, schema: Schema, batches: AsyncIterable<RecordBatch>, signal?: AbortSignal): Promise<PutOutcome> {
    if (this.deferParquet) {
      this.manifest(name); // NOT_FOUND before any wait
      // Back-pressure: the stream is not read while the encoder is too far behind.
      await this.backfill!.admit(signal);
    }
    const before = this.manifest(name);
    const target = this.targetSchema(before, schema);
    const buffer = new IngestBuffer(target, before, { maxStreamBytes: this.options.maxPutBytes });
    for await (const batch of batches) buffer.add(batch);

    const next = await this.commit(
      name,
      async (base, files) => {
        // Another stream may have fixed the schema while this one was arriving.
        const schemaNow = before.fields === null && base.fields !== null ? this.targetSchema(base, schema) : target;
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
            const stored = await this.readFiles(base, overlapping, schemaNow);
            const all = concatBatches(schemaNow, [...stored, incoming]);
            ({ batch: merged, fromRows: newRows } = sortUniqueFrom(all, base, all.numRows - incoming.numRows));
            overlapping.forEach((f) => removed.add(f.path));
          }
          // Encoding runs in worker threads: the next partition is merged meanwhile.
          const rows = newRows;
          writes.push(
            files.write(base, key, merged, { deferParquet: this.deferParquet }).then((entry) => {
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
    if (this.deferParquet) this.backfill!.enqueue(name, next, next.files.filter((f) => f.addedIn === next.version));
    return { rows: buffer.rows, version: next.version, partitions: [...buffer.partitions.keys()].sort() };
  }

  private targetSchema(m: Manifest, incoming: Schema): Schema {
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
  newFileWriter(name: string): DataFileWriter {
    return new DataFileWriter(this.files, this.dataPrefix(name), this.options.rowGroupRows, this.options.ipcTier ? this.options.outputBatchRows : 0, this.encoder);
  }

  /**
   * Commits files written outside the commit lock when `change`, given the version current at
   * commit time, accepts them; otherwise removes them and answers null.
   */
  async commitPrepared(name: string, files: DataFileWriter, change: (current: Manifest) => Change | null): Promise<Manifest | null> {
    let accepted = false;
    const next = await this.commit(
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

  /**
   * Sets (or, with null, removes) the dataset's retention and removes the partitions already past
   * it, in one new version; nothing changes when the retention is the same and nothing expired.
   */
  async setRetention(name: string, retention: string | null, nowMs = Date.now()): Promise<DatasetDescription> {
    checkRetention(retention);
    const next = await this.commit(name, async (base) => {
      const same = (base.retention ?? null) === retention;
      const expired = expiredFiles({ ...base, retention }, nowMs);
      if (same && expired.length === 0) return null;
      return { operation: same ? 'retention' : 'set_retention', retention, removed: new Set(expired.map((f) => f.path)) };
    });
    return describeManifest(next);
  }

  /** Exactly the Parquet files of a version (the current one when `asOf` is null), as absolute file:// URLs. */
  async listFiles(name: string, asOf: number | null): Promise<{ version: number; files: ListedFile[] }> {
    const m = await this.manifestAt(name, asOf);
    // Only Parquet files are listed: the version's pending ones are waited for.
    return listedFiles(this.backfill ? await this.backfill.withParquet(name, m) : m, (path) => this.files.store.url(join(this.dataPrefix(name), path)));
  }

  /** Resolves once no pending file waits for its Parquet (tests, shutdown). */
  parquetIdle(): Promise<void> {
    return this.backfill?.idle() ?? Promise.resolve();
  }

  /** Distinct values of the first key column, sorted, from the files' recorded keys (not their rows). */
  async listKeys(name: string, prefix: string | null, limit: number): Promise<KeyList> {
    return this.keys.list(this.manifest(name), this.dataPrefix(name), prefix, limit);
  }

  /** Removes the partitions past the dataset's retention (a new version); nothing without one. */
  async applyRetention(name: string, nowMs = Date.now()): Promise<void> {
    if (!this.manifest(name).retention) return;
    await this.commit(name, async (base) => {
      const expired = expiredFiles(base, nowMs);
      return expired.length === 0 ? null : { operation: 'retention', removed: new Set(expired.map((f) => f.path)) };
    });
  }

  /** The rows of some files of a version, conformed to `schema`. */
  async readFiles(m: Manifest, files: FileEntry[], schema: Schema): Promise<RecordBatch[]> {
    const out: RecordBatch[] = [];
    for (const f of files) {
      // On local disk the IPC copy decodes for nothing (and is all a pending file has).
      const copy = f.ipc && (this.files.store.local || isPending(f)) ? tableFromIPC(await this.files.source.readAll(join(this.dataPrefix(m.name), f.ipc.path))) : null;
      const table = copy && copy.numRows === f.rows ? copy : tableFromIPC(await this.parquet.readIpc(join(this.dataPrefix(m.name), f.path)));
      for (const b of table.batches) out.push(conformBatch(b, schema));
    }
    return out;
  }

  /** Deletes the rows whose first key is in `symbols` (all when null) and time in [start, end). */
  async deleteRange(name: string, symbols: string[] | null, startNs: bigint | null, endNs: bigint | null): Promise<{ rows_deleted: number; version: number }> {
    let deleted = 0;
    const next = await this.commit(name, async (base, files) => {
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
        const batch = concatBatches(schema, await this.readFiles(base, [f], schema));
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
  async compact(name: string, partition: string | null): Promise<{ files_before: number; files_after: number; version: number }> {
    let before = 0;
    let after = 0;
    const next = await this.commit(name, async (base, files) => {
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
        const merged = sortUnique(concatBatches(schema, await this.readFiles(base, group, schema)), base);
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
  async evolveSchema(name: string, add: FieldSpec[]): Promise<DatasetDescription> {
    const next = await this.commit(name, async (base) => {
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
  async vacuum(name: string, retain: number): Promise<{ files_removed: number; bytes_freed: number; oldest_version: number }> {
    if (!Number.isInteger(retain) || retain < 1) throw new StorageError('INVALID_ARGUMENT', 'field "retain_versions" must be an integer >= 1');
    return this.maintenanceLocks.run(name, () => this.locks.run(name, async () => {
      const catalog = this.catalog(name);
      const dir = this.dataPrefix(name);
      const { oldest, released } = await catalog.vacuum(retain);
      const removed = [...(await removeReleasedFiles(this.files.store, dir, released)), ...(await this.sweep(dir, catalog))];
      const removedPaths = removed.map((r) => r.path);
      if (removedPaths.length > 0) this.cache.retire(dir, removedPaths);
      for (const p of removedPaths) {
        this.parquet.forget(join(dir, p));
        this.tier.forget(join(dir, p));
      }
      return { files_removed: removed.length, bytes_freed: removed.reduce((n, r) => n + r.bytes, 0), oldest_version: oldest };
    }));
  }

  /** Removes a dataset: renamed aside at once (atomic), then deleted. */
  async drop(name: string): Promise<{ dropped: true }> {
    return this.maintenanceLocks.run(name, () => this.locks.run(name, async () => {
      await this.catalogBackend.dropDataset(name, this.catalog(name));
      const dir = this.datasetDir(name);
      const trash = join(this.options.dataDir, `.trash-${name}-${randomUUID()}`);
      try {
        await rename(dir, trash);
      } catch (e) {
        // With a shared catalog the drop is committed; a dataset that never got a file has no directory.
        if (!(this.catalogBackend.shared && (e as NodeJS.ErrnoException).code === 'ENOENT')) throw e;
      }
      await fsyncPath(this.options.dataDir);
      this.catalogs.delete(name);
      const prefix = this.dataPrefix(name);
      this.cache.retire(prefix, ['*']);
      this.parquet.forgetUnder(prefix);
      this.tier.forgetUnder(prefix);
      this.keys.forget(name);
      this.backfill?.forget(name);
      if (!this.files.store.local) await this.removeObjectsOf(name);
      this.commits.emit({ kind: 'drop', dataset: name });
      await rm(trash, { recursive: true, force: true });
      return { dropped: true as const };
    }));
  }

  /** Plans a query into endpoints over one committed version. */
  async plan(query: ReadQuery): Promise<ReadPlan> {
    return planRead(await this.manifestAt(query.dataset, query.asOf), query, this.options);
  }

  /** Reads one endpoint's rows: a slice pinned to a version. */
  async read(slice: ReadSlice): Promise<SliceData> {
    const m = await this.manifestAt(slice.query.dataset, slice.query.asOf);
    this.noteSizes(m, slice.partitions);
    return readSlice({ datasetDir: this.dataPrefix(m.name), cache: this.cache, parquet: this.parquet, tier: this.tier, windows: this.windows }, m, slice, this.options);
  }

  /** Tells followers of `name` about a version just committed (nothing to do when none listens). */
  private announce(name: string, next: Manifest, change: Pick<StoreChange, 'written'>): void {
    if (this.commits.listenerCount() === 0) return;
    this.commits.emit({
      kind: 'commit',
      dataset: name,
      version: next.version,
      // Only the added files: a follower's queue of events must not keep whole manifests alive.
      manifest: { ...next, files: [] },
      added: next.files.filter((f) => f.addedIn === next.version),
      written: change.written ?? new Map(),
      writesRows: next.operation === 'put',
    });
  }

  /**
   * Tells followers of `name` about versions another process committed (shared catalog), each as
   * its own event. The catalog does not record which rows of a file an upsert merged, so a
   * follower of this replica gets every row of the files such a version added.
   */
  private async announceRemote(name: string, handle: DatasetCatalogHandle, before: number): Promise<void> {
    const current = handle.current;
    for (let v = before + 1; v <= current.version && this.commits.listenerCount() > 0; v++) {
      try {
        this.announce(name, v === current.version ? current : await handle.manifestAt(v), {});
      } catch (err) {
        this.log.warn({ err, dataset: name, version: v }, 'a version committed elsewhere could not be announced to followers');
      }
    }
  }

  /**
   * The rows a committed version wrote that match `query`, in key/time order, projected on
   * `columns` (a follower's stream keeps the columns it started with): the rows of the files the
   * version added, in files merged with stored rows only the rows the version wrote. Null for
   * versions that write no rows (compaction, delete_range, retention, schema changes).
   */
  async readCommitted(event: CommitEvent, query: ReadQuery, columns: string[]): Promise<SliceData | null> {
    if (!event.writesRows || event.added.length === 0) return null;
    const m: Manifest = { ...event.manifest, files: [...event.added] };
    const slice: ReadSlice = { query: { ...query, columns, limit: null, interval: null, asOf: m.version }, partitions: null };
    const ctx = { datasetDir: this.dataPrefix(m.name), cache: this.cache, parquet: this.parquet, tier: this.tier, windows: this.windows };
    return readSlice(ctx, m, slice, this.options, event.written);
  }

  /** Decoded bytes the reads in progress hold in their files' windows (every DoGet stream's share). */
  readWindowStats(): ReadWindowStats {
    return this.windows.stats();
  }

  cacheStats(): CacheStats {
    return this.cache.stats();
  }

  /** Gives the object store's reader the sizes the catalog records of a read's files: a cold read then needs no HEAD per file. */
  private noteSizes(m: Manifest, partitions: readonly string[] | null): void {
    if (this.files.store.local) return;
    const prefix = this.dataPrefix(m.name);
    const wanted = partitions ? new Set(partitions) : null;
    for (const f of m.files) {
      if (wanted && !wanted.has(f.partition)) continue;
      this.files.knowSize(join(prefix, f.path), f.bytes);
      if (f.ipc) this.files.knowSize(join(prefix, f.ipc.path), f.ipc.bytes);
    }
  }

  /** The disk tier of object-store files; null in local mode or with CACHE_DISK_MB=0. */
  diskCacheStats(): DiskCacheStats | null {
    return this.files.diskCacheStats();
  }

  /**
   * Deletes a dropped dataset's objects (DATA_URL). The drop is committed already: a store that
   * cannot be reached leaves them, and the sweep of a dataset created later under the name removes them.
   */
  private async removeObjectsOf(name: string): Promise<void> {
    try {
      await this.files.store.delete((await this.files.store.list(`${name}/`)).map((o) => o.key));
    } catch (err) {
      this.log.warn({ err, dataset: name, store: this.files.store.description }, 'objects of a dropped dataset not deleted');
    }
  }

  /** Files opened and bytes read, by Parquet reads and by ranged reads of the IPC tier. */
  ioStats(): ParquetIoStats {
    const parquet = this.parquet.ioStats();
    const tier = this.tier.ioStats();
    return { filesOpened: parquet.filesOpened + tier.filesOpened, bytesRead: parquet.bytesRead + tier.bytesRead };
  }

  /** Stops background maintenance and the encoder threads, and waits for catalog checkpoints being written (the store stays readable). */
  async close(): Promise<void> {
    await this.scheduler?.close();
    await this.backfill?.close();
    await this.lease?.close();
    await Promise.all([...this.catalogs.values()].map((c) => c.close()));
    await Promise.all([...this.syncing.values()].map((s) => s.done));
    await this.catalogBackend.close();
    await this.encoder.close();
    await this.files.close();
  }
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

export function describeManifest(m: Manifest): DatasetDescription {
  const byPartition = new Map<string, { files: number; rows: number; bytes: number; min: bigint; max: bigint }>();
  for (const f of m.files) {
    const p = byPartition.get(f.partition) ?? { files: 0, rows: 0, bytes: 0, min: BigInt(f.minTimeNs), max: BigInt(f.maxTimeNs) };
    p.files++;
    p.rows += f.rows;
    p.bytes += f.bytes;
    if (BigInt(f.minTimeNs) < p.min) p.min = BigInt(f.minTimeNs);
    if (BigInt(f.maxTimeNs) > p.max) p.max = BigInt(f.maxTimeNs);
    byPartition.set(f.partition, p);
  }
  return {
    name: m.name,
    schema: m.fields ?? [],
    time_column: m.timeColumn,
    key_columns: m.keyColumns,
    partition: m.partition,
    version: m.version,
    rows: manifestRows(m),
    bytes: manifestBytes(m),
    partitions: [...byPartition].map(([key, p]) => ({
      key,
      files: p.files,
      rows: p.rows,
      bytes: p.bytes,
      min_time: formatIsoMs(p.min),
      max_time: formatIsoMs(p.max),
    })),
    ...(m.retention ? { retention: m.retention } : {}),
  };
}
