import { describe, expect, it } from 'vitest';
import { IpcCache } from './ipc-cache.js';

const bytes = (n: number) => new Uint8Array(n);

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
});
