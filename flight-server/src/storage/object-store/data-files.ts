/**
 * Where a store's data files live, as the engine sees them: an object store to write, list and
 * delete them, and a file source to read them.
 *
 * - Local mode (DATA_DIR): the directory is both; reads go straight to disk, as they always did.
 * - Object store (DATA_URL): reads go through the disk tier (CACHE_DIR, CACHE_DISK_MB) by byte
 *   ranges, so a selective read fetches only what it touches; files written by this server are
 *   kept in the tier as they are put (write-through), so merges and reads of fresh data fetch
 *   nothing. With CACHE_DISK_MB=0 every read is a ranged GET.
 */
import { StorageError } from '../errors.js';
import { PromiseLru } from '../io/promise-lru.js';
import { DiskCache, type DiskCacheStats, type Logger } from './disk-cache.js';
import { LocalDirectoryStore } from './local-directory-store.js';
import { bodyByteLength, wholeBody, type BlobLike, type FileSource, type ObjectBody, type ObjectStore, type RandomAccessFile } from './object-store.js';
import { parseS3Url, S3ObjectStore } from './s3-store.js';

export interface DataFilesOptions {
  /** Local mode's directory (used when dataUrl is absent). */
  dataDir: string;
  /** DATA_URL: `s3://bucket/prefix`; null or absent: local mode. */
  dataUrl?: string | null;
  /** S3_ENDPOINT; null: AWS S3. */
  s3Endpoint?: string | null;
  /** CACHE_DIR: the disk tier's directory. */
  cacheDir?: string;
  /** CACHE_DISK_MB in bytes; 0 turns the disk tier off. */
  cacheDiskBytes?: number;
  /** The disk tier's block size (default 64 KiB). */
  cacheBlockBytes?: number;
}

export class DataFiles {
  private constructor(
    readonly store: ObjectStore,
    readonly source: FileSource,
    readonly cache: DiskCache | null,
    private readonly sizes: ObjectSizes | null,
  ) {}

  static async open(opts: DataFilesOptions, log: Logger): Promise<DataFiles> {
    if (!opts.dataUrl) {
      const local = new LocalDirectoryStore(opts.dataDir);
      return new DataFiles(local, local, null, null);
    }
    const store = new S3ObjectStore(parseS3Url(opts.dataUrl), { endpoint: opts.s3Endpoint ?? null });
    return DataFiles.over(store, opts, log);
  }

  /** Data files on `store`, read through a disk tier (unless cacheDiskBytes is 0). */
  static async over(store: ObjectStore, opts: Pick<DataFilesOptions, 'cacheDir' | 'cacheDiskBytes' | 'cacheBlockBytes'>, log: Logger): Promise<DataFiles> {
    const bytes = opts.cacheDiskBytes ?? 10240 * 1024 * 1024;
    if (bytes > 0 && !opts.cacheDir) throw new Error('a disk tier needs a cache directory');
    const cache = bytes > 0 ? await DiskCache.open(opts.cacheDir!, bytes, log, opts.cacheBlockBytes ? { blockBytes: opts.cacheBlockBytes } : {}) : null;
    const sizes = new ObjectSizes(store, cache);
    return new DataFiles(store, new CachedSource(store, cache, sizes), cache, sizes);
  }

  /** Writes a data file (and keeps it in the disk tier). */
  async put(key: string, body: ObjectBody): Promise<void> {
    // The disk tier keeps one buffer: join pieces once, for it and the store alike.
    const bytes = this.cache ? wholeBody(body) : body;
    await this.store.put(key, bytes);
    this.sizes?.set(key, bodyByteLength(bytes));
    if (this.cache) await this.cache.insert(cacheId(this.store, key), wholeBody(bytes)); // already whole: no copy
  }

  /** Records an object's size as the catalog has it, so reading it needs no HEAD (object store only). */
  knowSize(key: string, size: number): void {
    this.sizes?.set(key, size);
  }

  diskCacheStats(): DiskCacheStats | null {
    return this.cache?.stats() ?? null;
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/** Identifies an object in the disk tier across restarts and stores. */
function cacheId(store: ObjectStore, key: string): string {
  return `${store.url(key)}`;
}

/** Object sizes, looked up once (objects never change). */
class ObjectSizes {
  private readonly known = new PromiseLru<number>(65_536);

  constructor(
    private readonly store: ObjectStore,
    private readonly cache: DiskCache | null,
  ) {}

  get(key: string): Promise<number> {
    return this.known.get(key, async () => {
      // A file the disk tier has held needs no HEAD (and reads on while the store is down).
      const cached = this.cache?.knownSize(cacheId(this.store, key));
      if (cached !== undefined) return cached;
      const head = await this.store.head(key);
      if (!head) throw new StorageError('NOT_FOUND', `${this.store.url(key)} does not exist in the ${this.store.description}`);
      return head.size;
    });
  }

  set(key: string, size: number): void {
    void this.known.get(key, () => Promise.resolve(size));
  }
}

/** Reads through the disk tier (or straight by ranged GETs without one). */
class CachedSource implements FileSource {
  constructor(
    private readonly store: ObjectStore,
    private readonly cache: DiskCache | null,
    private readonly sizes: ObjectSizes,
  ) {}

  private async read(key: string, size: number, offset: number, length: number): Promise<Uint8Array> {
    const fetch = (at: number, n: number) => this.store.getRange(key, at, n);
    if (!this.cache) {
      const end = Math.min(size, offset + length);
      return end > offset ? fetch(offset, end - offset) : new Uint8Array(0);
    }
    return this.cache.read(cacheId(this.store, key), size, offset, length, fetch);
  }

  async blob(key: string): Promise<BlobLike> {
    const size = await this.sizes.get(key);
    return new RangeBlob((offset, length) => this.read(key, size, offset, length), 0, size);
  }

  async open(key: string): Promise<RandomAccessFile> {
    const size = await this.sizes.get(key);
    return {
      read: (position, length) => this.read(key, size, position, length),
      close: async () => undefined,
    };
  }

  async readAll(key: string): Promise<Uint8Array> {
    const size = await this.sizes.get(key);
    return this.read(key, size, 0, size);
  }
}

/** A Blob-shaped window of an object: slicing is free, bytes are read when asked for. */
class RangeBlob implements BlobLike {
  constructor(
    private readonly readRange: (offset: number, length: number) => Promise<Uint8Array>,
    private readonly start: number,
    private readonly end: number,
  ) {}

  get size(): number {
    return this.end - this.start;
  }

  slice(start = 0, end = this.size): RangeBlob {
    const clamp = (v: number) => Math.max(0, Math.min(this.size, v < 0 ? this.size + v : v));
    const s = clamp(start);
    const e = Math.max(s, clamp(end));
    return new RangeBlob(this.readRange, this.start + s, this.start + e);
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = await this.readRange(this.start, this.size);
    return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
      ? bytes.buffer
      : (bytes.slice().buffer as ArrayBuffer);
  }
}
