/**
 * The store on the PostgreSQL catalog: the same operations give the same versions, rows, files
 * and vacuum as on the file catalog; and two stores (two replicas in one process here; the
 * process-level tests are in replicas.test.ts) on one catalog and one shared DATA_DIR see each
 * other's commits and race without losing or duplicating a row.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { wholeDataset } from '@flightdeck/contract';
import { BARS_FIELDS, makeBars } from '../../../../test-support/bars.js';
import { createTestDatabase, PG_AVAILABLE, TcpProxy, type TestDatabase } from '../../../../test-support/pg-catalog.js';
import { batchesOf, readRows, silentLog, storeOptions } from '../../../../test-support/store-reads.js';
import { DatasetStore } from '../../dataset-store.js';

let dir: string;
let db: TestDatabase;
const stores: DatasetStore[] = [];
const proxies: TcpProxy[] = [];

/** Commits that lost a race and were planned again, as the stores log them. */
let replans = 0;
const countingLog = {
  info: (_obj: object, msg?: string) => {
    if (msg?.startsWith('commit lost the race')) replans++;
  },
  warn: () => undefined,
};

async function openStore(catalogUrl: string | null, dataDir = dir, commitAttempts?: number): Promise<DatasetStore> {
  const s = await DatasetStore.open({ ...storeOptions(dataDir), catalogUrl, compactFiles: 0, ...(commitAttempts ? { commitAttempts } : {}) }, catalogUrl ? countingLog : silentLog);
  stores.push(s);
  return s;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fd-shared-store-'));
  if (PG_AVAILABLE) db = await createTestDatabase();
});
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const p of proxies.splice(0)) await p.close();
  if (PG_AVAILABLE) await db.drop();
  await rm(dir, { recursive: true, force: true });
});

const bars = (i: number, symbols = ['AAPL', 'MSFT']) =>
  makeBars({ symbols, start: new Date(Date.parse('2024-01-02T10:00:00Z') + (i % 7) * 60_000 * 30 + Math.floor(i / 7) * 86_400_000).toISOString(), minutes: 30, priceOffset: i });

/** The same history on a store: appends over three days, upserts, a delete, a compaction, a new column, retention, a vacuum. */
async function history(store: DatasetStore): Promise<unknown[]> {
  const out: unknown[] = [];
  await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
  for (let i = 0; i < 16; i++) {
    const b = bars(i % 5 === 4 ? i - 3 : i);
    out.push(await store.put('bars', b.schema, batchesOf([b])));
  }
  out.push(await store.deleteRange('bars', ['MSFT'], BigInt(Date.parse('2024-01-02T10:00:00Z')) * 1_000_000n, BigInt(Date.parse('2024-01-02T11:00:00Z')) * 1_000_000n));
  out.push(await store.compact('bars', null));
  out.push(await store.evolveSchema('bars', [{ name: 'vwap', type: 'float64', nullable: true }]));
  out.push(await store.setRetention('bars', '10y', Date.parse('2030-01-01T00:00:00Z')));
  for (let v = 0; v <= store.manifest('bars').version; v++) out.push({ v, rows: await readRows(store, { ...wholeDataset('bars'), asOf: v }) });
  out.push(await store.describe('bars'));
  out.push((await store.listFiles('bars', null)).files.map((f) => ({ ...f, url: f.url.slice(f.url.indexOf('/bars/')).replace(/part-[^.]+/, 'part') })));
  out.push(await store.vacuum('bars', 3));
  out.push(await store.describe('bars'));
  return out;
}

