/**
 * LocalDirectoryStore.put against another process's sweep of empty directories (replicas sharing a
 * DATA_DIR): a directory put has just created may be removed before its file is open. Found by
 * the rolling-restart test (test/src/rolling-restart.test.ts): a replica starting up swept the new
 * partition directory of a DoPut running on the other one, which failed with ENOENT.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/** Paths whose next open() has their directory removed first, as the other process's sweep would. */
const sweepBeforeOpen = new Set<string>();

vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...fs,
    open: async (path: string, ...rest: unknown[]) => {
      if (sweepBeforeOpen.delete(path)) await fs.rmdir(dirname(path));
      return (fs.open as (...a: unknown[]) => ReturnType<typeof fs.open>)(path, ...rest);
    },
  };
});

const { LocalDirectoryStore } = await import('./local-directory-store.js');

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'fd-local-store-'));
});
afterEach(async () => {
  sweepBeforeOpen.clear();
  await rm(root, { recursive: true, force: true });
});

describe('LocalDirectoryStore.put', () => {
  it('creates the directory again when a sweep removed it between mkdir and open', async () => {
    const store = new LocalDirectoryStore(root);
    const key = 'ticks/date=2024-01-03/hour=20/part-1.parquet';
    sweepBeforeOpen.add(`${store.path(key)}.tmp`);
    await store.put(key, Buffer.from('rows'));
    expect(sweepBeforeOpen.size, 'the sweep ran').toBe(0);
    expect((await readFile(store.path(key))).toString()).toBe('rows');
  });

  it('writes a body in pieces as their concatenation, more pieces than one writev takes (IOV_MAX 1024)', async () => {
    const store = new LocalDirectoryStore(root);
    const pieces = Array.from({ length: 3000 }, (_, i) => Buffer.alloc((i * 37) % 600, i % 251));
    pieces.push(Buffer.alloc(3 * 1024 * 1024, 7));
    const key = 'bars/date=2024-01-03/part-2.arrow';
    await store.put(key, pieces);
    expect((await readFile(store.path(key))).equals(Buffer.concat(pieces))).toBe(true);
  });
});
