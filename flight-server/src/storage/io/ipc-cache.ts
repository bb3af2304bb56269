/**
 * The hot cache: recently read Parquet data kept as Arrow IPC streams, bounded in bytes. A
 * repeated read forwards the cached bytes without decoding Parquet again. Data files are
 * immutable, so an entry never goes stale; entries of files a commit retires are dropped.
 *
 * Scan resistant: while there is room an entry is taken on its first miss, but once the cache is
 * full a new entry may only push out entries used less recently than its own previous use (a key
 * missed once, or evicted, is remembered for a while without its bytes). Scans of a dataset larger
 * than the cache thus keep one stable part of it cached and read the rest around the cache,
 * where plain LRU would evict each entry just before the next scan asks for it (never a hit); an
 * entry asked for again after the cache's contents went unused does get in, on its second miss.
 */
export interface CacheStats {
  hits: number;
  misses: number;
  entries: number;
  bytes: number;
  capacityBytes: number;
  evictions: number;
  /** Misses the admission rule kept out of the cache (read around it: streamed or used once); optional for stand-ins built elsewhere. */
  notAdmitted?: number;
}

interface Entry {
  value: Uint8Array;
  /** When it was last used (the cache's access clock). */
  used: number;
}

/** A load in progress, so concurrent readers of one cold entry share it. */
interface Loading {
  value: Promise<Uint8Array>;
  /** Bytes set aside for it when it was admitted before its load (lookup); 0 otherwise. */
  reserved: number;
  /** Retired while loading: not kept when it arrives. */
  retired: boolean;
}

/** How many keys missed or evicted the cache remembers (their last use, not their bytes). */
const HISTORY_KEYS = 16_384;

export class IpcCache {
  /** In recency order (Map iteration order): least recently used first. */
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Loading>();
  /** Last use of keys not in the cache, oldest first, at most HISTORY_KEYS. */
  private readonly history = new Map<string, number>();
  private clock = 0;
  private bytes = 0;
  /** Bytes set aside for admitted loads in progress. */
  private reserved = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;
  private notAdmitted = 0;

  constructor(readonly capacityBytes: number) {}

  static key(filePath: string, columns: readonly string[], rowGroups: readonly number[] | null): string {
    return `${filePath}|${columns.join(',')}|${rowGroups ? rowGroups.join(',') : '*'}`;
  }

  get(key: string): Uint8Array | undefined {
    const hit = this.touch(key);
    if (hit === undefined) {
      this.misses++;
      this.remember(key, ++this.clock);
    }
    return hit;
  }

  /**
   * The entry for `key`, or its load: joined when one is in progress, started (and kept) on a
   * miss the admission rule lets in for `bytes`. Undefined when the cache declines it: the caller
   * reads it some other way, without holding it whole.
   */
  lookup(key: string, bytes: number, load: () => Promise<Uint8Array>): Promise<Uint8Array> | undefined {
    const found = this.find(key);
    if ('value' in found) return found.value;
    const { previous } = found;
    if (!this.makeRoom(bytes, previous)) {
      this.notAdmitted++;
      return undefined;
    }
    return this.startLoad(key, load, bytes, previous);
  }

  /**
   * Starts loading `key` ahead of the read expected to ask for it (read-ahead), when it is neither
   * kept nor loading and the admission rule would let it in now, as it would that read. Counted as
   * the miss it is; the read it anticipates then finds it loading or kept, a hit. A key that is
   * kept or loading is left alone (not made more recent, no hit counted), and one the rule keeps
   * out is left to its read (which counts its own miss). The load, or undefined when none started.
   */
  prefetch(key: string, bytes: number, load: () => Promise<Uint8Array>): Promise<Uint8Array> | undefined {
    if (this.entries.has(key) || this.loading.has(key)) return undefined;
    const previous = this.history.get(key);
    if (!this.makeRoom(bytes, previous)) return undefined;
    this.misses++;
    this.remember(key, ++this.clock);
    return this.startLoad(key, load, bytes, previous);
  }

  /**
   * The entry for `key`, loading it once however many ask at the same time. The loaded value is
   * kept when the admission rule lets it in; it is returned either way.
   */
  async getOrLoad(key: string, load: () => Promise<Uint8Array>): Promise<Uint8Array> {
    const found = this.find(key);
    if ('value' in found) return found.value;
    return this.startLoad(key, load, 0, found.previous);
  }

