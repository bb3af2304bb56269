import { mkdtemp, readdir, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BARS_FIELDS, makeBars } from '../../../test-support/bars.js';
import { DatasetStore } from '../dataset-store.js';
import type { ReadSlice } from './read-plan.js';
import { wholeDataset, type ReadQuery } from '@flightdeck/contract';

const silent = { info: () => undefined, warn: () => undefined };
const SYMBOLS = ['AAPL', 'MSFT', 'NVDA'];
const DAYS = 3;

let dir: string;
let store: DatasetStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fd-read-ahead-'));
  // endpointTargetRows 1: one endpoint per day partition.
  store = await DatasetStore.open(
    { dataDir: dir, cacheBytes: 64 * 1024 * 1024, ipcTier: true, rowGroupRows: 1024, maxPutBytes: 64 * 1024 * 1024, endpointTargetRows: 1, outputBatchRows: 1024 },
    silent,
  );
  await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
  const batch = makeBars({ symbols: SYMBOLS, start: '2024-01-02T00:00:00Z', minutes: DAYS * 1440 });
  async function* one() {
    yield batch;
  }
  await store.put('bars', batch.schema, one());
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** Reads one endpoint to its end; its row count. */
async function readEndpoint(slice: ReadSlice): Promise<number> {
  const data = await store.read(slice);
  let rows = 0;
  if (data.kind === 'ipc') for await (const ipc of data.streams) rows += tableFromIPC(ipc).numRows;
  else for await (const b of data.batches) rows += b.numRows;
  return rows;
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; cache: ${JSON.stringify(store.cacheStats())}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('read-ahead of the next partition', () => {
  it('loads the next endpoint’s files into the hot cache while the current one is read, one partition ahead', async () => {
    const plan = await store.plan(wholeDataset('bars'));
    expect(plan.endpoints).toHaveLength(DAYS);
    const [first, second, third] = plan.endpoints.map((e) => e.slice);

    expect(await readEndpoint(first!)).toBe(SYMBOLS.length * 1440);
    // The first day's file, and the second's read ahead; not the third.
    await until(() => store.cacheStats().entries === 2, 'the second partition read ahead');
    await new Promise((r) => setTimeout(r, 50));
    expect(store.cacheStats()).toMatchObject({ entries: 2, misses: 2, hits: 0 });

    // The second endpoint is served from what was read ahead: a hit. It then read the third day
    // ahead (that load's miss); it has no miss of its own.
    expect(await readEndpoint(second!)).toBe(SYMBOLS.length * 1440);
    expect(store.cacheStats()).toMatchObject({ hits: 1, misses: 3 });
    await until(() => store.cacheStats().entries === 3, 'the third partition read ahead');

    expect(await readEndpoint(third!)).toBe(SYMBOLS.length * 1440);
    // The last partition has nothing after it; a second scan is all hits, and reads nothing ahead.
    expect(store.cacheStats()).toMatchObject({ hits: 2, misses: 3, entries: 3 });
    for (const e of plan.endpoints) await readEndpoint(e.slice);
    expect(store.cacheStats()).toMatchObject({ hits: 5, misses: 3, entries: 3 });
  });

  it('reads nothing ahead for a read that filters rows (its next endpoint does not read whole files)', async () => {
    const query: ReadQuery = { ...wholeDataset('bars'), symbols: ['MSFT'] };
    const plan = await store.plan(query);
    expect(plan.endpoints).toHaveLength(DAYS);
    expect(await readEndpoint(plan.endpoints[0]!.slice)).toBe(1440);
    await new Promise((r) => setTimeout(r, 100));
    expect(store.cacheStats().entries).toBe(0);
  });
});

describe('a read-ahead that fails', () => {
  it('reports nothing itself; the next endpoint’s own read meets the fault and reports it', async () => {
    const plan = await store.plan(wholeDataset('bars'));
    const [first, second] = plan.endpoints.map((e) => e.slice);
    // The second day's tier copy is lost before the first endpoint is read (and read ahead of).
    const tierDir = join(dir, 'bars', '_ipc', 'date=2024-01-03');
    for (const f of await readdir(tierDir)) await unlink(join(tierDir, f));

    expect(await readEndpoint(first!)).toBe(SYMBOLS.length * 1440);
    await new Promise((r) => setTimeout(r, 100));
    // The read-ahead was tried (its miss) and failed: neither kept nor left loading, no error thrown.
    expect(store.cacheStats()).toMatchObject({ misses: 2, entries: 1 });
    await expect(readEndpoint(second!)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
