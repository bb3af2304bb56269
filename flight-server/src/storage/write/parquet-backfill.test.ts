import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readParquet } from 'parquet-wasm';
import { tableFromIPC } from 'apache-arrow';
import { BARS_FIELDS, makeBars } from '../../../test-support/bars.js';
import { batchesOf, readRows, silentLog, storeOptions } from '../../../test-support/store-reads.js';
import { DatasetStore } from '../dataset-store.js';
import { wholeDataset } from '@flightdeck/contract';
import type { CommitEvent } from '../commit-feed.js';

let dir: string;
const opened: DatasetStore[] = [];

async function open(extra: Record<string, unknown> = {}): Promise<DatasetStore> {
  const store = await DatasetStore.open({ ...storeOptions(dir), ingestParquet: 'background', ...extra }, silentLog);
  opened.push(store);
  return store;
}

const bars = (minutes: number, start = '2024-01-02T00:00:00Z', priceOffset = 0) => makeBars({ symbols: ['AAPL', 'MSFT'], start, minutes, priceOffset });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fd-backfill-'));
});
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

async function parquetFilesOf(name: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(join(dir, name), { withFileTypes: true })) {
    if (!d.isDirectory() || d.name.startsWith('_')) continue;
    for (const f of await readdir(join(dir, name, d.name))) if (f.endsWith('.parquet')) out.push(`${d.name}/${f}`);
  }
  return out.sort();
}

