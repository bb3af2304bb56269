/**
 * Replicas clients can find: three flight-server processes on one PostgreSQL catalog (a database
 * of its own) and one DATA_DIR, each on its own port with FLIGHT_ADVERTISE_URL naming it.
 * GetFlightInfo through any of them lists all three as every endpoint's locations, rotated; each
 * endpoint read through each location gives the same rows; a put through one is read through the
 * others within 1 s; a killed replica leaves the lists within the liveness window, and one stopped
 * gracefully at once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Table } from 'apache-arrow';
import { FlightClient, LocationReader, pathDescriptor, type ClientFlightInfo } from '@flightdeck/proto';
import { BARS_FIELDS, makeBars } from '../../test-support/bars.js';
import { createTestDatabase, PG_AVAILABLE, type TestDatabase } from '../../test-support/pg-catalog.js';
import { freePort, killStartedServerProcesses, startServerProcess, type ServerProcess } from '../../test-support/server-process.js';

let dir: string;
let db: TestDatabase;
const clients: FlightClient[] = [];

interface Replica {
  url: string;
  proc: ServerProcess;
  client: FlightClient;
}

/** Liveness window of the registry (replica-registry.ts) plus one heartbeat and slack. */
const GONE_WITHIN_MS = 10_000 + 2_000 + 3_000;

async function replica(env: Record<string, string> = {}): Promise<Replica> {
  const port = await freePort();
  const url = `grpc://127.0.0.1:${port}`;
  const proc = await startServerProcess({
    DATA_DIR: dir,
    CATALOG_URL: db.url,
    FLIGHT_PORT: String(port),
    FLIGHT_ADVERTISE_URL: url,
    FLIGHT_COMPACT_FILES: '0',
    FLIGHT_ENDPOINT_ROWS: '1',
    ...env,
  });
  expect(proc.url).toBe(url);
  const client = new FlightClient(url);
  clients.push(client);
  return { url, proc, client };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fd-replica-loc-'));
  if (PG_AVAILABLE) db = await createTestDatabase();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await killStartedServerProcesses();
  if (PG_AVAILABLE) await db.drop();
  await rm(dir, { recursive: true, force: true });
});

