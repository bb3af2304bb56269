import { describe, expect, it } from 'vitest';
import { IpcCache } from './ipc-cache.js';

const bytes = (n: number) => new Uint8Array(n);

/** One pass over `keys` through lookup(), as a full scan asks for its files; how many were hits. */
async function scan(cache: IpcCache, keys: string[], size: number): Promise<{ hits: number; cached: string[] }> {
  const before = cache.stats().hits;
  const cached: string[] = [];
  for (const k of keys) {
    const got = cache.lookup(k, size, async () => bytes(size));
    if (got) {
      await got;
      cached.push(k);
    }
  }
  return { hits: cache.stats().hits - before, cached };
}

/** A load that resolves only when the test says so, counting how often it was started. */
function pendingLoad(): { load: () => Promise<Uint8Array>; loads: number; finish: (v: Uint8Array) => void } {
  let resolveLast: ((v: Uint8Array) => void) | undefined;
  const state = {
    loads: 0,
    load: () => {
      state.loads++;
      return new Promise<Uint8Array>((resolve) => (resolveLast = resolve));
    },
    finish: (v: Uint8Array) => resolveLast!(v),
  };
  return state;
}

describe('IpcCache', () => {
  it('counts hits and misses and evicts the least recently used entry past its capacity', () => {
    const cache = new IpcCache(100);
    cache.set('a', bytes(40));
    cache.set('b', bytes(40));
    expect(cache.get('a')).toBeDefined(); // a is now the most recent
    cache.set('c', bytes(40)); // 120 > 100: b goes
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('c')).toBeDefined();
    expect(cache.stats()).toMatchObject({ hits: 2, misses: 1, entries: 2, bytes: 80, evictions: 1 });
  });

  it('never holds an entry larger than its capacity', () => {
    const cache = new IpcCache(10);
    cache.set('big', bytes(11));
    expect(cache.stats().entries).toBe(0);
    expect(cache.lookup('big', 11, async () => bytes(11))).toBeUndefined();
  });

  it('keeps a stable part of a cyclic scan larger than itself, where LRU would never hit', async () => {
    const cache = new IpcCache(100);
    const keys = Array.from({ length: 10 }, (_, i) => `f${i}`);
    const first = await scan(cache, keys, 20);
    expect(first).toEqual({ hits: 0, cached: keys.slice(0, 5) });
    for (let pass = 0; pass < 4; pass++) {
      // The five kept on the first pass are hits every time; the other five are read around the cache.
      expect(await scan(cache, keys, 20)).toEqual({ hits: 5, cached: keys.slice(0, 5) });
    }
    expect(cache.stats()).toMatchObject({ entries: 5, bytes: 100, evictions: 0, hits: 20, misses: 30, notAdmitted: 25 });
  });

  it('lets in what is asked for again once what it holds went unused', async () => {
    const cache = new IpcCache(100);
    const old = Array.from({ length: 10 }, (_, i) => `old${i}`);
    await scan(cache, old, 20);
    await scan(cache, old, 20);
    const fresh = ['new0', 'new1'];
    // First miss: no room, and nothing known of these keys.
    expect((await scan(cache, fresh, 20)).cached).toEqual([]);
    // Second miss: used more recently than anything cached, so it takes the oldest entries' room.
    expect((await scan(cache, fresh, 20)).cached).toEqual(fresh);
    expect(await scan(cache, fresh, 20)).toEqual({ hits: 2, cached: fresh });
    expect(cache.stats()).toMatchObject({ entries: 5, bytes: 100, evictions: 2 });
    expect(cache.get('old0')).toBeUndefined();
    expect(cache.get('old4')).toBeDefined();
  });

  it('shares one load of a cold entry among concurrent readers', async () => {
    const cache = new IpcCache(100);
    const loader = pendingLoad();
    const a = cache.lookup('k', 10, loader.load)!;
    const b = cache.lookup('k', 10, loader.load)!;
    const c = cache.getOrLoad('k', loader.load);
    loader.finish(bytes(10));
    const [va, vb, vc] = await Promise.all([a, b, c]);
    expect(loader.loads).toBe(1);
    expect(vb).toBe(va);
    expect(vc).toBe(va);
    expect(cache.stats()).toMatchObject({ entries: 1, bytes: 10, misses: 1 });
  });

  it('holds room for admitted loads in progress, so concurrent admissions stay within capacity', async () => {
    const cache = new IpcCache(100);
    const pending: ((v: Uint8Array) => void)[] = [];
    const load = () => new Promise<Uint8Array>((resolve) => pending.push(resolve));
    const admitted = ['a', 'b', 'c'].map((k) => cache.lookup(k, 40, load));
    expect(admitted.map((p) => p !== undefined)).toEqual([true, true, false]);
    for (const resolve of pending) resolve(bytes(40));
    await Promise.all(admitted);
    expect(cache.stats()).toMatchObject({ entries: 2, bytes: 80, notAdmitted: 1 });
  });

  it('prefetches what a read will ask for next: one load, counted as one miss, then a hit', async () => {
    const cache = new IpcCache(100);
    const loader = pendingLoad();
    const ahead = cache.prefetch('next', 30, loader.load);
    expect(ahead).toBeDefined();
    // The read arrives while the prefetch is still loading: it joins it.
    const read = cache.lookup('next', 30, loader.load)!;
    loader.finish(bytes(30));
    expect(await read).toBe(await ahead!);
    expect(loader.loads).toBe(1);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1, entries: 1, bytes: 30 });
    // Kept or loading: a prefetch does nothing and counts nothing.
    expect(cache.prefetch('next', 30, loader.load)).toBeUndefined();
    expect(loader.loads).toBe(1);
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 1 });
  });

  it('prefetches only what its admission rule lets in, evicting nothing a read would not', async () => {
    const cache = new IpcCache(100);
    await scan(cache, ['a', 'b'], 50);
    const before = cache.stats();
    let loads = 0;
    // Full, and 'c' was never asked for: a read of it would be kept out, so no prefetch either.
    expect(cache.prefetch('c', 50, async () => (loads++, bytes(50)))).toBeUndefined();
    expect(loads).toBe(0);
    expect(cache.stats()).toEqual(before);
    expect(cache.get('a')).toBeDefined();
    expect(cache.get('b')).toBeDefined();
  });

  it('returns what getOrLoad loaded even when it keeps none of it', async () => {
    const cache = new IpcCache(50);
    await cache.getOrLoad('a', async () => bytes(40));
    const value = await cache.getOrLoad('b', async () => bytes(40));
    expect(value.byteLength).toBe(40);
    expect(cache.stats()).toMatchObject({ entries: 1, bytes: 40, notAdmitted: 1 });
  });

  it('retires the entries of files a commit took out, or of a whole dataset', () => {
    const cache = new IpcCache(1000);
    cache.set(IpcCache.key('/d/bars/date=1/f1.parquet', ['a'], null), bytes(1));
    cache.set(IpcCache.key('/d/bars/date=1/f1.parquet', ['a', 'b'], [0]), bytes(1));
    cache.set(IpcCache.key('/d/bars/date=1/f2.parquet', ['a'], null), bytes(1));
    cache.set(IpcCache.key('/d/other/date=1/f1.parquet', ['a'], null), bytes(1));
    cache.retire('/d/bars', ['date=1/f1.parquet']);
    expect(cache.stats().entries).toBe(2);
    cache.retire('/d/bars', ['*']);
    expect(cache.stats().entries).toBe(1);
    expect(cache.stats().bytes).toBe(1);
  });

  it('does not keep a load that finishes after its file was retired', async () => {
    const cache = new IpcCache(1000);
    const key = IpcCache.key('/d/bars/date=1/f1.parquet', ['<ipc-tier>'], null);
    let finish!: (v: Uint8Array) => void;
    const loading = cache.lookup(key, 10, () => new Promise<Uint8Array>((resolve) => (finish = resolve)))!;
    cache.retire('/d/bars', ['date=1/f1.parquet']);
    finish(bytes(10));
    expect((await loading).byteLength).toBe(10);
    expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0 });
    // Its room is free again.
    expect(cache.lookup('other', 1000, async () => bytes(1000))).toBeDefined();
  });
});
