/**
 * The storage engine: datasets of time-partitioned Parquet files with a versioned catalog.
 * Writes are merge-on-write: a DoPut's rows replace any stored row with the same primary key by
 * rewriting just the files whose key and time ranges overlap the new rows, so every version's
 * files hold disjoint primary keys and readers never deduplicate.
 *
 * DatasetStore is the façade the server uses. It opens and closes the store, creates datasets,
 * and reads; the rest are functions of the state its parts share (store-context.ts): recovery
 * and catching up with other processes (store-recovery.ts), commits and DoPut
 * (store-commit.ts), and maintenance of versions and files (store-housekeeping.ts).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tableFromIPC, type RecordBatch, type Schema } from 'apache-arrow';
import { conformBatch } from './kernels/conform.js';
import { CommitFeed, type CommitEvent } from './commit-feed.js';
import { fsyncPath } from './catalog.js';
import type { CatalogBackend, DatasetCatalogHandle, ReplicaRegistration } from './catalog/catalog-backend.js';
import { FileCatalog } from './catalog/file-catalog.js';
import { PostgresCatalog } from './catalog/postgres/postgres-catalog.js';
import { listedFiles } from './catalog/file-listing.js';
import { KeyLister, type KeyList } from './catalog/key-listing.js';
import type { Change } from './catalog/version-record.js';
import type { DataFileWriter } from './write/data-file-writer.js';
import { checkDatasetName, checkDatasetSpec, fieldsFromSchema, schemaFromFields, type DatasetSpec } from './dataset-spec.js';
import { StorageError } from './errors.js';
import { checkRetention, type DatasetDescription, type FieldSpec, type ListedFile, type ReadQuery } from '@flightdeck/contract';
import { KeyedMutex } from './keyed-mutex.js';
import { isPending, type FileEntry, type Manifest } from './manifest.js';
import { ParquetReader, type ParquetIoStats } from './io/parquet-reader.js';
import { IpcTierRangeReader } from './io/ipc-tier-ranges.js';
import { DataFiles } from './object-store/data-files.js';
import type { DiskCacheStats } from './object-store/disk-cache.js';
import { ParquetEncoderPool } from './write/parquet-encoder-pool.js';
import { ParquetBackfill } from './write/parquet-backfill.js';
import { PendingParquetReader } from './write/pending-parquet-reader.js';
import type { ReadPlan, ReadSlice, SliceData } from './read/read-plan.js';
import { IpcCache, type CacheStats } from './io/ipc-cache.js';
import { planRead, readSlice, type ReadContext } from './read/reader.js';
import { HeldWindows, type ReadWindowStats } from './read/read-window.js';
import { describeManifest } from './dataset-description.js';
import type { Logger, StoreContext, StoreOptions } from './store-context.js';
import type { PutOutcome } from './store-commit.js';
import * as recovery from './store-recovery.js';
import * as writing from './store-commit.js';
import * as housekeeping from './store-housekeeping.js';

export type { Logger, StoreOptions } from './store-context.js';
export type { PutOutcome } from './store-commit.js';
export { describeManifest } from './dataset-description.js';

/** How long list_files waits for the Parquet files of the version it lists. */
const LIST_FILES_ENCODE_WAIT_MS = 300_000;

export class DatasetStore {
  /** What the store's parts share: catalog handles, locks, readers, cache, encoder, backfill. */
  private readonly ctx: StoreContext;
  private readonly windows = new HeldWindows();
  /** Each durable commit (and drop) of this process, announced to followers. */
  readonly commits: CommitFeed;

