import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { wholeDataset } from '@flightdeck/contract';
import { BARS_FIELDS, makeBars } from '../../../test-support/bars.js';
import { batchesOf, readRows, silentLog, storeOptions } from '../../../test-support/store-reads.js';
import { DatasetStore } from '../dataset-store.js';
import type { FileEntry } from '../manifest.js';
import { MaintenanceScheduler } from './maintenance-scheduler.js';
import { expiredFiles } from './retention.js';

const at = (iso: string) => Date.parse(iso);
const fileIn = (partition: string) => ({ partition }) as FileEntry;

describe('expiredFiles', () => {
  it('takes partitions whose whole range ends at or before now - retention', () => {
    const files = ['date=2024-01-01', 'date=2024-01-02', 'date=2024-01-03'].map(fileIn);
    const day = (retention: string, now: string) => expiredFiles({ retention, partition: 'day', files }, at(now)).map((f) => f.partition);
    expect(day('1d', '2024-01-03T12:00:00Z')).toEqual(['date=2024-01-01']);
    expect(day('1d', '2024-01-04T00:00:00Z')).toEqual(['date=2024-01-01', 'date=2024-01-02']);
    expect(day('1w', '2024-01-10T00:00:00Z')).toEqual(['date=2024-01-01', 'date=2024-01-02']);
    expect(expiredFiles({ retention: null, partition: 'day', files }, at('2030-01-01T00:00:00Z'))).toEqual([]);
    // Years are calendar years: 2023-03-01 is the cutoff on 2024-03-01 (a leap year between).
    const months = ['month=2023-01', 'month=2023-02', 'month=2023-03'].map(fileIn);
    expect(expiredFiles({ retention: '1y', partition: 'month', files: months }, at('2024-03-01T00:00:00Z')).map((f) => f.partition)).toEqual(['month=2023-01', 'month=2023-02']);
  });
});

describe('retention in the store', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fd-retention-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('removes expired partitions in a new version, after commits and on set_retention; as_of reads them until vacuum', async () => {
    const store = await DatasetStore.open(storeOptions(dir), silentLog);
    await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS, retention: '26w' });
    const today = Math.floor(Date.now() / 86_400_000) * 86_400_000;
    const daysAgo = (d: number) => new Date(today - d * 86_400_000 + 10 * 3_600_000).toISOString();
    for (const start of [daysAgo(300), daysAgo(100), daysAgo(3)]) {
      const b = makeBars({ symbols: ['AAPL', 'MSFT'], start, minutes: 10 });
      await store.put('bars', b.schema, batchesOf([b]));
      await store.maintenanceIdle();
    }
    // The check after the first commit removed the partition 300 days old (26 weeks are 182 days).
    const d = await store.describe('bars');
    expect(d).toMatchObject({ version: 4, retention: '26w', rows: 40 });
    expect(d.partitions.map((p) => p.key)).toEqual([daysAgo(100), daysAgo(3)].map((t) => `date=${t.slice(0, 10)}`));
    expect((await store.manifestAt('bars', 2)).operation).toBe('retention');
    expect(await readRows(store, { ...wholeDataset('bars'), asOf: 1 })).toHaveLength(20);
    // Nothing more expired: no new version.
    await store.applyRetention('bars');
    expect(store.manifest('bars').version).toBe(4);

    const set = await store.setRetention('bars', '1w');
    expect(set).toMatchObject({ version: 5, retention: '1w', rows: 20 });
    const cleared = await store.setRetention('bars', null);
    expect(cleared.version).toBe(6);
    expect(cleared).not.toHaveProperty('retention');
    await expect(store.setRetention('bars', '3 weeks')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((await store.vacuum('bars', 1)).files_removed).toBe(4);
    await store.close();
    // The retention is part of the catalog: it survives a restart.
    const reopened = await DatasetStore.open(storeOptions(dir), silentLog);
    expect((await reopened.describe('bars')).retention).toBeUndefined();
    await reopened.setRetention('bars', '10y');
    await reopened.close();
    const again = await DatasetStore.open(storeOptions(dir), silentLog);
    expect((await again.describe('bars')).retention).toBe('10y');
    await again.close();
  });

  it('is checked at start-up and then every interval', async () => {
    const checked: string[] = [];
    const scheduler = new MaintenanceScheduler(
      { datasetNames: () => ['a', 'b'], applyRetention: async (n) => void checked.push(n), compactStep: async () => false },
      silentLog,
      { compaction: false, retentionCheckMs: 50 },
    );
    scheduler.start();
    await scheduler.idle();
    expect(checked).toEqual(['a', 'b']);
    await new Promise((r) => setTimeout(r, 130));
    await scheduler.idle();
    await scheduler.close();
    expect(checked.length).toBeGreaterThanOrEqual(4);
  });
});
