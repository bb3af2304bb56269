/**
 * A bounded map of things opened per file (footers, directories), least recently used first out.
 * Values are promises so concurrent readers of one file share a single open; a failed open is
 * forgotten so the next read tries again.
 */
export class PromiseLru<T> {
  private readonly entries = new Map<string, Promise<T>>();

  constructor(
    private readonly capacity: number,
    /** Releases what an evicted or forgotten value holds. */
    private readonly release: (value: T) => void = () => undefined,
  ) {}

  /** The value for `key`, opening it with `load` when not kept. */
  get(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.entries.get(key);
    if (hit) {
      // Re-insert: Map iteration order is the recency order.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const loading = load();
    loading.catch(() => {
      if (this.entries.get(key) === loading) this.entries.delete(key);
    });
    this.entries.set(key, loading);
    for (const old of this.entries.keys()) {
      if (this.entries.size <= this.capacity) break;
      this.delete(old);
    }
    return loading;
  }

  delete(key: string): void {
    const hit = this.entries.get(key);
    if (!hit) return;
    this.entries.delete(key);
    void hit.then(this.release, () => undefined);
  }

  /** Deletes every key below a directory. */
  deleteUnder(dir: string): void {
    for (const key of [...this.entries.keys()]) if (key.startsWith(`${dir}/`)) this.delete(key);
  }
}
