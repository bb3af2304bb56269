import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BARS_FIELDS, makeBars } from '../../../test-support/bars.js';
import { batchesOf, silentLog, storeOptions } from '../../../test-support/store-reads.js';
import { DatasetStore } from '../dataset-store.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fd-keys-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const symbols = Array.from({ length: 300 }, (_, i) => `S${String(i).padStart(3, '0')}`);

async function seeded(ipcTier: boolean): Promise<DatasetStore> {
  const store = await DatasetStore.open({ ...storeOptions(join(dir, String(ipcTier))), ipcTier }, silentLog);
  await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
  // Row groups of 1024 rows hold several symbols each: the statistics alone cannot list them.
  for (const [start, some] of [['2024-01-02T14:30:00Z', symbols.slice(0, 200)], ['2024-01-03T14:30:00Z', symbols.slice(100)]] as const) {
    const batch = makeBars({ symbols: [...some], start, minutes: 30, symbolType: 'dictionary' });
    await store.put('bars', batch.schema, batchesOf([batch]));
  }
  return store;
}

describe('list_keys', () => {
  it('lists every distinct key from the tier files key runs, reading no rows', async () => {
    const store = await seeded(true);
    const io = store.ioStats();
    expect(await store.listKeys('bars', null, 1000)).toEqual({ keys: symbols, truncated: false });
    expect(await store.listKeys('bars', 'S1', 1000)).toEqual({ keys: symbols.filter((s) => s.startsWith('S1')), truncated: false });
    expect(await store.listKeys('bars', null, 10)).toEqual({ keys: symbols.slice(0, 10), truncated: true });
    expect(await store.listKeys('bars', 'S29', 5)).toEqual({ keys: ['S290', 'S291', 'S292', 'S293', 'S294'], truncated: true });
    expect(store.ioStats()).toEqual(io);
    await store.close();
  });

  it('reads the key column from Parquet when files have no tier copy', async () => {
    const store = await seeded(false);
    expect(await store.listKeys('bars', null, 1000)).toEqual({ keys: symbols, truncated: false });
    expect(await store.listKeys('bars', 'S05', 1000)).toEqual({ keys: symbols.filter((s) => s.startsWith('S05')), truncated: false });
    await store.close();
  });
});