  private constructor(
    readonly options: StoreOptions,
    log: Logger,
    catalogBackend: CatalogBackend,
    /** Where data files live: DATA_DIR, or DATA_URL's object store read through the disk tier. */
    files: DataFiles,
  ) {
    const local = files.store.local && !catalogBackend.shared;
    const pendingReader = local ? new PendingParquetReader(files.source, options.dataDir, options.rowGroupRows) : null;
    const parquet = pendingReader ?? new ParquetReader(files.source);
    const encoder = new ParquetEncoderPool(options.encoderThreads);
    const maintenanceLocks = new KeyedMutex();
    this.commits = new CommitFeed(log);
    // Kept in local mode whatever INGEST_PARQUET says: files left pending by a crash still need their Parquet.
    const backfill = pendingReader && new ParquetBackfill(
      {
        manifest: (name) => this.manifest(name),
        dataPrefix: (name) => this.dataPrefix(name),
        underMaintenanceLock: (name, work) => maintenanceLocks.run(name, work),
        pending: (path) => pendingReader.markPending(path),
        settled: (path) => pendingReader.markWritten(path),
      },
      {
        dataDir: options.dataDir,
        store: files.store,
        source: files.source,
        encoder,
        rowGroupRows: options.rowGroupRows,
        maxPendingBytes: options.ingestPendingBytes ?? 1024 * 1024 * 1024,
        // One core fewer than the encoder pool: DoPuts and reads keep a core while it catches up.
        concurrency: Math.max(1, encoder.size - 1),
        delayMs: options.testEncodeDelayMs ?? 0,
        waitMs: LIST_FILES_ENCODE_WAIT_MS,
        log,
      },
    );
    this.ctx = {
      options,
      log,
      catalogBackend,
      files,
      catalogs: new Map(),
      syncing: new Map(),
      locks: new KeyedMutex(),
      maintenanceLocks,
      scheduler: null,
      lease: null,
      cache: new IpcCache(options.cacheBytes),
      parquet,
      tier: new IpcTierRangeReader(files.source),
      keys: new KeyLister(parquet, files.source),
      encoder,
      backfill,
      deferParquet: backfill !== null && options.ipcTier && options.ingestParquet === 'background',
      commits: this.commits,
      catalog: (name) => this.catalog(name),
      datasetDir: (name) => this.datasetDir(name),
      dataPrefix: (name) => this.dataPrefix(name),
      manifest: (name) => this.manifest(name),
      readFiles: (m, files, schema) => this.readFiles(m, files, schema),
    };
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
      await recovery.recoverAll(store.ctx);
    } catch (e) {
      await backend.close().catch(() => undefined);
      await files.close().catch(() => undefined);
      throw e;
    }
    backend.watch((event) => store.syncDataset(event.dataset));
    housekeeping.startMaintenance(store.ctx, store);
    return store;
  }

  /** Whether this process runs background maintenance now (always in local mode; the lease holder among replicas). */
  get maintains(): boolean {
    return this.ctx.lease?.held ?? false;
  }

  /**
   * Registers this process as a replica reachable at `url` (FLIGHT_ADVERTISE_URL): other replicas
   * list it, and it lists them, as endpoint locations. Call once the server listens.
   */
  registerReplica(url: string): Promise<ReplicaRegistration> {
    return this.ctx.catalogBackend.registerReplica(url);
  }

  /** Resolves once no background compaction or retention check is running or queued. */
  maintenanceIdle(): Promise<void> {
    return this.ctx.scheduler?.idle() ?? Promise.resolve();
  }

  datasetDir(name: string): string {
    return join(this.options.dataDir, name);
  }

  /** Where data files live, as logs name it: the data directory, or `object store s3://bucket/prefix at <endpoint>`. */
  get dataDescription(): string {
    return this.ctx.files.store.description;
  }

  /** Where a dataset's data files are in the object store: its directory in local mode, `<name>` under DATA_URL. */
  dataPrefix(name: string): string {
    return this.ctx.files.store.local ? this.datasetDir(name) : name;
  }

  /** Which catalog the store uses, as errors and logs name it. */
  get catalogDescription(): string {
    return this.ctx.catalogBackend.description;
  }

  listDatasets(): Manifest[] {
    return [...this.ctx.catalogs.values()].map((c) => c.current).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Catches up with another process's commit, create or drop of `name` (store-recovery.ts). */
  syncDataset(name: string): Promise<void> {
    return recovery.syncDataset(this.ctx, name);
  }

  private catalog(name: string): DatasetCatalogHandle {
    checkDatasetName(name);
    const c = this.ctx.catalogs.get(name);
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
    return this.ctx.locks.run(spec.name, async () => {
      if (this.ctx.catalogs.has(spec.name)) throw new StorageError('ALREADY_EXISTS', `dataset "${spec.name}" already exists`);
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
      const catalog = await this.ctx.catalogBackend.createDataset(manifest);
      if (!this.ctx.catalogBackend.shared) await fsyncPath(this.options.dataDir);
      this.ctx.catalogs.set(spec.name, catalog);
      return describeManifest(manifest);
    });
  }

  async describe(name: string, version: number | null = null): Promise<DatasetDescription & { oldest_version: number }> {
    const m = await this.manifestAt(name, version);
    return { ...describeManifest(this.ctx.backfill?.withEncodedSizes(name, m) ?? m), oldest_version: this.catalog(name).oldestVersion };
  }

  // Commits: store-commit.ts.

  put(name: string, schema: Schema, batches: AsyncIterable<RecordBatch>, signal?: AbortSignal): Promise<PutOutcome> {
    return writing.put(this.ctx, name, schema, batches, signal);
  }

  newFileWriter(name: string): DataFileWriter {
    return writing.newFileWriter(this.ctx, name);
  }

  commitPrepared(name: string, files: DataFileWriter, change: (current: Manifest) => Change | null): Promise<Manifest | null> {
    return writing.commitPrepared(this.ctx, name, files, change);
  }

  // Maintenance of versions and files: store-housekeeping.ts.

  setRetention(name: string, retention: string | null, nowMs?: number): Promise<DatasetDescription> {
    return housekeeping.setRetention(this.ctx, name, retention, nowMs);
  }

  applyRetention(name: string, nowMs?: number): Promise<void> {
    return housekeeping.applyRetention(this.ctx, name, nowMs);
  }

  deleteRange(name: string, symbols: string[] | null, startNs: bigint | null, endNs: bigint | null): Promise<{ rows_deleted: number; version: number }> {
    return housekeeping.deleteRange(this.ctx, name, symbols, startNs, endNs);
  }

  compact(name: string, partition: string | null): Promise<{ files_before: number; files_after: number; version: number }> {
    return housekeeping.compact(this.ctx, name, partition);
  }

  evolveSchema(name: string, add: FieldSpec[]): Promise<DatasetDescription> {
    return housekeeping.evolveSchema(this.ctx, name, add);
  }

  vacuum(name: string, retain: number): Promise<{ files_removed: number; bytes_freed: number; oldest_version: number }> {
    return housekeeping.vacuum(this.ctx, name, retain);
  }

  drop(name: string): Promise<{ dropped: true }> {
    return housekeeping.drop(this.ctx, name);
  }

  // Reads.

  /** Exactly the Parquet files of a version (the current one when `asOf` is null), as absolute file:// URLs. */
  async listFiles(name: string, asOf: number | null): Promise<{ version: number; files: ListedFile[] }> {
    const m = await this.manifestAt(name, asOf);
    // Only Parquet files are listed: the version's pending ones are waited for.
    return listedFiles(this.ctx.backfill ? await this.ctx.backfill.withParquet(name, m) : m, (path) => this.ctx.files.store.url(join(this.dataPrefix(name), path)));
  }

  /** Resolves once no pending file waits for its Parquet (tests, shutdown). */
  parquetIdle(): Promise<void> {
    return this.ctx.backfill?.idle() ?? Promise.resolve();
  }

  /** Distinct values of the first key column, sorted, from the files' recorded keys (not their rows). */
  async listKeys(name: string, prefix: string | null, limit: number): Promise<KeyList> {
    return this.ctx.keys.list(this.manifest(name), this.dataPrefix(name), prefix, limit);
  }

  /** The rows of some files of a version, conformed to `schema`. */
  async readFiles(m: Manifest, files: FileEntry[], schema: Schema): Promise<RecordBatch[]> {
    const out: RecordBatch[] = [];
    for (const f of files) {
      // On local disk the IPC copy decodes for nothing (and is all a pending file has).
      const copy = f.ipc && (this.ctx.files.store.local || isPending(f)) ? tableFromIPC(await this.ctx.files.source.readAll(join(this.dataPrefix(m.name), f.ipc.path))) : null;
      const table = copy && copy.numRows === f.rows ? copy : tableFromIPC(await this.ctx.parquet.readIpc(join(this.dataPrefix(m.name), f.path)));
      for (const b of table.batches) out.push(conformBatch(b, schema));
    }
    return out;
  }

  /** Plans a query into endpoints over one committed version. */
  async plan(query: ReadQuery): Promise<ReadPlan> {
    return planRead(await this.manifestAt(query.dataset, query.asOf), query, this.options);
  }

  /** Reads one endpoint's rows: a slice pinned to a version. */
  async read(slice: ReadSlice): Promise<SliceData> {
    const m = await this.manifestAt(slice.query.dataset, slice.query.asOf);
    this.noteSizes(m, slice.partitions);
    return readSlice(this.readContext(m.name), m, slice, this.options);
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
    return readSlice(this.readContext(m.name), m, slice, this.options, event.written);
  }

  /** What a read of dataset `name` reads through. */
  private readContext(name: string): ReadContext {
    const { cache, parquet, tier } = this.ctx;
    return { datasetDir: this.dataPrefix(name), cache, parquet, tier, windows: this.windows };
  }

  /** Gives the object store's reader the sizes the catalog records of a read's files: a cold read then needs no HEAD per file. */
  private noteSizes(m: Manifest, partitions: readonly string[] | null): void {
    if (this.ctx.files.store.local) return;
    const prefix = this.dataPrefix(m.name);
    const wanted = partitions ? new Set(partitions) : null;
    for (const f of m.files) {
      if (wanted && !wanted.has(f.partition)) continue;
      this.ctx.files.knowSize(join(prefix, f.path), f.bytes);
      if (f.ipc) this.ctx.files.knowSize(join(prefix, f.ipc.path), f.ipc.bytes);
    }
  }

  // Statistics.

  /** Decoded bytes the reads in progress hold in their files' windows (every DoGet stream's share). */
  readWindowStats(): ReadWindowStats {
    return this.windows.stats();
  }

  cacheStats(): CacheStats {
    return this.ctx.cache.stats();
  }

  /** The disk tier of object-store files; null in local mode or with CACHE_DISK_MB=0. */
  diskCacheStats(): DiskCacheStats | null {
    return this.ctx.files.diskCacheStats();
  }

  /** Files opened and bytes read, by Parquet reads and by ranged reads of the IPC tier. */
  ioStats(): ParquetIoStats {
    const parquet = this.ctx.parquet.ioStats();
    const tier = this.ctx.tier.ioStats();
    return { filesOpened: parquet.filesOpened + tier.filesOpened, bytesRead: parquet.bytesRead + tier.bytesRead };
  }

  /** Stops background maintenance and the encoder threads, and waits for catalog checkpoints being written (the store stays readable). */
  async close(): Promise<void> {
    const ctx = this.ctx;
    await ctx.scheduler?.close();
    await ctx.backfill?.close();
    await ctx.lease?.close();
    await Promise.all([...ctx.catalogs.values()].map((c) => c.close()));
    await Promise.all([...ctx.syncing.values()].map((s) => s.done));
    await ctx.catalogBackend.close();
    await ctx.encoder.close();
    await ctx.files.close();
  }
}
