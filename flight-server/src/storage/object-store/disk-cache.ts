/**
 * The disk tier: blocks of object-store files kept in a local directory (CACHE_DIR), bounded in
 * bytes (CACHE_DISK_MB), least recently used out first.
 *
 * - A file is cached as fixed-size blocks of 64 KiB (the last one shorter), so a selective read (a Parquet
 *   footer, a few column chunks, one key's rows of an IPC tier file) fetches and keeps only the
 *   blocks it touches; missing blocks next to each other are fetched with one ranged GET.
 * - Each block file ends with the CRC-32 of its bytes and is written under a temporary name, then
 *   renamed: a torn or corrupt block (wrong length or checksum) is dropped and fetched again.
 * - A block being read is pinned: eviction passes over it, so no reader loses a file under it.
 * - Concurrent misses of one block share one fetch.
 * - On start the directory is scanned: blocks already there count against the bound in the order
 *   they were last written; leftover temporary files are removed.
 * Objects are immutable (every data file has a fresh name), so a block never goes stale.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { readWholeFile } from '../io/read-whole-file.js';

export interface DiskCacheStats {
  /** Blocks read from disk. */
  hits: number;
  /** Blocks fetched from the object store. */
  misses: number;
  /** Ranged GETs made for missing blocks. */
  fetches: number;
  /** Bytes fetched from the object store. */
  bytesFetched: number;
  /** Blocks found torn or corrupt, dropped and fetched again. */
  corrupt: number;
  evictions: number;
  entries: number;
  bytes: number;
  capacityBytes: number;
}

interface Entry {
  bytes: number;
  pins: number;
}

const TMP = '.tmp-';
const TRAILER = 4;
/**
 * Default block size: small enough that one key's rows of an IPC tier file (a slice of each column's
 * buffer, the buffers spread over the file) fetch a small part of it; whole-file reads still fetch
 * their missing blocks in one ranged GET.
 */
const BLOCK_BYTES = 64 * 1024;

/** Fetches `length` bytes of the object at `offset`. */
export type RangeFetch = (offset: number, length: number) => Promise<Uint8Array>;

export interface Logger {
  warn(obj: object, msg?: string): void;
}

export class DiskCache {
  /** Map order is recency order: first out first. */
  private readonly entries = new Map<string, Entry>();
  private readonly fetching = new Map<string, Promise<Uint8Array>>();
  /** The last few blocks read, in memory: many small reads of one file (key runs, binary search) read the disk once. */
  private readonly recent = new Map<string, Uint8Array>();
  /** Object sizes by object hash, from the block names (`<hash>.<size>.<index>`): a cached file needs no HEAD. */
  private readonly sizes = new Map<string, number>();
  private bytes = 0;
  /** Names temporary files apart when two writes of one block overlap. */
  private writes = 0;
  private readonly counters = { hits: 0, misses: 0, fetches: 0, bytesFetched: 0, corrupt: 0, evictions: 0 };

  private constructor(
    readonly dir: string,
    readonly capacityBytes: number,
    readonly blockBytes: number,
    private readonly log: Logger,
    private readonly recentBlocks: number,
  ) {}

  /** Opens (creating) the cache directory and indexes the blocks already in it. */
  static async open(dir: string, capacityBytes: number, log: Logger, opts: { blockBytes?: number; recentBlocks?: number } = {}): Promise<DiskCache> {
    const cache = new DiskCache(dir, capacityBytes, opts.blockBytes ?? BLOCK_BYTES, log, opts.recentBlocks ?? 64);
    await mkdir(dir, { recursive: true });
    const found: { name: string; bytes: number; at: number }[] = [];
    for (const sub of await readdir(dir, { withFileTypes: true })) {
      if (!sub.isDirectory()) continue;
      for (const name of await readdir(join(dir, sub.name))) {
        const path = join(dir, sub.name, name);
        if (name.startsWith(TMP)) {
          await unlink(path).catch(() => undefined);
          continue;
        }
        const s = await stat(path).catch(() => null);
        if (s?.isFile()) found.push({ name, bytes: s.size, at: s.mtimeMs });
      }
    }
    for (const f of found.sort((a, b) => a.at - b.at)) {
      const m = BLOCK_NAME.exec(f.name);
      if (!m) continue;
      cache.entries.set(f.name, { bytes: f.bytes, pins: 0 });
      cache.bytes += f.bytes;
      cache.sizes.set(m[1]!, Number(m[2]));
    }
    await cache.evict();
    return cache;
  }

