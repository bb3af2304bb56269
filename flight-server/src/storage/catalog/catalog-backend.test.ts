/**
 * The catalog seam, the same tests against both catalogs: the file catalog (`<dataset>/_catalog/`)
 * and the PostgreSQL catalog (a database of its own per test). Then what only a shared catalog
 * does: racing commits from two processes' handles, NOTIFY with polling as the fallback, and an
 * unreachable catalog (a TCP proxy the test cuts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, PG_AVAILABLE, TcpProxy, type TestDatabase } from '../../../test-support/pg-catalog.js';
import { silentLog } from '../../../test-support/store-reads.js';
import type { FileEntry, Manifest } from '../manifest.js';
import { StorageError } from '../errors.js';
import { CatalogUnavailable, CommitConflict, type CatalogBackend, type CatalogEvent, type DatasetCatalogHandle } from './catalog-backend.js';
import { FileCatalog } from './file-catalog.js';
import { PostgresCatalog } from './postgres/postgres-catalog.js';
import { loadMigrations } from './postgres/migrate.js';
import type { Change } from './version-record.js';

const FIELDS = [
  { name: 'symbol', type: 'utf8', nullable: false },
  { name: 'ts', type: 'timestamp[ns, UTC]', nullable: false },
  { name: 'close', type: 'float64', nullable: true },
];

function first(name = 'bars'): Manifest {
  return {
    format: 1,
    name,
    version: 0,
    committedAt: new Date().toISOString(),
    operation: 'create',
    timeColumn: 'ts',
    keyColumns: ['symbol'],
    partition: 'day',
    fields: FIELDS,
    addedColumns: [],
    retention: null,
    files: [],
  };
}

/** A file entry as the writer makes it (no file on disk: the catalog never opens data files). */
function file(id: string, day: number, opts: { ipc?: boolean; keys?: [string, string] } = {}): FileEntry {
  const partition = `date=2024-01-${String(day).padStart(2, '0')}`;
  const min = BigInt(Date.UTC(2024, 0, day, 9, 30)) * 1_000_000n;
  const [minKey, maxKey] = opts.keys ?? ['AAPL', 'MSFT'];
  return {
    path: `${partition}/part-${id}.parquet`,
    partition,
    rows: 390,
    bytes: 12_345,
    minTimeNs: min.toString(),
    maxTimeNs: (min + 389n * 60_000_000_000n).toString(),
    minKey,
    maxKey,
    columns: ['symbol', 'ts', 'close'],
    rowGroups: [
      { rows: 195, minTimeNs: min.toString(), maxTimeNs: (min + 1n).toString(), minKey, maxKey: minKey },
      { rows: 195, minTimeNs: min.toString(), maxTimeNs: (min + 2n).toString(), minKey: maxKey, maxKey },
    ],
    ipc: opts.ipc === false ? null : { path: `_ipc/${partition}/part-${id}.arrows`, bytes: 40_000 },
  };
}

/** Versions 1..7: appends, an upsert replacing a file, a schema change, retention, a delete. */
const SCENARIO: Change[] = [
  { operation: 'put', added: [file('a', 2), file('b', 3)] },
  { operation: 'put', added: [file('c', 2, { ipc: false, keys: ['NVDA', 'NVDA'] })] },
  { operation: 'put', added: [file('a2', 2)], removed: new Set([file('a', 2).path]) },
  { operation: 'evolve_schema', fields: [...FIELDS, { name: 'vwap', type: 'float64', nullable: true }], addedColumns: ['vwap'] },
  { operation: 'set_retention', retention: '400d' },
  { operation: 'compact', added: [file('m', 2)], removed: new Set([file('a2', 2).path, file('c', 2).path]) },
  { operation: 'delete_range', removed: new Set([file('b', 3).path]) },
];

/** A manifest without what differs between runs (commit times). */
function comparable(m: Manifest): unknown {
  return { ...m, committedAt: 'x' };
}

async function commitAll(h: DatasetCatalogHandle, changes: readonly Change[]): Promise<void> {
  for (const c of changes) await h.commit(c, h.current.version);
}

