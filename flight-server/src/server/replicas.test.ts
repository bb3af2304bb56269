/**
 * Replicas: flight-server processes sharing one PostgreSQL catalog (a database of its own per
 * test) and one DATA_DIR (the shared setup for one machine). A put through one is planned by the
 * other within 1 s; 8 writers through two processes lose and duplicate nothing; a SIGKILL during
 * commits leaves no partial version; the catalog cut off (a TCP proxy the test closes) gives
 * UNAVAILABLE naming it, commits nothing, and the replica recovers by itself.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RecordBatch } from 'apache-arrow';
import pg from 'pg';
import { FlightClient, FlightError, pathDescriptor } from '@flightdeck/proto';
import { BARS_FIELDS, makeBars } from '../../test-support/bars.js';
import { createTestDatabase, PG_AVAILABLE, TcpProxy, type TestDatabase } from '../../test-support/pg-catalog.js';
import { killStartedServerProcesses, startServerProcess, type ServerProcess } from '../../test-support/server-process.js';

let dir: string;
let db: TestDatabase;
const clients: FlightClient[] = [];
const proxies: TcpProxy[] = [];

async function replica(catalogUrl = db.url): Promise<{ proc: ServerProcess; client: FlightClient }> {
  const proc = await startServerProcess({ DATA_DIR: dir, CATALOG_URL: catalogUrl, FLIGHT_COMPACT_FILES: '0' });
  const client = new FlightClient(proc.url);
  clients.push(client);
  return { proc, client };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fd-replicas-'));
  if (PG_AVAILABLE) db = await createTestDatabase();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await killStartedServerProcesses(); // also those a timed-out test was still starting
  for (const p of proxies.splice(0)) await p.close();
  if (PG_AVAILABLE) await db.drop();
  await rm(dir, { recursive: true, force: true });
});

const create = (client: FlightClient) =>
  client.doActionJson('create_dataset', { name: 'bars', time_column: 'ts', key_columns: ['symbol'], partition: 'day', fields: BARS_FIELDS });

async function put(client: FlightClient, batch: RecordBatch): Promise<{ rows: number; version: number }> {
  const res = await client.doPut(pathDescriptor('bars'), [batch]);
  return JSON.parse(Buffer.from(res.appMetadata).toString()) as { rows: number; version: number };
}

/** Whether `client`'s process knows the dataset. */
const knows = (client: FlightClient) => version(client).then(() => true, () => false);

async function version(client: FlightClient): Promise<number> {
  return (await client.doActionJson<{ version: number }>('describe_dataset', { name: 'bars' })).version;
}

async function rowsOf(client: FlightClient): Promise<Map<string, number>> {
  const table = await client.readTable('{"dataset":"bars"}');
  const out = new Map<string, number>();
  for (const r of table) {
    const key = `${r!.symbol}@${r!.ts}`;
    if (out.has(key)) throw new Error(`key ${key} read twice`);
    out.set(key, r!.open as number);
  }
  return out;
}