async function within<T>(ms: number, what: string, probe: () => Promise<T | undefined>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return { value, ms: performance.now() - t0 };
    if (performance.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const locationsOf = (info: ClientFlightInfo) => info.endpoint.map((e) => e.location.map((l) => l.uri));

/** Five days of bars: five partitions, so five endpoints with FLIGHT_ENDPOINT_ROWS=1. */
async function seed(client: FlightClient): Promise<void> {
  await client.doActionJson('create_dataset', { name: 'bars', time_column: 'ts', key_columns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
  for (let day = 0; day < 5; day++) {
    const batch = makeBars({ symbols: ['AAPL', 'MSFT', 'NVDA'], start: new Date(Date.parse('2024-01-02T10:00:00Z') + day * 86_400_000).toISOString(), minutes: 20 });
    await client.doPut(pathDescriptor('bars'), [batch]);
  }
}

/** A table's rows as comparable JSON (bigints as strings). */
const rowsJson = (t: Table) => JSON.stringify(t.toArray().map((r) => r!.toJSON()), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));

describe.skipIf(!PG_AVAILABLE)('endpoint locations: the live replicas', { timeout: 180_000 }, () => {
  it('lists every live replica, rotated; each endpoint reads the same through each; a put through one is read through the others within 1 s; a killed replica drops out within the liveness window', async () => {
    const replicas = await Promise.all([replica(), replica(), replica()]);
    const all = replicas.map((r) => r.url).sort();
    await seed(replicas[0]!.client);

    // Every replica lists all three once their heartbeats have been read (one beat: 2 s).
    for (const r of replicas) {
      await within(5000, `${r.url} lists all three`, async () => {
        try {
          const info = await r.client.getFlightInfo(pathDescriptor('bars'));
          return info.endpoint.length === 5 && locationsOf(info).every((l) => l.length === 3) ? true : undefined;
        } catch {
          return undefined; // the dataset not yet planned there
        }
      });
    }
    for (const r of replicas) {
      const info = await r.client.getFlightInfo(pathDescriptor('bars'));
      const locs = locationsOf(info);
      for (const [i, l] of locs.entries()) {
        expect([...l].sort(), `endpoint ${i} through ${r.url}`).toEqual(all);
        // A rotation of the one order: consecutive endpoints start one replica further on.
        const start = all.indexOf(l[0]!);
        expect(l).toEqual([...all.slice(start), ...all.slice(0, start)]);
        if (i > 0) expect(all.indexOf(l[0]!)).toBe((all.indexOf(locs[i - 1]![0]!) + 1) % 3);
      }
    }
    // Consecutive answers start at different replicas too (a one-endpoint query spreads).
    const firsts = new Set<string>();
    for (let k = 0; k < 3; k++) firsts.add(locationsOf(await replicas[1]!.client.getFlightInfo(pathDescriptor('bars')))[0]![0]!);
    expect(firsts.size).toBe(3);

    // Each endpoint through each of its locations: the same rows, every one of the dataset's once.
    const info = await replicas[2]!.client.getFlightInfo(pathDescriptor('bars'));
    let total = 0;
    for (const e of info.endpoint) {
      const tables = await Promise.all(e.location.map((l) => replicas.find((r) => r.url === l.uri)!.client.readTable(e.ticket!)));
      expect(tables[0]!.numRows).toBe(60);
      for (const t of tables.slice(1)) expect(rowsJson(t)).toBe(rowsJson(tables[0]!));
      total += tables[0]!.numRows;
    }
    expect(total).toBe(300);

    // A put through each replica is read through the other two within 1 s (the contract's bound).
    for (const [i, writer] of replicas.entries()) {
      const start = new Date(Date.parse('2024-01-02T10:20:00Z') + i * 60_000).toISOString();
      await writer.client.doPut(pathDescriptor('bars'), [makeBars({ symbols: ['AAPL', 'MSFT', 'NVDA'], start, minutes: 1 })]);
      const query = JSON.stringify({ dataset: 'bars', start, end: new Date(Date.parse(start) + 60_000).toISOString() });
      for (const reader of replicas.filter((r) => r !== writer)) {
        await within(1000, `a put through ${writer.url} read through ${reader.url}`, async () => ((await reader.client.readTable(query)).numRows === 3 ? true : undefined));
      }
    }

    // SIGKILL one: no deregistration; it leaves every list once its heartbeat is older than the window.
    const [killed, ...rest] = replicas;
    process.kill(killed!.proc.pid, 'SIGKILL');
    await killed!.proc.exited;
    const live = rest.map((r) => r.url).sort();
    for (const r of rest) {
      const { ms } = await within(GONE_WITHIN_MS, `${killed!.url} leaves the locations of ${r.url}`, async () => {
        const l = locationsOf(await r.client.getFlightInfo(pathDescriptor('bars')));
        return l.every((x) => x.length === 2 && [...x].sort().join() === live.join()) ? true : undefined;
      });
      expect(ms).toBeLessThan(GONE_WITHIN_MS);
    }

    // SIGTERM another: it deregisters first, so the last one lists only itself after its next beat.
    const [stopped, last] = rest;
    await stopped!.proc.stop('SIGTERM');
    expect(await stopped!.proc.exited).toBe(0);
    expect(stopped!.proc.logs.some((l) => l.includes('"replica deregistered"'))).toBe(true);
    const { ms } = await within(4000, 'the stopped replica leaves the locations at once', async () => {
      const l = locationsOf(await last!.client.getFlightInfo(pathDescriptor('bars')));
      return l.every((x) => x.length === 1 && x[0] === last!.url) ? true : undefined;
    });
    expect(ms).toBeLessThan(4000);
  });

  it('without FLIGHT_ADVERTISE_URL endpoints carry no location', async () => {
    const proc = await startServerProcess({ DATA_DIR: dir, CATALOG_URL: db.url, FLIGHT_ENDPOINT_ROWS: '1' });
    const client = new FlightClient(proc.url);
    clients.push(client);
    await seed(client);
    const info = await client.getFlightInfo(pathDescriptor('bars'));
    expect(info.endpoint).toHaveLength(5);
    expect(locationsOf(info).every((l) => l.length === 0)).toBe(true);
  });

  it('a reader following locations survives one replica\'s SIGTERM mid-scan: every row read exactly once', async () => {
    // Replicas cut their running calls at once on SIGTERM (no grace): streams break mid-endpoint.
    const env = { FLIGHT_SHUTDOWN_GRACE_MS: '0', FLIGHT_BATCH_ROWS: '256' };
    const replicas = await Promise.all([replica(env), replica(env), replica(env)]);
    const home = replicas[0]!;
    await home.client.doActionJson('create_dataset', { name: 'bars', time_column: 'ts', key_columns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
    const symbols = Array.from({ length: 40 }, (_, i) => `S${String(i).padStart(2, '0')}`);
    const DAYS = 9;
    const MINUTES = 600;
    for (let day = 0; day < DAYS; day++) {
      const batch = makeBars({ symbols, start: new Date(Date.parse('2024-01-02T00:00:00Z') + day * 86_400_000).toISOString(), minutes: MINUTES });
      await home.client.doPut(pathDescriptor('bars'), [batch]);
    }
    const info = await within(5000, 'every endpoint lists the three replicas', async () => {
      const i = await home.client.getFlightInfo(pathDescriptor('bars'));
      return i.endpoint.length === DAYS && locationsOf(i).every((l) => l.length === 3) ? i : undefined;
    });
    const locs = locationsOf(info.value);

    const failovers: { endpoint: number; location: string; code: string; delivered: number }[] = [];
    const reader = new LocationReader(home.client, {
      concurrency: 2,
      // HTTP/2's default window, not the client's 4 MiB: an endpoint read ahead stays part-read on the
      // server. On grpc-js: the node:http2 DoGet path also queues up to 8 MiB of messages of its own,
      // which holds this 1.3 MB endpoint whole before the cut (test/src/http2-doget-client.test.ts
      // covers that path's mid-stream failures).
      clientOptions: { doGetTransport: 'grpc-js', channelOptions: { 'grpc-node.flow_control_window': 65_535 } },
      onFailover: (e) => failovers.push({ endpoint: e.endpoint, location: e.location, code: e.error.code, delivered: e.deliveredRows }),
    });
    const seen = new Set<string>();
    let duplicates = 0;
    let batches = 0;
    let victim: Replica | null = null;
    let terminated: Promise<void> | null = null;
    try {
      for await (const batch of reader.batches(info.value)) {
        for (const row of batch) {
          const key = `${row!.symbol}@${row!.ts}`;
          if (seen.has(key)) duplicates++;
          seen.add(key);
        }
        // Mid-scan: endpoint 1 is read ahead meanwhile (its stream held by the reader's bounded
        // buffer); give it a moment to be part-read, then stop its first location.
        if (++batches === 1) {
          await new Promise((r) => setTimeout(r, 300));
          victim = replicas.find((r) => r.url === locs[1]![0])!;
          terminated = victim.proc.stop('SIGTERM');
        }
      }
    } finally {
      reader.close();
    }
    await terminated;
    expect(await victim!.proc.exited).toBe(0);
    expect(duplicates).toBe(0);
    expect(seen.size).toBe(DAYS * symbols.length * MINUTES);
    // Every endpoint whose first location is the victim failed over, endpoint 1 cut part-way
    // (its rows delivered before the cut were skipped on the retry).
    // A stream cut by the replica's shutdown reaches grpc-js as CANCELLED; the later ones are refused (UNAVAILABLE).
    expect(failovers.every((f) => f.location === victim!.url && ['UNAVAILABLE', 'CANCELLED'].includes(f.code)), JSON.stringify(failovers)).toBe(true);
    expect(failovers.map((f) => f.endpoint)).toEqual([1, 4, 7]);
    expect(failovers[0]!.delivered).toBeGreaterThan(0);
    expect(failovers[0]!.delivered).toBeLessThan(symbols.length * MINUTES);
  });
});
