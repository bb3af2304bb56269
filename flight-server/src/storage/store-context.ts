/**
 * What the parts of the dataset store share: the open datasets' catalog handles, the per-dataset
 * locks, the readers and cache of data files, the Parquet encoder and backfill, the commit feed,
 * the options and the logger. dataset-store.ts (the façade) builds one; store-recovery.ts,
 * store-commit.ts and store-housekeeping.ts are functions of it. Also the store's options, and
 * the announcement of a committed version, which both local commits and catching up with other
 * processes' commits make.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import type { RowRange } from './kernels/search.js';
import type { CommitFeed } from './commit-feed.js';
import type { CatalogBackend, DatasetCatalogHandle, MaintenanceLease } from './catalog/catalog-backend.js';
import type { KeyLister } from './catalog/key-listing.js';
import type { Change } from './catalog/version-record.js';
import type { MaintenanceScheduler } from './maintenance/maintenance-scheduler.js';
import type { KeyedMutex } from './keyed-mutex.js';
import type { FileEntry, Manifest } from './manifest.js';
import type { ParquetReader } from './io/parquet-reader.js';
import type { IpcTierRangeReader } from './io/ipc-tier-ranges.js';
import type { DataFiles, DataFilesOptions } from './object-store/data-files.js';
import type { ParquetEncoderPool } from './write/parquet-encoder-pool.js';
import type { ParquetBackfill } from './write/parquet-backfill.js';
import type { IpcCache } from './io/ipc-cache.js';
import type { ReadOptions } from './read/reader.js';

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

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** A commit's change, plus the rows a DoPut wrote into files it merged with stored rows (for followers). */
export type StoreChange = Change & { written?: ReadonlyMap<string, readonly RowRange[]> };

export interface StoreContext {
  readonly options: StoreOptions;
  readonly log: Logger;
  readonly catalogBackend: CatalogBackend;
  /** Where data files live: DATA_DIR, or DATA_URL's object store read through the disk tier. */
  readonly files: DataFiles;
  /** The open datasets' catalog handles, by name. */
  readonly catalogs: Map<string, DatasetCatalogHandle>;
  /** Catching up with other processes' commits, one at a time per dataset (catalog events coalesce). */
  readonly syncing: Map<string, { again: boolean; done: Promise<void> }>;
  readonly locks: KeyedMutex;
  /** Held by background compaction, vacuum and drop: vacuum must not remove files a merge is writing. */
  readonly maintenanceLocks: KeyedMutex;
  /** Set once background maintenance starts (store-housekeeping.ts). */
  scheduler: MaintenanceScheduler | null;
  lease: MaintenanceLease | null;
  readonly cache: IpcCache;
  readonly parquet: ParquetReader;
  readonly tier: IpcTierRangeReader;
  readonly keys: KeyLister;
  readonly encoder: ParquetEncoderPool;
  /** Encodes pending files' Parquet (local mode; null in shared mode, which writes Parquet inline). */
  readonly backfill: ParquetBackfill | null;
  /** Whether a DoPut commits pending files (write-ahead ingest). */
  readonly deferParquet: boolean;
  /** Each durable commit (and drop) of this process, announced to followers. */
  readonly commits: CommitFeed;
  /** The open dataset's catalog handle, or NOT_FOUND (INVALID_ARGUMENT for a malformed name). */
  catalog(name: string): DatasetCatalogHandle;
  /** The dataset's directory under DATA_DIR. */
  datasetDir(name: string): string;
  /** Where a dataset's data files are in the object store: its directory in local mode, `<name>` under DATA_URL. */
  dataPrefix(name: string): string;
  /** The current manifest, or NOT_FOUND. */
  manifest(name: string): Manifest;
  /** The rows of some files of a version, conformed to `schema`. */
  readFiles(m: Manifest, files: FileEntry[], schema: Schema): Promise<RecordBatch[]>;
}

/** Tells followers of `name` about a version just committed (nothing to do when none listens). */
export function announce(ctx: StoreContext, name: string, next: Manifest, change: Pick<StoreChange, 'written'>): void {
  if (ctx.commits.listenerCount() === 0) return;
  ctx.commits.emit({
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
