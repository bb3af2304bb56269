/**
 * The catalog seam: what the store needs of a catalog, whichever keeps it. Two implement it: the
 * file catalog (catalog/file-catalog.ts, `<dataset>/_catalog/` beside the data: the embedded
 * default, one process per data directory) and the PostgreSQL catalog (catalog/postgres/, shared
 * by every replica on one `CATALOG_URL`). Both keep the same model: a dataset is a sequence of
 * versions, each adding and removing files; a file carries the version that added it and the one
 * that removed it, never a full file list per version.
 */
import type { Manifest } from '../manifest.js';
import { StorageError } from '../errors.js';
import type { Change } from './version-record.js';

/** One dataset's catalog as a process holds it: the newest version it knows, and the way to the others. */
export interface DatasetCatalogHandle {
  /** The newest version this process knows. */
  readonly current: Manifest;
  /** The oldest version `as_of` can read (older ones were vacuumed). */
  readonly oldestVersion: number;
  /**
   * Commits `change`, planned on version `baseVersion`, as version `baseVersion + 1`, atomically
   * with its adds and removes. {@link CommitConflict} when that version was taken meanwhile (or
   * this process's current version is not the base).
   */
  commit(change: Change, baseVersion: number): Promise<Manifest>;
  /** A committed version's manifest; NOT_FOUND when newer than the current one or vacuumed. */
  manifestAt(version: number): Promise<Manifest>;
  /**
   * Catches up with versions other processes committed. Null when nothing changed; `dropped` when
   * the dataset no longer exists (or was dropped and created again: open it anew).
   */
  refresh(): Promise<CatalogAdvance | null>;
  /** Every stored file a retained version names (Parquet files and IPC tier copies), relative to the dataset directory. */
  referencedPaths(): Promise<Set<string>>;
  /**
   * Keeps the newest `retain` versions. Returns the oldest kept and the stored files of the
   * versions it dropped that no retained version names (the caller deletes them).
   */
  vacuum(retain: number): Promise<{ oldest: number; released: string[] }>;
  /** Waits for background catalog writes; the handle stays readable. */
  close(): Promise<void>;
}

export interface CatalogAdvance {
  dropped: boolean;
  /** Parquet paths the new versions removed (their cached decodes can go). */
  removed: string[];
  /** Stored files a vacuum elsewhere deleted (footers and tier indexes of them can go). */
  released: string[];
}

/** A commit, create or drop another process made (LISTEN/NOTIFY or polling); version null: dropped. */
export interface CatalogEvent {
  dataset: string;
  version: number | null;
}

export interface CatalogBackend {
  /** Names the catalog in errors and logs, e.g. `file catalog` or `PostgreSQL catalog at host:5432/db`. */
  readonly description: string;
  /**
   * True when other processes commit to the same catalog: a lost race re-plans on the newer
   * version, and files no version names are deleted only once older than a grace period (another
   * process may be writing them for its commit).
   */
  readonly shared: boolean;
  /** The datasets with a committed version 0. */
  listDatasets(): Promise<string[]>;
  /** Opens a dataset's catalog; null when it has no committed version. */
  openDataset(name: string): Promise<DatasetCatalogHandle | null>;
  /** Commits version 0 of a new dataset; ALREADY_EXISTS when it exists. */
  createDataset(first: Manifest): Promise<DatasetCatalogHandle>;
  /** Removes a dataset from the catalog (the caller then deletes its files). */
  dropDataset(name: string, handle: DatasetCatalogHandle): Promise<void>;
  /** Calls `listener` for every change another process makes (never for none, in the file catalog). */
  watch(listener: (event: CatalogEvent) => void): void;
  /**
   * The right to run background maintenance (compaction, retention): always held by the one
   * process of a file catalog; held by one replica at a time on a shared one.
   */
  maintenanceLease(): MaintenanceLease;
  /**
   * Registers this process as a replica reachable at `url` (FLIGHT_ADVERTISE_URL) and keeps the
   * list of live replicas; the registration ends with `close()`.
   */
  registerReplica(url: string): Promise<ReplicaRegistration>;
  close(): Promise<void>;
}

/** Whether this process may run background maintenance now; `onChange` hears each gain and loss. */
export interface MaintenanceLease {
  readonly held: boolean;
  onChange(listener: (held: boolean) => void): void;
  /** Gives the lease up (another replica takes it over). */
  close(): Promise<void>;
}

/** This process's entry among the replicas clients can reach. */
export interface ReplicaRegistration {
  /** The live replicas' URLs (this one's included), in a stable order. */
  liveUrls(): readonly string[];
  /** Deregisters: other replicas stop listing this one at once. */
  close(): Promise<void>;
}

/** The next version was taken by another writer: re-plan on the newer version and retry. */
export class CommitConflict extends StorageError {
  override name = 'CommitConflict';
  constructor(message: string) {
    super('ABORTED', message);
  }
}

/**
 * The catalog could not be reached (UNAVAILABLE, naming it). `outcomeUnknown`: the connection
 * failed while the commit was being confirmed, so the version may or may not exist; its files are
 * kept (a later refresh shows whether it did; if not, the sweep of unreferenced files removes them).
 */
export class CatalogUnavailable extends StorageError {
  override name = 'CatalogUnavailable';
  constructor(
    message: string,
    readonly outcomeUnknown = false,
  ) {
    super('UNAVAILABLE', message);
  }
}