/** Waits (bounded) until `cond` holds; returns the milliseconds it took. */
async function within(ms: number, cond: () => Promise<boolean>): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await cond()) return performance.now() - t0;
    if (performance.now() - t0 > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const minuteBars = (i: number, offset = 0) =>
  makeBars({ symbols: ['AAPL', 'MSFT', 'NVDA'], start: new Date(Date.parse('2024-01-02T10:00:00Z') + i * 60_000).toISOString(), minutes: 1, priceOffset: offset });

describe.skipIf(!PG_AVAILABLE)('replicas on one PostgreSQL catalog and one DATA_DIR', { timeout: 120_000 }, () => {
  it('a put through one process is planned by the other within 1 s', async () => {
    const [a, b] = await Promise.all([replica(), replica()]);
    await create(a.client);
    await within(1000, () => knows(b.client));
    for (let i = 0; i < 10; i++) {
      const { version: v } = await put(a.client, minuteBars(i));
      await within(1000, async () => (await version(b.client)) === v);
    }
    expect(await rowsOf(b.client)).toEqual(await rowsOf(a.client));
    expect((await rowsOf(b.client)).size).toBe(30);
  });

  it('8 writers through two processes upserting overlapping keys: no acknowledged row lost, none duplicated', async () => {
    const [a, b] = await Promise.all([replica(), replica()]);
    await create(a.client);
    await within(1000, () => knows(b.client));
    const symbols = ['AAPL', 'MSFT', 'NVDA', 'AMZN'];
    const acked: { version: number; rows: Map<string, number> }[] = [];
    const writer = async (w: number) => {
      const client = new FlightClient((w % 2 === 0 ? a : b).proc.url);
      clients.push(client);
      for (let r = 0; r < 4; r++) {
        const batch = makeBars({
          symbols: [symbols[(w + r) % 4]!, symbols[(w + r + 1) % 4]!],
          start: new Date(Date.parse('2024-01-02T10:00:00Z') + ((w + r) % 6) * 600_000).toISOString(),
          minutes: 20,
          priceOffset: (w + 1) * 10_000 + r * 100,
        });
        const { version: v } = await put(client, batch);
        const rows = new Map<string, number>();
        for (const row of batch) rows.set(`${row!.symbol}@${row!.ts}`, row!.open as number);
        acked.push({ version: v, rows });
      }
    };
    await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(writer));
    expect(new Set(acked.map((x) => x.version)).size).toBe(32);
    const expected = new Map<string, number>();
    for (const x of [...acked].sort((p, q) => p.version - q.version)) for (const [k, v] of x.rows) expected.set(k, v);
    const head = Math.max(...acked.map((x) => x.version));
    for (const r of [a, b]) {
      await within(1000, async () => (await version(r.client)) === head);
      expect(await rowsOf(r.client)).toEqual(expected);
    }
    // Both processes re-planned lost races (their logs say so): PostgreSQL decided between them.
    const replans = [a, b].map((r) => r.proc.logs.filter((l) => l.includes('commit lost the race')).length);
    expect(replans[0]! + replans[1]!).toBeGreaterThan(0);
  });

  it('SIGKILL during commits leaves no partial version; the other replica and a restarted one read every version whole', async () => {
    const [a, b] = await Promise.all([replica(), replica()]);
    await create(b.client);
    await within(1000, () => knows(a.client));
    const acked = new Set<number>();
    let stop = false;
    // Two streams of appends through a, each put 3 rows of a new minute, until a dies.
    let minute = 0;
    const loop = async () => {
      while (!stop) {
        const i = minute++;
        try {
          const { version: v } = await put(a.client, minuteBars(i));
          acked.add(i);
          expect(v).toBeGreaterThan(0);
        } catch {
          return; // a was killed
        }
      }
    };
    const loops = [loop(), loop()];
    await within(20_000, async () => acked.size >= 20);
    await new Promise((r) => setTimeout(r, Math.random() * 50));
    process.kill(a.proc.pid, 'SIGKILL');
    stop = true;
    await Promise.all(loops);
    await a.proc.exited;
    // b learns of the last commits (if any landed after its last event) and reads a whole dataset.
    await new Promise((r) => setTimeout(r, 500));
    const v = await version(b.client);
    const rows = await rowsOf(b.client);
    expect(rows.size).toBe(3 * v); // every version is one whole put of 3 new rows
    for (const i of acked) for (const r of minuteBars(i)) expect(rows.has(`${r!.symbol}@${r!.ts}`), `acknowledged minute ${i}`).toBe(true);
    for (let at = 1; at <= v; at++) {
      const t = await b.client.readTable(JSON.stringify({ dataset: 'bars', as_of: at }));
      expect(t.numRows).toBe(3 * at);
    }
    // A restarted replica starts on the same catalog and directory, reads the same, and commits the next version.
    const again = await replica();
    expect(await rowsOf(again.client)).toEqual(rows);
    expect((await put(again.client, minuteBars(10_000))).version).toBe(v + 1);
  });

  it('SIGKILL while the commit transaction is open (held at a row lock) leaves no trace of that version', async () => {
    const [a, b] = await Promise.all([replica(), replica()]);
    await create(a.client);
    await put(a.client, minuteBars(0));
    await within(1000, async () => (await knows(b.client)) && (await version(b.client)) === 1);
    // Hold every file row: the upsert's commit inserts version 2, then waits to mark the file it replaces.
    const admin = new pg.Client({ connectionString: db.url });
    const watch = new pg.Client({ connectionString: db.url }); // outside the transaction: pg_stat_activity is a snapshot within one
    await admin.connect();
    await watch.connect();
    try {
      await admin.query('BEGIN');
      await admin.query('SELECT path FROM flightdeck.data_files FOR UPDATE');
      const upsert = put(a.client, minuteBars(0, 500)).then(
        () => 'acknowledged',
        () => 'failed',
      );
      await within(8000, async () => {
        const r = await watch.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND query LIKE 'UPDATE flightdeck.data_files%'`, [db.name]);
        return r.rows[0].n === 1;
      });
      process.kill(a.proc.pid, 'SIGKILL');
      await a.proc.exited;
      expect(await upsert).toBe('failed');
    } finally {
      await admin.query('ROLLBACK');
      await admin.end();
    }
    // PostgreSQL rolled the transaction back: no version 2, no file row of it, the old file still live.
    const check = watch;
    await within(5000, async () => (await check.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`, [db.name])).rows[0].n === 0);
    const versions = (await check.query('SELECT version::int FROM flightdeck.versions ORDER BY version')).rows.map((r) => r.version);
    const files = (await check.query('SELECT added_in::int, removed_in FROM flightdeck.data_files')).rows;
    await check.end();
    expect(versions).toEqual([0, 1]);
    expect(files).toEqual([{ added_in: 1, removed_in: null }]);
    expect(await version(b.client)).toBe(1);
    expect([...(await rowsOf(b.client)).values()].every((open) => open < 500)).toBe(true);
    expect((await put(b.client, minuteBars(0, 500))).version).toBe(2);
  });

  it('catalog unreachable: UNAVAILABLE naming it, nothing committed, reads go on; the replica recovers by itself', async () => {
    const proxy = TcpProxy.forUrl(db.url);
    proxies.push(proxy);
    const port = await proxy.open();
    const [a, b] = await Promise.all([replica(db.urlVia(port)), replica()]);
    await create(a.client);
    await put(a.client, minuteBars(0));
    await within(1000, async () => (await version(b.client)) === 1);
    await proxy.close();
    const err = await put(a.client, minuteBars(1)).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FlightError);
    expect((err as FlightError).code).toBe('UNAVAILABLE');
    expect((err as FlightError).message).toContain(`PostgreSQL catalog at 127.0.0.1:${port}/${db.name} unreachable`);
    // Nothing of it was committed; a still answers reads of what it knows; the server is up.
    expect(await version(b.client)).toBe(1);
    expect((await rowsOf(a.client)).size).toBe(3);
    // b commits meanwhile; a catches up once the catalog is back (polling, then LISTEN again).
    await put(b.client, minuteBars(2));
    await proxy.open();
    await within(10_000, async () => (await version(a.client)) === 2);
    expect((await put(a.client, minuteBars(3))).version).toBe(3);
    await within(1000, async () => (await version(b.client)) === 3);
    expect((await rowsOf(b.client)).size).toBe(9);
  });
});