interface Kind {
  name: 'file' | 'postgres';
  /** A catalog of one more process on the same storage. */
  open(): Promise<CatalogBackend>;
}

const kinds: { name: Kind['name']; enabled: boolean }[] = [
  { name: 'file', enabled: true },
  { name: 'postgres', enabled: PG_AVAILABLE },
];

describe.each(kinds)('$name catalog', ({ name, enabled }) => {
  let dir: string;
  let db: TestDatabase | null = null;
  const opened: CatalogBackend[] = [];
  const open = async (): Promise<CatalogBackend> => {
    const b = name === 'file' ? new FileCatalog(dir, { checkpointEvery: 3, log: silentLog }) : await PostgresCatalog.connect(db!.url, silentLog, { pollMs: 200 });
    opened.push(b);
    return b;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fd-catalog-seam-'));
    if (name === 'postgres') db = await createTestDatabase();
  });
  afterEach(async () => {
    for (const b of opened.splice(0)) await b.close();
    await db?.drop();
    db = null;
    await rm(dir, { recursive: true, force: true });
  });

  it.skipIf(!enabled)('creates, lists, and refuses a second create of one name', async () => {
    const cat = await open();
    expect(await cat.listDatasets()).toEqual([]);
    const h = await cat.createDataset(first());
    expect(h.current.version).toBe(0);
    await cat.createDataset(first('quotes'));
    expect(await cat.listDatasets()).toEqual(['bars', 'quotes']);
    await expect(cat.createDataset(first())).rejects.toMatchObject({ code: 'ALREADY_EXISTS', message: 'dataset "bars" already exists' });
    expect(await (await open()).openDataset('nothing')).toBeNull();
  });

  it.skipIf(!enabled)('commits versions with their adds and removes; every version reads back, after a reopen too', async () => {
    const cat = await open();
    const h = await cat.createDataset(first());
    await commitAll(h, SCENARIO);
    expect(h.current.version).toBe(7);
    const paths = async (v: number) => (await h.manifestAt(v)).files.map((f) => f.path);
    expect(await paths(1)).toEqual([file('a', 2).path, file('b', 3).path]);
    expect(await paths(2)).toEqual([file('a', 2).path, file('c', 2).path, file('b', 3).path]);
    expect(await paths(3)).toEqual([file('c', 2).path, file('a2', 2).path, file('b', 3).path]);
    expect(await paths(6)).toEqual([file('m', 2).path, file('b', 3).path]);
    expect(await paths(7)).toEqual([file('m', 2).path]);
    expect((await h.manifestAt(3)).fields).toEqual(FIELDS);
    expect((await h.manifestAt(4)).addedColumns).toEqual(['vwap']);
    expect((await h.manifestAt(4)).retention).toBeNull();
    expect((await h.manifestAt(5)).retention).toBe('400d');
    expect((await h.manifestAt(6)).files[0]).toEqual({ ...file('m', 2), addedIn: 6 });
    expect((await h.manifestAt(2)).files.find((f) => f.path === file('c', 2).path)).toEqual({ ...file('c', 2, { ipc: false, keys: ['NVDA', 'NVDA'] }), addedIn: 2 });
    await expect(h.manifestAt(8)).rejects.toMatchObject({ code: 'NOT_FOUND' });

    const before = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((v) => h.manifestAt(v)));
    await h.close();
    const again = (await (await open()).openDataset('bars'))!;
    expect(comparable(again.current)).toEqual(comparable(before[7]!));
    for (let v = 0; v <= 7; v++) expect(comparable(await again.manifestAt(v)), `version ${v}`).toEqual(comparable(before[v]!));
  });

  it.skipIf(!enabled)('refuses a commit planned on a version that is no longer the newest', async () => {
    const h = await (await open()).createDataset(first());
    await h.commit(SCENARIO[0]!, 0);
    await expect(h.commit(SCENARIO[1]!, 0)).rejects.toBeInstanceOf(CommitConflict);
    expect(h.current.version).toBe(1);
  });

  it.skipIf(!enabled)('vacuums: versions before the horizon are gone, the files only they named are released', async () => {
    const h = await (await open()).createDataset(first());
    await commitAll(h, SCENARIO);
    const all = await h.referencedPaths();
    const stored = (f: FileEntry) => (f.ipc ? [f.path, f.ipc.path] : [f.path]);
    const everyFile = [file('a', 2), file('a2', 2), file('b', 3), file('m', 2), file('c', 2, { ipc: false })];
    expect(all).toEqual(new Set(everyFile.flatMap(stored)));
    const { oldest, released } = await h.vacuum(2);
    expect(oldest).toBe(6);
    expect(h.oldestVersion).toBe(6);
    // a (removed in 3), a2 and c (removed in 6) are named by no retained version; b (removed in 7) still is, by 6.
    const kept = await h.referencedPaths();
    expect(kept).toEqual(new Set([file('m', 2).path, file('m', 2).ipc!.path, file('b', 3).path, file('b', 3).ipc!.path]));
    if (name === 'postgres') expect(new Set(released)).toEqual(new Set([...all].filter((p) => !kept.has(p))));
    else expect(released).toEqual([]); // the file catalog's caller sweeps the directory for what is no longer referenced
    await expect(h.manifestAt(5)).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('vacuumed; the oldest kept is 6') });
    expect((await h.manifestAt(6)).fields?.map((f) => f.name)).toContain('vwap');
    expect((await h.manifestAt(6)).retention).toBe('400d');
    expect((await h.vacuum(2)).oldest).toBe(6);
    // Reopened, the horizon and the schema at it hold.
    const again = (await (await open()).openDataset('bars'))!;
    expect(again.oldestVersion).toBe(6);
    expect(comparable(await again.manifestAt(6))).toEqual(comparable(await h.manifestAt(6)));
    await expect(again.manifestAt(4)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it.skipIf(!enabled)('drops a dataset; its name can be created again', async () => {
    const cat = await open();
    const h = await cat.createDataset(first());
    await commitAll(h, SCENARIO.slice(0, 2));
    await cat.dropDataset('bars', h);
    if (name === 'file') await rm(join(dir, 'bars'), { recursive: true }); // the store's rename of the directory is the file catalog's drop
    expect(await cat.listDatasets()).toEqual([]);
    const again = await cat.createDataset(first());
    expect(again.current.version).toBe(0);
    expect(again.current.files).toEqual([]);
  });
});

