/**
 * Reads hold a bounded window of their files: a small window here, so that every file is read in
 * many windows that cross stored batches and row groups, from the IPC tier, from Parquet row groups
 * decoded into the hot cache, and from Parquet decoded window by window.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC, type RecordBatch } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ReadQuery, wholeDataset } from '@flightdeck/contract';
import { BARS_FIELDS, makeBars } from '../../../test-support/bars.js';
import { concatBatches } from '../kernels/concat.js';
import { sortPermutation } from '../kernels/sort.js';
import { takeRows } from '../kernels/take-filter.js';
import { DatasetStore } from '../dataset-store.js';
import { resample } from './resample.js';

const silent = { info: () => undefined, warn: () => undefined };
const WINDOW = 256 * 1024;
const SYMBOLS = Array.from({ length: 12 }, (_, i) => `S${String(i).padStart(2, '0')}`);
const DAYS = 7;

async function* from(batches: RecordBatch[]): AsyncGenerator<RecordBatch> {
  yield* batches;
}

async function readRows(store: DatasetStore, query: ReadQuery): Promise<Record<string, unknown>[]> {
  const data = await store.read({ query: { ...query, asOf: 1 }, partitions: null });
  const batches =
    data.kind === 'batches'
      ? data.batches
      : (async function* () {
          for await (const ipc of data.streams) yield* tableFromIPC(ipc).batches;
        })();
  const rows: Record<string, unknown>[] = [];
  for await (const b of batches) for (const r of b) rows.push(r!.toJSON());
  return rows;
}

describe('reads in bounded windows', () => {
  let dir: string;
  const stores: Record<string, DatasetStore> = {};
  let all: RecordBatch;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fd-windows-'));
    // Seven day files of every symbol (3,600 rows each): a whole-dataset read merges all seven.
    const batches = Array.from({ length: DAYS }, (_, d) => makeBars({ symbols: SYMBOLS, start: new Date(Date.UTC(2024, 0, 2 + d, 9)).toISOString(), minutes: 300 }));
    const joined = concatBatches(batches[0]!.schema, batches);
    all = takeRows(joined, sortPermutation(joined, ['symbol'], 'ts'));
    const base = { cacheBytes: 64 * 1024 * 1024, rowGroupRows: 1024, maxPutBytes: 64 * 1024 * 1024, endpointTargetRows: 1_000_000, outputBatchRows: 1000, readWindowBytes: WINDOW };
    const kinds = {
      tier: { ipcTier: true },
      'parquet, row groups through the hot cache': { ipcTier: false },
      'parquet, window by window': { ipcTier: false, cacheBytes: 0 },
    };
    for (const [name, opts] of Object.entries(kinds)) {
      const store = await DatasetStore.open({ ...base, ...opts, dataDir: join(dir, name.replace(/\W+/g, '-')) }, silent);
      await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
      await store.put('bars', batches[0]!.schema, from(batches));
      stores[name] = store;
    }
  }, 60_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const rowsOf = (batch: RecordBatch) => [...batch].map((r) => r!.toJSON());

  it.each(['tier', 'parquet, row groups through the hot cache', 'parquet, window by window'])('%s: a merge of every file holds a window, not the files', async (name) => {
    const store = stores[name]!;
    const expected = rowsOf(all);
    const before = store.readWindowStats();
    expect(before.heldBytes).toBe(0);
    expect(await readRows(store, wholeDataset('bars'))).toEqual(expected);
    const after = store.readWindowStats();
    expect(after.heldBytes).toBe(0);
    // The files hold some 1.4 MB decoded; their windows together about half the read window.
    expect(after.peakBytes).toBeGreaterThan(0);
    expect(after.peakBytes).toBeLessThanOrEqual(WINDOW * 0.75);
  });

  it.each(['tier', 'parquet, row groups through the hot cache', 'parquet, window by window'])('%s: filters, limits and resampling read windows too', async (name) => {
    const store = stores[name]!;
    const expected = rowsOf(all);
    const start = Date.UTC(2024, 0, 3, 11);
    const end = Date.UTC(2024, 0, 6, 10, 30);
    const some: ReadQuery = { ...wholeDataset('bars'), symbols: ['S07', 'S03', 'S11'], startNs: BigInt(start) * 1_000_000n, endNs: BigInt(end) * 1_000_000n };
    expect(await readRows(store, some)).toEqual(expected.filter((r) => ['S03', 'S07', 'S11'].includes(r.symbol as string) && (r.ts as number) >= start && (r.ts as number) < end));
    // One key: its files follow each other and are read one after the other.
    expect(await readRows(store, { ...wholeDataset('bars'), symbols: ['S05'] })).toEqual(expected.filter((r) => r.symbol === 'S05'));
    for (const limit of [1, 700, 5000]) expect(await readRows(store, { ...wholeDataset('bars'), limit })).toEqual(expected.slice(0, limit));
    // Resampling carries each key's open bucket from window to window.
    const hourly = rowsOf(resample(all, ['symbol'], 'ts', '1h'));
    expect(await readRows(store, { ...wholeDataset('bars'), interval: '1h' })).toEqual(hourly);
    expect(await readRows(store, { ...wholeDataset('bars'), interval: '1d', limit: 10 })).toEqual(rowsOf(resample(all, ['symbol'], 'ts', '1d')).slice(0, 10));
    expect(store.readWindowStats().heldBytes).toBe(0);
  });

  it('a read stopped early releases its windows, and reads nothing before it is pulled', async () => {
    const store = stores.tier!;
    const io = store.ioStats().bytesRead;
    const data = await store.read({ query: { ...wholeDataset('bars'), asOf: 1 }, partitions: null });
    expect(data.kind).toBe('batches');
    if (data.kind !== 'batches') return;
    expect(store.ioStats().bytesRead).toBe(io);
    expect(data.memoryBytes).toBeLessThanOrEqual(WINDOW);
    await data.batches.next();
    expect(store.readWindowStats().heldBytes).toBeGreaterThan(0);
    await data.batches.return(undefined);
    expect(store.readWindowStats().heldBytes).toBe(0);
  });
});