describe.skipIf(!PG_AVAILABLE)('the store on the PostgreSQL catalog', () => {
  it('gives the same versions, rows, descriptions and vacuum as on the file catalog, and the same after a restart', async () => {
    const fileDir = join(dir, 'file');
    const pgDir = join(dir, 'pg');
    const onFile = await history(await openStore(null, fileDir));
    const pgStore = await openStore(db.url, pgDir);
    const onPg = await history(pgStore);
    expect(onPg).toEqual(onFile);
    // The same files are left on disk (names differ: compare counts per directory).
    const count = async (d: string) => (await readdir(d, { recursive: true })).filter((n) => n.endsWith('.parquet') || n.endsWith('.arrows')).length;
    expect(await count(join(pgDir, 'bars'))).toBe(await count(join(fileDir, 'bars')));
    const before = await readRows(pgStore, wholeDataset('bars'));
    const version = pgStore.manifest('bars').version;
    const previous = await readRows(pgStore, { ...wholeDataset('bars'), asOf: version - 1 });
    await pgStore.close();
    stores.splice(stores.indexOf(pgStore), 1);
    const reopened = await openStore(db.url, pgDir);
    expect(reopened.manifest('bars').version).toBe(version);
    expect(await readRows(reopened, wholeDataset('bars'))).toEqual(before);
    await expect(reopened.manifestAt('bars', 1)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await readRows(reopened, { ...wholeDataset('bars'), asOf: version - 1 })).toEqual(previous);
  });

  it('two stores on one catalog and one DATA_DIR: a commit on one is planned by the other within 1 s; drop and create travel too', async () => {
    const a = await openStore(db.url);
    const b = await openStore(db.url);
    await a.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
    const seen = async (cond: () => boolean) => {
      const t0 = performance.now();
      while (!cond()) {
        if (performance.now() - t0 > 1000) throw new Error('not within 1 s');
        await new Promise((r) => setTimeout(r, 2));
      }
    };
    await seen(() => b.listDatasets().some((m) => m.name === 'bars'));
    for (let i = 0; i < 5; i++) {
      const batch = bars(i);
      const { version } = await a.put('bars', batch.schema, batchesOf([batch]));
      await seen(() => b.manifest('bars').version === version);
      expect(await readRows(b, wholeDataset('bars'))).toEqual(await readRows(a, wholeDataset('bars')));
    }
    // An upsert on b replaces a's file; a drops its cached decode of it and reads the new rows.
    const up = bars(0);
    const again = makeBars({ symbols: ['AAPL', 'MSFT'], start: '2024-01-02T10:00:00Z', minutes: 30, priceOffset: 5000 });
    expect(up.numRows).toBe(again.numRows);
    // A one-symbol read caches each file's decoded row groups.
    await readRows(a, { ...wholeDataset('bars'), symbols: ['AAPL'] });
    const cached = a.cacheStats().entries;
    expect(cached).toBeGreaterThanOrEqual(5);
    const { version } = await b.put('bars', again.schema, batchesOf([again]));
    await seen(() => a.manifest('bars').version === version);
    // The replaced file's decodes leave a's cache as a catches up.
    await seen(() => a.cacheStats().entries < cached);
    const rows = await readRows(a, wholeDataset('bars'));
    expect(rows).toHaveLength(5 * 60);
    expect(rows.filter((r) => (r.open as number) >= 5000)).toHaveLength(60);
    await b.drop('bars');
    await seen(() => a.listDatasets().length === 0);
    await expect(a.put('bars', up.schema, batchesOf([up]))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('the connection lost while PostgreSQL confirms a commit: UNAVAILABLE, outcome unknown; its files stay, and the committed version reads whole', async () => {
    const proxy = TcpProxy.forUrl(db.url);
    proxies.push(proxy);
    const store = await openStore(db.urlVia(await proxy.open()));
    await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
    const one = bars(0);
    await store.put('bars', one.schema, batchesOf([one]));
    proxy.cutOnCommit();
    const two = bars(1);
    const err = await store.put('bars', two.schema, batchesOf([two])).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/^PostgreSQL catalog at 127\.0\.0\.1:\d+\/fd_catalog_\w+ the connection failed while the commit was being confirmed; it may or may not have been committed/) });
    // PostgreSQL did commit it: the store catches up, and the version's files (kept) read whole.
    await store.syncDataset('bars');
    expect(store.manifest('bars').version).toBe(2);
    const rows = await readRows(store, wholeDataset('bars'));
    expect(rows).toHaveLength(one.numRows + two.numRows);
    const three = bars(2);
    expect((await store.put('bars', three.schema, batchesOf([three]))).version).toBe(3);
  });

  it('a writer that loses the race re-plans on the winner\'s version; with its attempts used up it answers ABORTED and commits nothing', async () => {
    const a = await openStore(db.url);
    await a.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
    const first = bars(0);
    await a.put('bars', first.schema, batchesOf([first]));
    const watch = new pg.Client({ connectionString: db.url });
    await watch.connect();
    const blocked = (statement: string) => async () => {
      const t0 = performance.now();
      for (;;) {
        const r = await watch.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND query LIKE $2`, [db.name, `${statement}%`]);
        if (r.rows[0].n > 0) return;
        if (performance.now() - t0 > 10_000) throw new Error(`no ${statement} waiting`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    /**
     * a's upsert of minute 0 takes version v+1 and then waits (its file row is held); `store`'s
     * append, planned on v, waits for v+1 and loses it when a's commit goes through.
     */
    const race = async (store: DatasetStore, append: ReturnType<typeof bars>) => {
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      await admin.query('BEGIN');
      await admin.query('SELECT path FROM flightdeck.data_files WHERE removed_in IS NULL FOR UPDATE');
      const upsert = makeBars({ symbols: ['AAPL', 'MSFT'], start: '2024-01-02T10:00:00Z', minutes: 30, priceOffset: 7000 });
      const winner = a.put('bars', upsert.schema, batchesOf([upsert]));
      await blocked('UPDATE flightdeck.data_files')();
      const loser = store.put('bars', append.schema, batchesOf([append])).then((o) => o, (e: unknown) => e as Error);
      await blocked('INSERT INTO flightdeck.versions')();
      await admin.query('ROLLBACK');
      await admin.end();
      return { winner: await winner, loser: await loser };
    };
    try {
      // With one attempt: ABORTED, nothing of it committed or left on disk.
      const once = await openStore(db.url, dir, 1);
      const r1 = await race(once, bars(1));
      expect(r1.winner.version).toBe(2);
      expect(r1.loser).toMatchObject({ code: 'ABORTED', message: 'commit to dataset "bars" lost the race for its next version 1 times to other writers; nothing was committed, retry' });
      await once.syncDataset('bars');
      expect(once.manifest('bars').version).toBe(2);
      const named = new Set(once.manifest('bars').files.flatMap((f) => [f.path, f.ipc?.path]));
      const onDisk = (await readdir(join(dir, 'bars'), { recursive: true })).filter((n) => /\.(parquet|arrows)$/.test(n));
      // Files of version 1's replaced file stay for as_of; nothing else is unnamed.
      const v1 = new Set((await once.manifestAt('bars', 1)).files.flatMap((f) => [f.path, f.ipc?.path]));
      expect(onDisk.filter((n) => !named.has(n) && !v1.has(n))).toEqual([]);
      // With the default attempts: re-planned on version 3's base, committed as version 4, both writes whole.
      const r2 = await race(await openStore(db.url), bars(2));
      expect(r2.winner.version).toBe(3);
      expect(r2.loser).toMatchObject({ version: 4, rows: 60 });
      await a.syncDataset('bars');
      expect(a.manifest('bars').version).toBe(4);
      const rows = await readRows(a, wholeDataset('bars'));
      expect(rows).toHaveLength(120); // minutes 0-29 (upserted twice) and 30-59 of bars(2); bars(1) never committed
      expect(rows.filter((r) => (r.open as number) >= 7000)).toHaveLength(60);
    } finally {
      await watch.end();
    }
  });

  it('8 writers through two stores upserting overlapping keys: no acknowledged row lost, no key duplicated', async () => {
    const a = await openStore(db.url);
    const b = await openStore(db.url);
    await a.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
    await new Promise((r) => setTimeout(r, 200));
    const symbols = ['AAPL', 'MSFT', 'NVDA', 'AMZN'];
    // Writer w, round r: 20 minutes starting at minute (w + r) % 6 * 10 of one day, two of the four symbols: overlaps everywhere.
    const acked: { version: number; rows: Map<string, number> }[] = [];
    const writer = async (w: number) => {
      const store = w % 2 === 0 ? a : b;
      for (let r = 0; r < 5; r++) {
        const batch = makeBars({
          symbols: [symbols[(w + r) % 4]!, symbols[(w + r + 1) % 4]!],
          start: new Date(Date.parse('2024-01-02T10:00:00Z') + ((w + r) % 6) * 600_000).toISOString(),
          minutes: 20,
          priceOffset: (w + 1) * 10_000 + r * 100,
        });
        const { version } = await store.put('bars', batch.schema, batchesOf([batch]));
        const rows = new Map<string, number>();
        for (const row of batch) rows.set(`${row!.symbol}@${row!.ts}`, row!.open as number);
        acked.push({ version, rows });
      }
    };
    replans = 0;
    await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(writer));
    // The two stores did race (each store's own writers wait for one another; across stores, PostgreSQL decides).
    expect(replans).toBeGreaterThan(0);
    // Every acknowledged put has its own version; applied in version order, last write wins per key.
    const versions = acked.map((x) => x.version).sort((p, q) => p - q);
    expect(new Set(versions).size).toBe(40);
    const expected = new Map<string, number>();
    for (const x of [...acked].sort((p, q) => p.version - q.version)) for (const [k, v] of x.rows) expected.set(k, v);
    for (const store of [a, b]) {
      await store.syncDataset('bars');
      const rows = await readRows(store, wholeDataset('bars'));
      const keys = rows.map((r) => `${r.symbol}@${r.ts}`);
      expect(new Set(keys).size, 'no key twice').toBe(keys.length);
      expect(rows).toHaveLength(expected.size);
      for (const r of rows) expect(r.open).toBe(expected.get(`${r.symbol}@${r.ts}`));
    }
  });
});