describe.each(kinds.filter((k) => k.name === 'postgres'))('PostgreSQL catalog shared by processes', ({ enabled }) => {
  let db: TestDatabase;
  const opened: PostgresCatalog[] = [];
  const proxies: TcpProxy[] = [];
  const open = async (url = db.url, pollMs = 200) => {
    const b = await PostgresCatalog.connect(url, silentLog, { pollMs, timeoutMs: 3000 });
    opened.push(b);
    return b;
  };
  beforeEach(async () => {
    if (enabled) db = await createTestDatabase();
  });
  afterEach(async () => {
    for (const b of opened.splice(0)) await b.close();
    for (const p of proxies.splice(0)) await p.close();
    if (enabled) await db.drop();
  });

  const eventually = async (cond: () => boolean, ms: number): Promise<number> => {
    const t0 = performance.now();
    while (!cond()) {
      if (performance.now() - t0 > ms) throw new Error(`not within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return performance.now() - t0;
  };

  it.skipIf(!enabled)('applies the migrations once, even when replicas start together', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    expect(a.description).toMatch(/^PostgreSQL catalog at 127\.0\.0\.1:5432\/fd_catalog_/);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const rows = (await c.query('SELECT version, name FROM flightdeck.schema_migrations ORDER BY version')).rows;
    await c.end();
    expect(rows).toEqual((await loadMigrations()).map((m) => ({ version: m.version, name: m.name })));
    expect(await b.listDatasets()).toEqual([]);
  });

  it.skipIf(!enabled)('one version, two racing writers: exactly one commits; the loser catches up and commits the next', async () => {
    const a = await open();
    const b = await open();
    const ha = await a.createDataset(first());
    const hb = (await b.openDataset('bars'))!;
    const results = await Promise.allSettled([ha.commit(SCENARIO[0]!, 0), hb.commit({ operation: 'put', added: [file('x', 4)] }, 0)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(CommitConflict);
    const loser = results[0]!.status === 'rejected' ? ha : hb;
    const advance = await loser.refresh();
    expect(advance).toMatchObject({ dropped: false });
    expect(loser.current.version).toBe(1);
    await loser.commit({ operation: 'put', added: [file('y', 5)] }, 1);
    const expected = results[0]!.status === 'fulfilled' ? [file('a', 2), file('b', 3), file('y', 5)] : [file('x', 4), file('y', 5)];
    const seen = (await (await open()).openDataset('bars'))!.current;
    expect(seen.version).toBe(2);
    expect(seen.files.map((f) => f.path).sort()).toEqual(expected.map((f) => f.path).sort());
  });

  it.skipIf(!enabled)('a commit is announced to the other process within 1 s (LISTEN/NOTIFY), and by polling while LISTEN is down', async () => {
    const a = await open();
    const b = await open();
    const events: CatalogEvent[] = [];
    b.watch((e) => events.push(e));
    const ha = await a.createDataset(first());
    await eventually(() => events.some((e) => e.dataset === 'bars' && e.version === 0), 1000);
    await ha.commit(SCENARIO[0]!, 0);
    await eventually(() => events.some((e) => e.version === 1), 1000);
    const hb = (await b.openDataset('bars'))!;
    expect(hb.current.version).toBe(1);

    // Cut b's LISTEN connection: b polls, and sees the next commit all the same.
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'flightdeck-listen' AND query LIKE 'LISTEN%'`, [db.name]);
    await admin.end();
    await eventually(() => !b.listening, 2000);
    await ha.commit(SCENARIO[1]!, 1);
    await eventually(() => events.some((e) => e.version === 2), 3000);
    await hb.refresh();
    expect(hb.current.version).toBe(2);
    await eventually(() => b.listening, 5000);
    await ha.commit(SCENARIO[2]!, 2);
    await eventually(() => events.some((e) => e.version === 3), 1000);
  });

  it.skipIf(!enabled)('a drop elsewhere: refresh answers dropped', async () => {
    const a = await open();
    const b = await open();
    const ha = await a.createDataset(first());
    const hb = (await b.openDataset('bars'))!;
    await a.dropDataset('bars', ha);
    expect(await hb.refresh()).toEqual({ dropped: true, removed: [], released: [] });
    await expect(hb.commit(SCENARIO[0]!, 0)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it.skipIf(!enabled)('catalog unreachable: UNAVAILABLE naming it, nothing committed; recovers by itself when it is back', async () => {
    const proxy = TcpProxy.forUrl(db.url);
    proxies.push(proxy);
    const port = await proxy.open();
    const cat = await open(db.urlVia(port));
    const h = await cat.createDataset(first());
    await h.commit(SCENARIO[0]!, 0);
    await proxy.close();
    const err = await h.commit(SCENARIO[1]!, 1).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CatalogUnavailable);
    expect((err as StorageError).code).toBe('UNAVAILABLE');
    expect((err as Error).message).toMatch(new RegExp(`^PostgreSQL catalog at 127\\.0\\.0\\.1:${port}/${db.name} unreachable`));
    expect(h.current.version).toBe(1);
    await expect(cat.listDatasets()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    // Nothing of it reached the catalog.
    const direct = (await (await open()).openDataset('bars'))!;
    expect(direct.current.version).toBe(1);
    await proxy.open(); // same port
    await h.commit(SCENARIO[1]!, 1);
    expect(h.current.version).toBe(2);
    await direct.refresh();
    expect(direct.current.files.map((f) => f.path)).toEqual(h.current.files.map((f) => f.path));
  });
});