  /**
   * Bytes [offset, offset + length) of the object `id` of `size` bytes (clamped to it), from
   * cached blocks, fetching the missing ones (adjacent ones in one GET) and keeping them.
   */
  async read(id: string, size: number, offset: number, length: number, fetch: RangeFetch): Promise<Uint8Array> {
    const end = Math.min(size, offset + Math.max(0, length));
    if (end <= offset) return new Uint8Array(0);
    const B = this.blockBytes;
    const first = Math.floor(offset / B);
    const last = Math.floor((end - 1) / B);
    const base = `${blockBase(id)}.${size}`;
    const blocks: (Uint8Array | Promise<Uint8Array> | null)[] = [];
    for (let i = first; i <= last; i++) blocks.push(await this.cached(`${base}.${i}`, Math.min(B, size - i * B)));
    // From here to the fetches' registration nothing awaits: a block another reader began fetching
    // meanwhile is waited for, not fetched twice.
    blocks.forEach((b, k) => {
      if (b === null) blocks[k] = this.fetching.get(`${base}.${first + k}`) ?? null;
    });
    // Runs of missing blocks, each fetched with one ranged GET.
    for (let k = 0; k < blocks.length; ) {
      if (blocks[k] !== null) {
        k++;
        continue;
      }
      let j = k;
      while (j + 1 < blocks.length && blocks[j + 1] === null) j++;
      const from = (first + k) * B;
      const to = Math.min(size, (first + j + 1) * B);
      const run = fetch(from, to - from).then((bytes) => {
        if (bytes.byteLength !== to - from) throw new Error(`object ${id}: asked for ${to - from} bytes at ${from}, got ${bytes.byteLength}`);
        this.counters.fetches++;
        this.counters.bytesFetched += bytes.byteLength;
        return bytes;
      });
      for (let i = k; i <= j; i++) {
        const name = `${base}.${first + i}`;
        const at = (i - k) * B;
        const block = run.then((bytes) => bytes.subarray(at, Math.min(bytes.byteLength, at + B)));
        this.counters.misses++;
        const stored = block.then((b) => this.store(name, b).then(() => b));
        this.fetching.set(name, stored);
        const settled = () => {
          if (this.fetching.get(name) === stored) this.fetching.delete(name);
        };
        stored.then(settled, settled);
        blocks[i] = stored;
      }
      k = j + 1;
    }
    const parts = await Promise.all(blocks as (Uint8Array | Promise<Uint8Array>)[]);
    const out = new Uint8Array(end - offset);
    let at = 0;
    parts.forEach((block, n) => {
      const blockStart = (first + n) * B;
      const lo = Math.max(offset, blockStart) - blockStart;
      const hi = Math.min(end, blockStart + block.byteLength) - blockStart;
      out.set(block.subarray(lo, hi), at);
      at += hi - lo;
    });
    return out;
  }

  /** Keeps a whole object just written (write-through), so reading it back fetches nothing. */
  async insert(id: string, body: Uint8Array): Promise<void> {
    const base = `${blockBase(id)}.${body.byteLength}`;
    for (let i = 0; i * this.blockBytes < body.byteLength; i++) {
      await this.store(`${base}.${i}`, body.subarray(i * this.blockBytes, Math.min(body.byteLength, (i + 1) * this.blockBytes)));
    }
  }

  /** A block from memory or disk, the fetch already running for it, or null when it must be fetched. */
  private async cached(name: string, expected: number): Promise<Uint8Array | Promise<Uint8Array> | null> {
    const recent = this.recent.get(name);
    if (recent) {
      this.touch(name);
      this.counters.hits++;
      return recent;
    }
    const pending = this.fetching.get(name);
    if (pending) return pending;
    const entry = this.entries.get(name);
    if (!entry) return null;
    entry.pins++;
    this.touch(name);
    let bytes: Buffer | null = null;
    try {
      bytes = await readWholeFile(this.path(name)).catch(() => null);
    } finally {
      entry.pins--;
      // Eviction passed over this block while it was read: finish it now.
      if (entry.pins === 0 && this.bytes > this.capacityBytes) void this.evict();
    }
    const data = bytes && bytes.byteLength === expected + TRAILER ? bytes.subarray(0, expected) : null;
    if (!data || crc32(data) !== bytes!.readUInt32LE(expected)) {
      this.counters.corrupt++;
      this.log.warn({ block: name, bytes: bytes?.byteLength ?? null, expected: expected + TRAILER }, 'disk cache block torn or corrupt; fetching it again');
      await this.remove(name);
      return null;
    }
    this.counters.hits++;
    this.remember(name, data);
    return data;
  }

