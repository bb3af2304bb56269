import { mkdtemp, readdir, rm, truncate, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiskCache } from './disk-cache.js';
import { LocalDirectoryStore } from './local-directory-store.js';

const silent = { warn: () => undefined };
const KiB = 1024;

/** An origin of real files whose ranged reads are counted. */
function countingOrigin(store: LocalDirectoryStore) {
  const calls: [string, number, number][] = [];
  return {
    calls,
    fetch: (key: string) => (offset: number, length: number) => {
      calls.push([key, offset, length]);
      return store.getRange(key, offset, length);
    },
  };
}

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 255;
  return out;
}

async function blockFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const sub of await readdir(dir)) for (const f of await readdir(join(dir, sub))) out.push(join(dir, sub, f));
  return out;
}

describe('disk tier (DiskCache)', () => {
  let dir: string;
  let origin: LocalDirectoryStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fd-disk-cache-'));
    origin = new LocalDirectoryStore(join(dir, 'origin'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fetches only the blocks a range touches, in one GET per run, and serves them again from disk', async () => {
    const body = bytes(100 * KiB, 1);
    await origin.put('d/a.bin', body);
    const cache = await DiskCache.open(join(dir, 'cache'), 1024 * KiB, silent, { blockBytes: 16 * KiB, recentBlocks: 0 });
    const o = countingOrigin(origin);
    // A footer-like read at the end: one block (the last, 4 KiB long).
    expect(await cache.read('a', body.length, body.length - 100, 100, o.fetch('d/a.bin'))).toEqual(body.subarray(body.length - 100));
    expect(o.calls).toEqual([['d/a.bin', 96 * KiB, 4 * KiB]]);
    // A range over blocks 1..2: one GET of both.
    expect(await cache.read('a', body.length, 20 * KiB, 20 * KiB, o.fetch('d/a.bin'))).toEqual(body.subarray(20 * KiB, 40 * KiB));
    expect(o.calls[1]).toEqual(['d/a.bin', 16 * KiB, 32 * KiB]);
    // Whole: only the blocks not cached yet (0 and 3..5), in two runs.
    expect(await cache.read('a', body.length, 0, body.length, o.fetch('d/a.bin'))).toEqual(body);
    expect(o.calls.slice(2)).toEqual([
      ['d/a.bin', 0, 16 * KiB],
      ['d/a.bin', 48 * KiB, 48 * KiB],
    ]);
    const before = o.calls.length;
    expect(await cache.read('a', body.length, 5, 70 * KiB, o.fetch('d/a.bin'))).toEqual(body.subarray(5, 5 + 70 * KiB));
    expect(o.calls.length).toBe(before);
    expect(cache.stats()).toMatchObject({ misses: 7, entries: 7, fetches: 4, bytesFetched: body.length });
    // Reopened: the blocks on disk are found again.
    const again = await DiskCache.open(join(dir, 'cache'), 1024 * KiB, silent, { blockBytes: 16 * KiB });
    // Sizes are known from the block names: a cached object needs no HEAD.
    expect(again.knownSize('a')).toBe(body.length);
    expect(again.knownSize('never-cached')).toBeUndefined();
    expect(await again.read('a', body.length, 0, body.length, o.fetch('d/a.bin'))).toEqual(body);
    expect(o.calls.length).toBe(before);
    expect(again.stats()).toMatchObject({ hits: 7, misses: 0 });
  });

  it('evicts least recently used blocks to stay under its bound', async () => {
    const block = 8 * KiB;
    const bound = 4 * (block + 4) + 100; // four blocks with their checksums
    const cache = await DiskCache.open(join(dir, 'cache'), bound, silent, { blockBytes: block, recentBlocks: 0 });
    const files = [0, 1, 2, 3].map((i) => bytes(2 * block, i));
    for (const [i, f] of files.entries()) await origin.put(`d/f${i}`, f);
    const o = countingOrigin(origin);
    for (const [i, f] of files.entries()) expect(await cache.read(`f${i}`, f.length, 0, f.length, o.fetch(`d/f${i}`))).toEqual(f);
    const stats = cache.stats();
    expect(stats.bytes).toBeLessThanOrEqual(bound);
    expect(stats.entries).toBe(4);
    expect(stats.evictions).toBe(4);
    expect((await blockFiles(join(dir, 'cache'))).length).toBe(4);
    // f3 and f2 (the newest) are on disk; f0 must be fetched again.
    const calls = o.calls.length;
    await cache.read('f3', files[3]!.length, 0, files[3]!.length, o.fetch('d/f3'));
    await cache.read('f2', files[2]!.length, 0, files[2]!.length, o.fetch('d/f2'));
    expect(o.calls.length).toBe(calls);
    expect(await cache.read('f0', files[0]!.length, 0, files[0]!.length, o.fetch('d/f0'))).toEqual(files[0]);
    expect(o.calls.length).toBe(calls + 1);
    expect(cache.stats().bytes).toBeLessThanOrEqual(bound);
  });

  it('drops a torn or corrupt block and fetches it again', async () => {
    const body = bytes(40 * KiB, 7);
    await origin.put('d/t.bin', body);
    const cacheDir = join(dir, 'cache');
    const first = await DiskCache.open(cacheDir, 1024 * KiB, silent, { blockBytes: 16 * KiB });
    const o = countingOrigin(origin);
    await first.read('t', body.length, 0, body.length, o.fetch('d/t.bin'));
    const [b0, b1] = first.blockNames('t', body.length).map((n) => first.path(n));
    await truncate(b0!, 1000); // torn: short
    const flipped = await readFile(b1!);
    flipped[10] = flipped[10]! ^ 0xff; // corrupt: right length, wrong bytes
    await writeFile(b1!, flipped);
    const reopened = await DiskCache.open(cacheDir, 1024 * KiB, silent, { blockBytes: 16 * KiB });
    const calls = o.calls.length;
    expect(await reopened.read('t', body.length, 0, body.length, o.fetch('d/t.bin'))).toEqual(body);
    expect(reopened.stats()).toMatchObject({ corrupt: 2, hits: 1, misses: 2 });
    expect(o.calls.slice(calls)).toEqual([['d/t.bin', 0, 32 * KiB]]);
    // Repaired on disk.
    const third = await DiskCache.open(cacheDir, 1024 * KiB, silent, { blockBytes: 16 * KiB });
    expect(await third.read('t', body.length, 0, body.length, o.fetch('d/t.bin'))).toEqual(body);
    expect(third.stats()).toMatchObject({ corrupt: 0, hits: 3 });
  });

  it('never evicts a block a reader holds, and shares one fetch between concurrent misses', async () => {
    const block = 8 * KiB;
    const cache = await DiskCache.open(join(dir, 'cache'), 2 * (block + 4), silent, { blockBytes: block, recentBlocks: 0 });
    const files = Array.from({ length: 12 }, (_, i) => bytes(block, i));
    for (const [i, f] of files.entries()) await origin.put(`d/c${i}`, f);
    const o = countingOrigin(origin);
    // Many readers of few files at once, while others push the cache past its bound.
    const reads: Promise<void>[] = [];
    for (let round = 0; round < 5; round++) {
      for (const [i, f] of files.entries()) {
        reads.push(cache.read(`c${i}`, f.length, 0, f.length, o.fetch(`d/c${i}`)).then((got) => expect(got).toEqual(f)));
      }
    }
    await Promise.all(reads);
    expect(cache.stats().bytes).toBeLessThanOrEqual(2 * (block + 4));
    // Concurrent misses of one block share a fetch.
    const fresh = bytes(block, 99);
    await origin.put('d/shared', fresh);
    const before = o.calls.length;
    const together = await Promise.all(Array.from({ length: 8 }, () => cache.read('shared', fresh.length, 0, fresh.length, o.fetch('d/shared'))));
    for (const t of together) expect(t).toEqual(fresh);
    expect(o.calls.length - before).toBe(1);
  });

  it('removes temporary files an interrupted write left', async () => {
    const cacheDir = join(dir, 'cache');
    const cache = await DiskCache.open(cacheDir, 1024 * KiB, silent, { blockBytes: 16 * KiB });
    await origin.put('d/x', bytes(1000, 3));
    await cache.read('x', 1000, 0, 1000, countingOrigin(origin).fetch('d/x'));
    const [one] = await blockFiles(cacheDir);
    await writeFile(join(one!, '..', '.tmp-leftover'), 'half');
    const reopened = await DiskCache.open(cacheDir, 1024 * KiB, silent, { blockBytes: 16 * KiB });
    expect((await blockFiles(cacheDir)).map((p) => p.split('/').pop())).toEqual([one!.split('/').pop()]);
    expect(reopened.stats().entries).toBe(1);
  });
});
