import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { wholeDataset } from '@flightdeck/contract';
import { BARS_FIELDS, makeBars } from '../../../test-support/bars.js';
import { batchesOf, readRows, silentLog, storeOptions } from '../../../test-support/store-reads.js';
import { DatasetStore } from '../dataset-store.js';
import type { Manifest } from '../manifest.js';
import { checkpointFileName, checkpointsToDrop } from './checkpoint.js';
import { versionFileName } from '../catalog.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fd-catalog-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const catalogDir = () => join(dir, 'bars', '_catalog');
const catalogNames = async () => (await readdir(catalogDir())).sort();
const checkpoints = async () => (await catalogNames()).filter((n) => n.startsWith('c'));

async function openStore(checkpointEvery = 10): Promise<DatasetStore> {
  return DatasetStore.open({ ...storeOptions(dir), checkpointEvery }, silentLog);
}

/** Appends one minute of bars per commit, as a crawler does: each commit adds one file. */
async function appendMinutes(store: DatasetStore, from: number, to: number, symbols = ['AAPL', 'MSFT', 'NVDA']): Promise<void> {
  for (let m = from; m < to; m++) {
    const batch = makeBars({ symbols, start: new Date(Date.parse('2024-01-02T00:00:00Z') + m * 60_000).toISOString(), minutes: 1 });
    await store.put('bars', batch.schema, batchesOf([batch]));
  }
}

async function create(store: DatasetStore): Promise<void> {
  await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
}

