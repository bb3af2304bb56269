/**
 * The seam between the engine and where data files live. Keys are `/`-separated paths relative
 * to the store's root: `<dataset>/<partition>/part-….parquet` and `<dataset>/_ipc/…`, the same
 * Hive layout in a local directory (DATA_DIR) and under an object store prefix (DATA_URL).
 *
 * Objects are written once and never changed (every data file has a fresh name), so a cached
 * copy never goes stale. Nothing here is a commit point: a file becomes part of a dataset only
 * when a catalog version names it; conditional writes are never relied on.
 */

export interface ObjectInfo {
  /** Relative to the store's root. */
  key: string;
  size: number;
  lastModified: Date;
}

/** A byte source that reads ranges of data files (the read side: Parquet footers, column chunks, IPC tier slices). */
export interface FileSource {
  /** A Blob-like view of the object for parquet-wasm (size + lazy slices), reading only the ranges asked for. */
  blob(key: string): Promise<BlobLike>;
  /** Random access for many small reads of one object. */
  open(key: string): Promise<RandomAccessFile>;
  /** The whole object. */
  readAll(key: string): Promise<Uint8Array>;
}

/** What parquet-wasm's `ParquetFile.fromFile` uses of a Blob. */
export interface BlobLike {
  readonly size: number;
  slice(start?: number, end?: number): { arrayBuffer(): Promise<ArrayBuffer> };
}

export interface RandomAccessFile {
  /** Up to `length` bytes at `position` (fewer only at the end of the object). */
  read(position: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/**
 * An object's bytes: one buffer, or pieces in order (an Arrow IPC stream as its writer made it,
 * written to a local file without first joining it into one buffer).
 */
export type ObjectBody = Uint8Array | readonly Uint8Array[];

export function bodyByteLength(body: ObjectBody): number {
  return body instanceof Uint8Array ? body.byteLength : body.reduce((n, piece) => n + piece.byteLength, 0);
}

/** The body as one buffer (joined when it is in pieces). */
export function wholeBody(body: ObjectBody): Uint8Array {
  return body instanceof Uint8Array ? body : Buffer.concat(body);
}

export interface ObjectStore {
  /** Names the store in errors and logs: `object store s3://bucket/prefix at http://host:port`, or the directory. */
  readonly description: string;
  /** Whether objects are files of a local directory (local mode). */
  readonly local: boolean;
  /** Writes an object whole; readers see all of it or none of it. */
  put(key: string, body: ObjectBody): Promise<void>;
  /** Makes objects just put durable before a catalog version names them (fsync of directories locally). */
  flush(keys: readonly string[]): Promise<void>;
  /** `length` bytes at `offset` (fewer only at the end); NOT_FOUND when the object does not exist. */
  getRange(key: string, offset: number, length: number): Promise<Uint8Array>;
  get(key: string): Promise<Uint8Array>;
  /** The object's size, or null when it does not exist. */
  head(key: string): Promise<{ size: number } | null>;
  /** Every object whose key starts with `prefix`. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Deletes objects; a missing one is not an error. */
  delete(keys: readonly string[]): Promise<void>;
  /** Local directories only: removes empty directories below `prefix` but those named in `keep` at its top. */
  removeEmptyDirectories?(prefix: string, keep: readonly string[]): Promise<void>;
  /** The URL an outside engine reads the object by: `file:///…` or `s3://bucket/prefix/…`. */
  url(key: string): string;
  close(): Promise<void>;
}
