import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { wholeDataset } from '@flightdeck/contract';
import { BARS_FIELDS, makeBars } from '../../../test-support/bars.js';
import { batchesOf, readRows, silentLog, storeOptions } from '../../../test-support/store-reads.js';
import { DatasetStore } from '../dataset-store.js';
import type { Manifest } from '../manifest.js';
import { compactOverfullPartition, type CompactionTarget } from './background-compaction.js';

let dir: string;
let store: DatasetStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fd-compaction-'));
});
afterEach(async () => {
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

const SYMBOLS = ['AAPL', 'AMZN', 'MSFT', 'NVDA'];
const minuteIso = (m: number) => new Date(Date.parse('2024-01-02T00:00:00Z') + m * 60_000).toISOString();

async function append(s: DatasetStore, minute: number, priceOffset = 0): Promise<void> {
  const batch = makeBars({ symbols: SYMBOLS, start: minuteIso(minute), minutes: 1, priceOffset });
  await s.put('bars', batch.schema, batchesOf([batch]));
}

/** Expected rows, in key/time order, as the store reads them. */
function expectedRows(minutes: number, offsets: Map<number, number> = new Map()): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (let m = 0; m < minutes; m++) {
    for (const r of makeBars({ symbols: SYMBOLS, start: minuteIso(m), minutes: 1, priceOffset: offsets.get(m) ?? 0 })) rows.push(r!.toJSON());
  }
  return rows.sort((a, b) => String(a.symbol).localeCompare(String(b.symbol)) || Number(a.ts) - Number(b.ts));
}

const filesIn = (m: Manifest) => m.files.filter((f) => f.partition === 'date=2024-01-02').length;

describe('background compaction', () => {
  it('merges a partition that appends split into more files than the bound, changing no row, while reads stay exact', async () => {
    store = await DatasetStore.open({ ...storeOptions(dir), compactFiles: 8 }, silentLog);
    await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
    for (let m = 0; m < 60; m++) {
      await append(store, m);
      // Reads run while compactions plan, encode and commit in the background.
      if (m % 7 === 3) expect(await readRows(store, wholeDataset('bars')), `after append ${m}`).toEqual(expectedRows(m + 1));
      if (m % 10 === 9) {
        await store.maintenanceIdle();
        expect(filesIn(store.manifest('bars')), `after append ${m}`).toBeLessThanOrEqual(8);
      }
    }
    await store.maintenanceIdle();
    const m = store.manifest('bars');
    expect(filesIn(m)).toBeLessThanOrEqual(8);
    expect(m.version).toBeGreaterThan(60); // compactions committed versions of their own
    expect(await readRows(store, wholeDataset('bars'))).toEqual(expectedRows(60));
    // Every version in between reads the rows of the appends before it: as_of of a compaction's
    // version equals the version before it.
    for (let v = 1; v <= m.version; v++) {
      const at = await store.manifestAt('bars', v);
      if (at.operation !== 'compact') continue;
      const before = await store.manifestAt('bars', v - 1);
      expect(at.files.reduce((n, f) => n + f.rows, 0)).toBe(before.files.reduce((n, f) => n + f.rows, 0));
      expect(filesIn(at)).toBeLessThan(filesIn(before));
    }
    const rowsAtCompaction = await readRows(store, { ...wholeDataset('bars'), asOf: m.version });
    expect(rowsAtCompaction).toHaveLength(60 * SYMBOLS.length);
  });

  it('drops its result when a writer replaced an input meanwhile; the upsert wins and nothing is left on disk', async () => {
    store = await DatasetStore.open({ ...storeOptions(dir), compactFiles: 0 }, silentLog);
    await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
    for (let m = 0; m < 12; m++) await append(store, m);
    const parquetFiles = async () => (await readdir(join(dir, 'bars'), { recursive: true })).filter((n) => String(n).endsWith('.parquet')).length;
    // The writer's upsert lands after the merge was encoded and before its commit.
    const racing: CompactionTarget = {
      manifest: (n) => store.manifest(n),
      readFiles: (m, files, schema) => store.readFiles(m, files, schema),
      newFileWriter: (n) => store.newFileWriter(n),
      commitPrepared: async (n, files, change) => {
        await append(store, 5, 1000);
        return store.commitPrepared(n, files, change);
      },
    };
    const onDisk = await parquetFiles();
    expect(await compactOverfullPartition(racing, 'bars', { maxFiles: 8, maxGroupRows: 1 << 20 }, silentLog)).toBe(false);
    expect(store.manifest('bars').operation).toBe('put');
    // The upsert replaced minute 5's file: one file more on disk, the merged ones removed.
    expect(await parquetFiles()).toBe(onDisk + 1);
    expect(await readRows(store, wholeDataset('bars'))).toEqual(expectedRows(12, new Map([[5, 1000]])));

    // Planned again, it commits.
    expect(await compactOverfullPartition(store, 'bars', { maxFiles: 8, maxGroupRows: 1 << 20 }, silentLog)).toBe(true);
    expect(filesIn(store.manifest('bars'))).toBeLessThanOrEqual(4);
    expect(await readRows(store, wholeDataset('bars'))).toEqual(expectedRows(12, new Map([[5, 1000]])));
  });

  it('is off with compactFiles 0', async () => {
    store = await DatasetStore.open({ ...storeOptions(dir), compactFiles: 0 }, silentLog);
    await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
    for (let m = 0; m < 20; m++) await append(store, m);
    await store.maintenanceIdle();
    expect(filesIn(store.manifest('bars'))).toBe(20);
    expect(store.manifest('bars').version).toBe(20);
  });

  it('compacts at start-up what an earlier run left over the bound', async () => {
    store = await DatasetStore.open({ ...storeOptions(dir), compactFiles: 0 }, silentLog);
    await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
    for (let m = 0; m < 20; m++) await append(store, m);
    await store.close();
    store = await DatasetStore.open({ ...storeOptions(dir), compactFiles: 8 }, silentLog);
    await store.maintenanceIdle();
    expect(filesIn(store.manifest('bars'))).toBeLessThanOrEqual(8);
    expect(await readRows(store, wholeDataset('bars'))).toEqual(expectedRows(20));
  });
});