describe('catalog as a version log', () => {
  it('writes one small record per commit, whatever the number of live files', async () => {
    const store = await openStore(1000);
    await create(store);
    await appendMinutes(store, 0, 120);
    expect((await store.describe('bars')).partitions[0]!.files).toBe(120);
    const size = async (v: number) => (await stat(join(catalogDir(), versionFileName(v)))).size;
    // The 120th commit's record names its one new file, like the 2nd's: no list of all 120.
    expect(await size(120)).toBeLessThan((await size(2)) * 1.2);
    const total = (await Promise.all((await catalogNames()).map(async (n) => (await stat(join(catalogDir(), n))).size))).reduce((a, b) => a + b, 0);
    expect(total).toBeLessThan(121 * (await size(2)) * 1.3);
    await store.close();
  });

  it('checkpoints every N versions; opening reads the newest checkpoint and the records after it', async () => {
    const store = await openStore(10);
    await create(store);
    await appendMinutes(store, 0, 35);
    await store.close();
    expect(await checkpoints()).toEqual([10, 20, 30].map(checkpointFileName));
    const before = await readRows(store, wholeDataset('bars'));

    // Records before the newest checkpoint are not read: corrupt them and open again.
    for (let v = 1; v <= 30; v++) await writeFile(join(catalogDir(), versionFileName(v)), '{"format":2,');
    const reopened = await openStore(10);
    expect((await reopened.describe('bars')).version).toBe(35);
    expect(await readRows(reopened, wholeDataset('bars'))).toEqual(before);
    expect(await readRows(reopened, { ...wholeDataset('bars'), asOf: 32 })).toHaveLength(32 * 3);
    await reopened.close();
  });

  it('falls back to an older checkpoint, or to the whole log, when a checkpoint is partial or missing', async () => {
    const store = await openStore(10);
    await create(store);
    await appendMinutes(store, 0, 35);
    await store.close();
    const rows = await readRows(store, wholeDataset('bars'));

    await writeFile(join(catalogDir(), checkpointFileName(30)), (await readFile(join(catalogDir(), checkpointFileName(30)), 'utf8')).slice(0, 500));
    const partial = await openStore(10);
    expect(await readRows(partial, wholeDataset('bars'))).toEqual(rows);
    await partial.close();

    for (const n of await checkpoints()) await unlink(join(catalogDir(), n));
    const none = await openStore(10);
    expect((await none.describe('bars')).version).toBe(35);
    expect(await readRows(none, wholeDataset('bars'))).toEqual(rows);
    await none.close();
    // Opening without a usable checkpoint wrote one at the current version.
    expect(await checkpoints()).toContain(checkpointFileName(35));
  });

  it('rebuilds every version for as_of, before and after a restart', async () => {
    const store = await openStore(7);
    await create(store);
    for (let i = 0; i < 30; i++) {
      // Appends, upserts of an earlier minute (which replace a file), a delete and a compaction.
      const minute = i % 5 === 4 ? i - 2 : i;
      const batch = makeBars({ symbols: ['AAPL', 'MSFT'], start: new Date(Date.parse('2024-01-02T10:00:00Z') + minute * 60_000).toISOString(), minutes: 1, priceOffset: i });
      await store.put('bars', batch.schema, batchesOf([batch]));
      if (i === 12) await store.deleteRange('bars', ['MSFT'], null, null);
      if (i === 20) await store.compact('bars', null);
      if (i === 25) await store.evolveSchema('bars', [{ name: 'vwap', type: 'float64', nullable: true }]);
    }
    const last = store.manifest('bars').version;
    const expected: Manifest[] = [];
    for (let v = 0; v <= last; v++) expected.push(await store.manifestAt('bars', v));
    await store.close();
    const reopened = await openStore(7);
    for (let v = 0; v <= last; v++) {
      const m = await reopened.manifestAt('bars', v);
      expect(m.files.map((f) => f.path), `version ${v}`).toEqual(expected[v]!.files.map((f) => f.path));
      expect(m.fields).toEqual(expected[v]!.fields);
      expect(m.files.every((f) => f.addedIn !== undefined && f.addedIn <= v)).toBe(true);
    }
    await reopened.close();
  });

  it('vacuum drops older records and checkpoints but keeps what as_of of the retained versions needs', async () => {
    const store = await openStore(10);
    await create(store);
    await appendMinutes(store, 0, 25);
    await store.compact('bars', null); // version 26 replaces the 25 files by one
    await appendMinutes(store, 25, 30); // 27..31
    const rowsAt = async (s: DatasetStore, v: number) => (await readRows(s, { ...wholeDataset('bars'), asOf: v })).length;
    const out = await store.vacuum('bars', 8);
    expect(out.oldest_version).toBe(24);
    // Versions 24 and 25 still name the 25 appended files; nothing of the data goes.
    expect(out.files_removed).toBe(0);
    expect(await rowsAt(store, 24)).toBe(24 * 3);
    expect((await catalogNames()).filter((n) => n.startsWith('v'))).toEqual(Array.from({ length: 8 }, (_, i) => versionFileName(24 + i)));
    expect(await checkpoints()).toEqual([checkpointFileName(24), checkpointFileName(30)]);
    await expect(store.plan({ ...wholeDataset('bars'), asOf: 23 })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    const again = await store.vacuum('bars', 5);
    expect(again.oldest_version).toBe(27);
    expect(again.files_removed).toBe(50); // the 25 appended files and their IPC tier copies
    expect(again.bytes_freed).toBeGreaterThan(0);
    await store.close();
    const reopened = await openStore(10);
    expect((await reopened.describe('bars')).oldest_version).toBe(27);
    for (let v = 27; v <= 31; v++) expect(await rowsAt(reopened, v)).toBe((v - 1) * 3);
    await reopened.close();
  });

  it("keeps a checkpoint's size to the live files, not the history of replaced ones", async () => {
    const store = await openStore(10);
    await create(store);
    const checkpointBytes = async (v: number) => (await stat(join(catalogDir(), checkpointFileName(v)))).size;
    // Every commit is an upsert of the same minute: it replaces the one live file.
    for (let i = 0; i < 200; i++) {
      const batch = makeBars({ symbols: ['AAPL', 'MSFT'], start: '2024-01-02T00:00:00Z', minutes: 1, priceOffset: i });
      await store.put('bars', batch.schema, batchesOf([batch]));
    }
    expect((await store.describe('bars')).partitions[0]!.files).toBe(1);
    await store.close();
    // 190 files replaced since version 10; the checkpoint at 200 names the one live file, like 10's.
    expect(await checkpointBytes(200)).toBeLessThan((await checkpointBytes(10)) * 1.1);
  });

  it('after opening from a checkpoint, files the retained versions name stay and vacuum frees exactly the replaced ones', async () => {
    const store = await openStore(10);
    await create(store);
    await appendMinutes(store, 0, 12); // versions 1..12: twelve files
    await store.compact('bars', null); // 13 replaces them by one
    await appendMinutes(store, 12, 27); // 14..28, a checkpoint at 20
    await store.close();
    const onDisk = async () => (await readdir(join(dir, 'bars'), { recursive: true })).filter((p) => /\.(parquet|arrows)$/.test(p)).length;
    const filesBefore = await onDisk();
    expect(filesBefore).toBe(2 * (12 + 1 + 15));

    // Opened from checkpoint 20: the twelve replaced files are named only by records before it.
    const reopened = await openStore(10);
    expect(await onDisk()).toBe(filesBefore);
    expect(await readRows(reopened, { ...wholeDataset('bars'), asOf: 12 })).toHaveLength(36);
    const out = await reopened.vacuum('bars', 16); // keeps 13..28
    expect(out.files_removed).toBe(24); // the twelve appended files and their IPC copies
    expect(await onDisk()).toBe(filesBefore - 24);
    expect(await readRows(reopened, wholeDataset('bars'))).toHaveLength(27 * 3);
    await reopened.close();
  });

  it('finishes a vacuum a crash cut short', async () => {
    const store = await openStore(10);
    await create(store);
    await appendMinutes(store, 0, 12);
    await store.close();
    // The horizon is written before anything is deleted: a crash right after it leaves every file.
    await writeFile(join(catalogDir(), 'horizon.json'), JSON.stringify({ oldest: 9 }));
    const reopened = await openStore(10);
    expect((await reopened.describe('bars')).oldest_version).toBe(9);
    expect((await catalogNames()).filter((n) => n.startsWith('v'))).toEqual([9, 10, 11, 12].map(versionFileName));
    expect(await readRows(reopened, wholeDataset('bars'))).toHaveLength(36);
    await reopened.close();
  });

  it('thins old checkpoints to a number that grows with the logarithm of the history', () => {
    const every = 10;
    let kept: number[] = [];
    for (let v = every; v <= 5000; v += every) {
      kept.push(v);
      const drop = checkpointsToDrop(kept, v, every);
      kept = kept.filter((c) => !drop.includes(c));
    }
    expect(kept.length).toBeLessThan(25);
    expect(kept.slice(-4)).toEqual([4970, 4980, 4990, 5000]);
    expect(kept[0]).toBe(10);
    // Any version d versions back is at most about d/2 records after a kept checkpoint.
    for (const v of [4000, 3000, 1234, 200]) {
      const base = Math.max(...kept.filter((c) => c <= v));
      expect(v - base).toBeLessThanOrEqual(Math.max(every, (5000 - v) / 2 + every));
    }
  });
});

describe('catalog of the old format (one whole manifest per version)', () => {
  /** Rewrites a dataset's catalog as servers before the version log wrote it. */
  async function toOldFormat(store: DatasetStore): Promise<void> {
    const last = store.manifest('bars').version;
    const manifests: Manifest[] = [];
    for (let v = 0; v <= last; v++) manifests.push(await store.manifestAt('bars', v));
    await store.close();
    for (const n of await catalogNames()) await unlink(join(catalogDir(), n));
    for (const m of manifests) {
      const { retention: _retention, ...rest } = m;
      const old = { ...rest, format: 1, files: m.files.map(({ addedIn: _addedIn, ...f }) => f) };
      await writeFile(join(catalogDir(), versionFileName(m.version)), JSON.stringify(old));
    }
  }

  it('is migrated on start-up: a checkpoint at the current version, old versions readable until vacuum', async () => {
    const store = await openStore(10);
    await create(store);
    await appendMinutes(store, 0, 4);
    const upsert = makeBars({ symbols: ['AAPL'], start: '2024-01-02T00:01:00Z', minutes: 1, priceOffset: 50 });
    await store.put('bars', upsert.schema, batchesOf([upsert])); // version 5 replaces minute 1's file
    const rowsAt: unknown[][] = [];
    for (let v = 0; v <= 5; v++) rowsAt.push(await readRows(store, { ...wholeDataset('bars'), asOf: v }));
    await toOldFormat(store);
    expect(await catalogNames()).toEqual([0, 1, 2, 3, 4, 5].map(versionFileName));
    // A file of an interrupted commit of the old server, which start-up must remove.
    await writeFile(join(dir, 'bars', 'date=2024-01-02', 'part-orphan.parquet'), 'half written');

    const migrated = await openStore(10);
    expect(await checkpoints()).toEqual([checkpointFileName(5)]);
    expect(existsSync(join(dir, 'bars', 'date=2024-01-02', 'part-orphan.parquet'))).toBe(false);
    for (let v = 0; v <= 5; v++) expect(await readRows(migrated, { ...wholeDataset('bars'), asOf: v }), `as_of ${v}`).toEqual(rowsAt[v]);
    expect(migrated.manifest('bars').files.every((f) => f.addedIn !== undefined)).toBe(true);

    // New commits are records of the log; old and new versions read side by side.
    await appendMinutes(migrated, 4, 6);
    const record = JSON.parse(await readFile(join(catalogDir(), versionFileName(7)), 'utf8'));
    expect(record).toMatchObject({ format: 2, version: 7, removed: [] });
    expect(record.added).toHaveLength(1);
    expect(await readRows(migrated, { ...wholeDataset('bars'), asOf: 3 })).toEqual(rowsAt[3]);
    await migrated.close();

    const restarted = await openStore(10);
    expect(await readRows(restarted, wholeDataset('bars'))).toHaveLength(6 * 3);
    expect(await readRows(restarted, { ...wholeDataset('bars'), asOf: 2 })).toEqual(rowsAt[2]);
    // The replaced file (minute 1 before the upsert) stays for as_of 4 until vacuum removes it.
    const out = await restarted.vacuum('bars', 2);
    expect(out).toMatchObject({ oldest_version: 6, files_removed: 2 });
    expect((await catalogNames()).filter((n) => n.startsWith('v'))).toEqual([6, 7].map(versionFileName));
    await restarted.close();
    const afterVacuum = await openStore(10);
    expect(await readRows(afterVacuum, wholeDataset('bars'))).toHaveLength(6 * 3);
    await afterVacuum.close();
  });
});
