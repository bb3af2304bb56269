/**
 * The hot cache: recently read Parquet data kept as Arrow IPC streams, bounded in bytes (LRU).
 * A repeated read forwards the cached bytes without decoding Parquet again. Data files are
 * immutable, so an entry never goes stale; entries of files a commit retires are dropped.
 */
export interface CacheStats {
  hits: number;
  misses: number;
  entries: number;
  bytes: number;
  capacityBytes: number;
  evictions: number;
}

export class IpcCache {
  private readonly entries = new Map<string, Uint8Array>();
  /** Loads in progress, so concurrent readers of one cold entry share a single load. */
  private readonly loading = new Map<string, Promise<Uint8Array>>();
  private bytes = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  constructor(readonly capacityBytes: number) {}

  static key(filePath: string, columns: readonly string[], rowGroups: readonly number[] | null): string {
    return `${filePath}|${columns.join(',')}|${rowGroups ? rowGroups.join(',') : '*'}`;
  }

  get(key: string): Uint8Array | undefined {
    const hit = this.entries.get(key);
    if (hit === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Re-insert: Map iteration order is the recency order.
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit;
  }

  /** The entry for `key`, loading (once, however many ask at the same time) and keeping it on a miss. */
  async getOrLoad(key: string, load: () => Promise<Uint8Array>): Promise<Uint8Array> {
    const hit = this.get(key);
    if (hit) return hit;
    let pending = this.loading.get(key);
    if (!pending) {
      pending = load().then((value) => {
        this.set(key, value);
        return value;
      });
      const settled = () => this.loading.delete(key);
      pending.then(settled, settled);
      this.loading.set(key, pending);
    }
    return pending;
  }

  set(key: string, value: Uint8Array): void {
    if (value.byteLength > this.capacityBytes) return;
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= old.byteLength;
    }
    this.entries.set(key, value);
    this.bytes += value.byteLength;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.capacityBytes) break;
      this.entries.delete(k);
      this.bytes -= v.byteLength;
      this.evictions++;
    }
  }

  /** Drops entries of files under `prefix` whose relative path is listed ('*' = all of them). */
  retire(prefix: string, paths: readonly string[]): void {
    const all = paths.includes('*');
    const wanted = new Set(paths.map((p) => `${prefix}/${p}`));
    for (const [k, v] of this.entries) {
      const file = k.slice(0, k.indexOf('|'));
      if (all ? file.startsWith(`${prefix}/`) : wanted.has(file)) {
        this.entries.delete(k);
        this.bytes -= v.byteLength;
      }
    }
  }

  stats(): CacheStats {
    return {
      hits: this.hits,
      misses: this.misses,
      entries: this.entries.size,
      bytes: this.bytes,
      capacityBytes: this.capacityBytes,
      evictions: this.evictions,
    };
  }
}