  /**
   * A kept entry, or a load in progress (both count as hits); else the miss is counted and
   * remembered, and the key's previous use (for the admission rule) answered.
   */
  private find(key: string): { value: Promise<Uint8Array> } | { previous: number | undefined } {
    const hit = this.touch(key);
    if (hit) return { value: Promise.resolve(hit) };
    const pending = this.loading.get(key);
    if (pending) {
      this.hits++;
      return { value: pending.value };
    }
    this.misses++;
    const previous = this.history.get(key);
    this.remember(key, ++this.clock);
    return { previous };
  }

  /** Keeps `value` under `key` as the most recently used entry, evicting the least recent ones. */
  set(key: string, value: Uint8Array): void {
    if (value.byteLength > this.capacityBytes) return;
    this.drop(key);
    this.makeRoom(value.byteLength, Infinity);
    this.insert(key, value);
  }

  /** Drops entries of files under `prefix` whose relative path is listed ('*' = all of them). */
  retire(prefix: string, paths: readonly string[]): void {
    const all = paths.includes('*');
    const wanted = new Set(paths.map((p) => `${prefix}/${p}`));
    const matches = (k: string) => {
      const file = k.slice(0, k.indexOf('|'));
      return all ? file.startsWith(`${prefix}/`) : wanted.has(file);
    };
    for (const k of [...this.entries.keys()]) if (matches(k)) this.drop(k);
    for (const k of [...this.history.keys()]) if (matches(k)) this.history.delete(k);
    for (const [k, l] of this.loading) if (matches(k)) l.retired = true;
  }

  stats(): CacheStats {
    return {
      hits: this.hits,
      misses: this.misses,
      entries: this.entries.size,
      bytes: this.bytes,
      capacityBytes: this.capacityBytes,
      evictions: this.evictions,
      notAdmitted: this.notAdmitted,
    };
  }

  /** A hit, made the most recently used entry. */
  private touch(key: string): Uint8Array | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.hits++;
    entry.used = ++this.clock;
    // Re-insert: Map iteration order is the recency order.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Loads `key` once, holding `reserved` bytes of room for it (0: not admitted before its load) until it settles. */
  private startLoad(key: string, load: () => Promise<Uint8Array>, reserved: number, previous: number | undefined): Promise<Uint8Array> {
    this.reserved += reserved;
    const loading: Loading = { value: load(), reserved, retired: false };
    this.loading.set(key, loading);
    const settled = () => {
      this.loading.delete(key);
      this.reserved -= loading.reserved;
      loading.reserved = 0;
    };
    loading.value.then(
      (value) => {
        const admitted = reserved > 0;
        settled();
        if (loading.retired) return;
        if (admitted || this.makeRoom(value.byteLength, previous)) this.insert(key, value);
        else this.notAdmitted++;
      },
      settled,
    );
    return loading.value;
  }

  /**
   * Evicts least recently used entries until `bytes` more fit, when every one of them was last
   * used before `previous` (the newcomer's last use before this miss; undefined: none, it may then
   * only take free room). Evicts nothing when that is not so. Whether `bytes` now fit.
   */
  private makeRoom(bytes: number, previous: number | undefined): boolean {
    if (bytes > this.capacityBytes) return false;
    let excess = this.bytes + this.reserved + bytes - this.capacityBytes;
    if (excess <= 0) return true;
    if (previous === undefined) return false;
    const victims: string[] = [];
    for (const [k, e] of this.entries) {
      if (excess <= 0) break;
      if (e.used >= previous) return false;
      victims.push(k);
      excess -= e.value.byteLength;
    }
    // Room held by loads in progress cannot be taken back.
    if (excess > 0) return false;
    for (const k of victims) {
      const entry = this.entries.get(k)!;
      this.drop(k);
      this.remember(k, entry.used);
      this.evictions++;
    }
    return true;
  }

  private insert(key: string, value: Uint8Array): void {
    this.drop(key);
    this.history.delete(key);
    // A value that no longer fits (set() or an unreserved load racing another) evicts by recency alone.
    let excess = this.bytes + this.reserved + value.byteLength - this.capacityBytes;
    for (const [k, e] of this.entries) {
      if (excess <= 0) break;
      this.drop(k);
      this.remember(k, e.used);
      this.evictions++;
      excess -= e.value.byteLength;
    }
    if (excess > 0) return;
    this.entries.set(key, { value, used: ++this.clock });
    this.bytes += value.byteLength;
  }

  private drop(key: string): void {
    const old = this.entries.get(key);
    if (!old) return;
    this.entries.delete(key);
    this.bytes -= old.value.byteLength;
  }

  private remember(key: string, used: number): void {
    this.history.delete(key);
    this.history.set(key, used);
    if (this.history.size > HISTORY_KEYS) this.history.delete(this.history.keys().next().value!);
  }
}