  /** The size of an object some block of which was ever cached here (objects never change). */
  knownSize(id: string): number | undefined {
    return this.sizes.get(blockBase(id));
  }

  /** Writes a block (temporary file, rename) and evicts down to the bound. */
  private async store(name: string, block: Uint8Array): Promise<void> {
    this.remember(name, block);
    const m = BLOCK_NAME.exec(name);
    if (m) this.sizes.set(m[1]!, Number(m[2]));
    const bytes = block.byteLength + TRAILER;
    if (bytes > this.capacityBytes || this.entries.has(name)) return;
    const path = this.path(name);
    const tmp = join(this.dir, name.slice(0, 2), `${TMP}${name}.${process.pid}.${++this.writes}`);
    const trailer = Buffer.alloc(TRAILER);
    trailer.writeUInt32LE(crc32(block), 0);
    try {
      await mkdir(join(this.dir, name.slice(0, 2)), { recursive: true });
      await writeFile(tmp, Buffer.concat([block, trailer]));
      await rename(tmp, path);
    } catch (err) {
      // A full or failing cache disk costs refetches, never a failed read.
      await unlink(tmp).catch(() => undefined);
      this.log.warn({ err, block: name }, 'disk cache block not written');
      return;
    }
    if (this.entries.has(name)) return;
    this.entries.set(name, { bytes, pins: 0 });
    this.bytes += bytes;
    await this.evict();
  }

  /** Least recently used blocks out until the bound holds; pinned blocks stay. */
  private async evict(): Promise<void> {
    if (this.bytes <= this.capacityBytes) return;
    const out: string[] = [];
    for (const [name, entry] of this.entries) {
      if (this.bytes <= this.capacityBytes) break;
      if (entry.pins > 0) continue;
      this.entries.delete(name);
      this.recent.delete(name);
      this.bytes -= entry.bytes;
      this.counters.evictions++;
      out.push(name);
    }
    await Promise.all(out.map((name) => unlink(this.path(name)).catch(() => undefined)));
  }

  private async remove(name: string): Promise<void> {
    const entry = this.entries.get(name);
    if (entry) {
      this.entries.delete(name);
      this.bytes -= entry.bytes;
    }
    this.recent.delete(name);
    await unlink(this.path(name)).catch(() => undefined);
  }

  private touch(name: string): void {
    const entry = this.entries.get(name);
    if (!entry) return;
    this.entries.delete(name);
    this.entries.set(name, entry);
  }

  private remember(name: string, block: Uint8Array): void {
    if (this.recentBlocks <= 0) return;
    this.recent.delete(name);
    this.recent.set(name, block);
    for (const k of this.recent.keys()) {
      if (this.recent.size <= this.recentBlocks) break;
      this.recent.delete(k);
    }
  }

  /** Where a block lives: `<dir>/<first two hex digits>/<name>`. */
  path(name: string): string {
    return join(this.dir, name.slice(0, 2), name);
  }

  /** The block file names of an object (for tests and diagnostics). */
  blockNames(id: string, size: number): string[] {
    const base = `${blockBase(id)}.${size}`;
    return Array.from({ length: Math.ceil(size / this.blockBytes) }, (_, i) => `${base}.${i}`);
  }

  stats(): DiskCacheStats {
    return { ...this.counters, entries: this.entries.size, bytes: this.bytes, capacityBytes: this.capacityBytes };
  }
}

const BLOCK_NAME = /^([0-9a-f]{40})\.(\d+)\.\d+$/;

function blockBase(id: string): string {
  return createHash('sha256').update(id).digest('hex').slice(0, 40);
}