describe('write-ahead ingest (INGEST_PARQUET=background)', () => {
  it('acknowledges with IPC copies only; reads, upserts, deletes, keys and compaction work on pending files', async () => {
    const store = await open({ testEncodeDelayMs: 60_000 });
    await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
    const put = await store.put('bars', bars(0).schema, batchesOf([bars(1500)]));
    expect(put).toMatchObject({ rows: 3000, version: 1 });
    const m = store.manifest('bars');
    expect(m.files.every((f) => f.pending === true && f.ipc)).toBe(true);
    expect(await parquetFilesOf('bars')).toEqual([]);
    // Statistics come from the batch, so planning and pruning work as for encoded files.
    expect(m.files.map((f) => f.rowGroups.reduce((n, g) => n + g.rows, 0))).toEqual(m.files.map((f) => f.rows));
    expect((await readRows(store, wholeDataset('bars'))).length).toBe(3000);
    expect((await readRows(store, { ...wholeDataset('bars'), columns: ['symbol', 'close'], symbols: ['MSFT'] })).length).toBe(1500);
    expect((await store.listKeys('bars', null, 10)).keys).toEqual(['AAPL', 'MSFT']);

    // An upsert merges with pending files (read from their IPC copies).
    const upsert = await store.put('bars', bars(0).schema, batchesOf([bars(10, '2024-01-02T00:00:00Z', 1000)]));
    expect(upsert.version).toBe(2);
    const rows = await readRows(store, wholeDataset('bars'));
    expect(rows.length).toBe(3000);
    expect(rows.filter((r) => (r.close as number) > 1000).length).toBe(20);
    expect((await store.deleteRange('bars', ['AAPL'], null, BigInt(Date.parse('2024-01-02T00:05:00Z')) * 1_000_000n)).rows_deleted).toBe(5);
    expect((await store.compact('bars', null)).version).toBeGreaterThan(2);
    expect((await readRows(store, wholeDataset('bars'))).length).toBe(2995);
  });

  it('list_files waits for the Parquet files of the version it lists; the next commit swaps them in, adding no version and no row', async () => {
    const store = await open({ testEncodeDelayMs: 200 });
    await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
    const events: CommitEvent[] = [];
    store.commits.subscribe('bars', (e) => void (e.kind === 'commit' && events.push(e)));
    await store.put('bars', bars(0).schema, batchesOf([bars(1500)]));
    expect(store.manifest('bars').files.some((f) => f.pending)).toBe(true);
    const listed = await store.listFiles('bars', null);
    expect(listed.version).toBe(1);
    expect(listed.files).toHaveLength(2);
    for (const f of listed.files) {
      const path = fileURLToPath(f.url);
      const bytes = await readFile(path);
      expect(bytes.byteLength).toBe(f.bytes);
      expect(tableFromIPC(readParquet(bytes).intoIPCStream()).numRows).toBe(f.rows);
    }
    // describe reports the Parquet sizes as soon as they are known.
    expect((await store.describe('bars')).bytes).toBe(listed.files.reduce((n, f) => n + f.bytes, 0));
    await store.parquetIdle();
    expect(store.manifest('bars').version).toBe(1);

    // The next DoPut (another day) swaps the encoded entries in: same paths, same addedIn.
    const v1 = store.manifest('bars').files;
    const next = await store.put('bars', bars(0).schema, batchesOf([bars(10, '2024-01-05T00:00:00Z')]));
    expect(next.version).toBe(2);
    const swapped = store.manifest('bars').files.filter((f) => f.partition !== 'date=2024-01-05');
    expect(swapped.map((f) => f.path)).toEqual(v1.map((f) => f.path));
    expect(swapped.every((f) => !f.pending && f.addedIn === 1)).toBe(true);
    expect(swapped.map((f) => f.bytes)).toEqual(listed.files.map((f) => f.bytes));
    // Followers get only the rows the second DoPut wrote.
    const second = events.find((e) => e.version === 2)!;
    expect(second.added.map((f) => f.partition)).toEqual(['date=2024-01-05']);
    const followed = await store.readCommitted(second, wholeDataset('bars'), ['symbol']);
    let rows = 0;
    if (followed?.kind === 'batches') for await (const b of followed.batches) rows += b.numRows;
    else if (followed) for await (const ipc of followed.streams) rows += tableFromIPC(ipc).numRows;
    expect(rows).toBe(20);
    expect((await readRows(store, wholeDataset('bars'))).length).toBe(3020);
    // Version 1 still names them pending; its files are Parquet all the same.
    expect((await store.manifestAt('bars', 1)).files.every((f) => f.pending)).toBe(true);
    expect((await store.listFiles('bars', 1)).files.map((f) => f.bytes)).toEqual(listed.files.map((f) => f.bytes));

    // The swap replays: a reopened store sees the same files.
    const now = store.manifest('bars').files;
    await store.close();
    const again = await open();
    expect(again.manifest('bars').files).toEqual(now);
    expect((await readRows(again, wholeDataset('bars'))).length).toBe(3020);
  });

  it('a restart encodes the files left pending, and reads them meanwhile', async () => {
    const store = await open({ testEncodeDelayMs: 600_000 });
    await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
    await store.put('bars', bars(0).schema, batchesOf([bars(1500)]));
    await store.close(); // cuts the delay short: nothing encoded
    expect(await parquetFilesOf('bars')).toEqual([]);

    const slow = await open({ testEncodeDelayMs: 600_000 });
    expect(slow.manifest('bars').files.every((f) => f.pending)).toBe(true);
    expect((await readRows(slow, { ...wholeDataset('bars'), columns: ['symbol', 'close'] })).length).toBe(3000);
    await slow.close();

    const store2 = await open({ ingestParquet: 'inline' });
    await store2.parquetIdle();
    expect(await parquetFilesOf('bars')).toHaveLength(2);
    // The next commit, whatever it is, swaps them in.
    await store2.setRetention('bars', '100y');
    expect(store2.manifest('bars').files.some((f) => f.pending)).toBe(false);
    expect((await readRows(store2, wholeDataset('bars'))).length).toBe(3000);
  });

  it('an old version whose pending files were replaced before encoding still lists Parquet files', async () => {
    const store = await open({ testEncodeDelayMs: 300 });
    await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
    await store.put('bars', bars(0).schema, batchesOf([bars(100)]));
    await store.put('bars', bars(0).schema, batchesOf([bars(100, '2024-01-02T00:00:00Z', 5)]));
    await store.parquetIdle();
    const columns = { ...wholeDataset('bars'), columns: ['symbol', 'ts', 'close'], asOf: 1 };
    const before = await readRows(store, columns);
    expect(before.length).toBe(200);
    // After a restart nothing remembers the replaced file as pending: a projected read of version 1
    // misses its Parquet file and reads the IPC copy.
    await store.close();
    const again = await open();
    expect(await readRows(again, columns)).toEqual(before);
    const v1 = await again.listFiles('bars', 1);
    for (const f of v1.files) expect(existsSync(fileURLToPath(f.url))).toBe(true);
    expect(v1.files.map((f) => f.rows)).toEqual([200]);
    expect(await readRows(again, columns)).toEqual(before);
  });

  it('back-pressure: over INGEST_PENDING_MB a DoPut waits for the encoder before it commits', async () => {
    const store = await open({ testEncodeDelayMs: 400, ingestPendingBytes: 1 });
    await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
    await store.put('bars', bars(0).schema, batchesOf([bars(100)]));
    const started = Date.now();
    const second = await store.put('bars', bars(0).schema, batchesOf([bars(100, '2024-01-03T00:00:00Z')]));
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    // The first put's file was encoded before the second committed, which swapped it in.
    expect(second.version).toBe(2);
    expect(store.manifest('bars').files.map((f) => f.pending ?? false)).toEqual([false, true]);
  });

  it('inline mode and a store without the IPC tier write Parquet before the commit', async () => {
    for (const extra of [{ ingestParquet: 'inline' }, { ipcTier: false }]) {
      const store = await open(extra);
      const name = `bars${opened.length}`;
      await store.createDataset({ name, timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
      await store.put(name, bars(0).schema, batchesOf([bars(100)]));
      expect(store.manifest(name).files.some((f) => f.pending)).toBe(false);
      expect(await parquetFilesOf(name)).toHaveLength(1);
      await store.close();
    }
  });
});
