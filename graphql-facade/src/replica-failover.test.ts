/**
 * The facade in front of two Flight replicas (child processes on one PostgreSQL catalog, a database
 * of its own, and one DATA_DIR, each with FLIGHT_ADVERTISE_URL): it learns both locations, spreads
 * its reads over them, and when the replica it reads from is SIGKILLed or SIGTERMed its `bars`
 * queries keep answering the same rows, with no failed request.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FlightClient, pathDescriptor } from '@flightdeck/proto';
import { BARS_FIELDS, makeBars } from '../../flight-server/test-support/bars.js';
import { createTestDatabase, PG_AVAILABLE, type TestDatabase } from '../../flight-server/test-support/pg-catalog.js';
import { freePort, killStartedServerProcesses, startServerProcess, type ServerProcess } from '../../flight-server/test-support/server-process.js';
import { loadConfig } from './config.js';
import { startFacade, type RunningFacade } from './facade.js';
import pino from 'pino';

let dir: string;
let db: TestDatabase;
const clients: FlightClient[] = [];
let facade: RunningFacade | undefined;
/** The facade's warnings (pino JSON lines). */
let warnings: string[] = [];

interface Replica {
  url: string;
  proc: ServerProcess;
}

async function replica(env: Record<string, string> = {}): Promise<Replica> {
  const port = await freePort();
  const url = `grpc://127.0.0.1:${port}`;
  const proc = await startServerProcess({
    DATA_DIR: dir,
    CATALOG_URL: db.url,
    FLIGHT_PORT: String(port),
    FLIGHT_ADVERTISE_URL: url,
    FLIGHT_COMPACT_FILES: '0',
    ...env,
  });
  return { url, proc };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fd-facade-replicas-'));
  if (PG_AVAILABLE) db = await createTestDatabase();
});
afterEach(async () => {
  await facade?.close();
  facade = undefined;
  for (const c of clients.splice(0)) c.close();
  await killStartedServerProcesses();
  if (PG_AVAILABLE) await db.drop();
  await rm(dir, { recursive: true, force: true });
});

const SYMBOLS = ['AAPL', 'MSFT', 'NVDA'];
const DAYS = 3;
const MINUTES = 200;

async function seed(url: string, login?: [string, string]): Promise<void> {
  const client = new FlightClient(url);
  clients.push(client);
  if (login) await client.handshake(...login);
  await client.doActionJson('create_dataset', { name: 'bars', time_column: 'ts', key_columns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
  for (let day = 0; day < DAYS; day++) {
    const batch = makeBars({ symbols: SYMBOLS, start: new Date(Date.parse('2024-01-02T10:00:00Z') + day * 86_400_000).toISOString(), minutes: MINUTES });
    await client.doPut(pathDescriptor('bars'), [batch]);
  }
}

/** Two symbols (one batched Flight read) and a resampled one (another). */
const QUERY = /* GraphQL */ `
  {
    a: bars(symbol: "AAPL") { symbol ts open high low close volume }
    m: bars(symbol: "MSFT", from: "2024-01-03T00:00:00.000Z") { symbol ts close }
    n: bars(symbol: "NVDA", interval: "1h") { ts open close volume }
  }
`;

interface GqlResponse {
  data?: Record<string, unknown[]> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

async function bars(target: RunningFacade): Promise<GqlResponse> {
  const res = await fetch(target.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: QUERY }) });
  return (await res.json()) as GqlResponse;
}

async function startFacadeOn(flightUrl: string, env: Record<string, string> = {}): Promise<RunningFacade> {
  const config = loadConfig({ ...env, FLIGHT_URL: flightUrl, FACADE_PORT: '0', FACADE_DEFAULT_DATASET: 'bars', FACADE_LOCATION_REFRESH_MS: '500', LOG_LEVEL: 'silent' });
  warnings = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
  facade = await startFacade(config, { logger });
  return facade;
}

/** Queries until the facade lists `urls` (it learns them in the background after its first read). */
async function learns(target: RunningFacade, urls: string[], expected: string): Promise<void> {
  const t0 = performance.now();
  while ([...target.flightLocations()].sort().join() !== [...urls].sort().join()) {
    if (performance.now() - t0 > 10_000) throw new Error(`facade locations ${JSON.stringify(target.flightLocations())}, not ${JSON.stringify(urls)}`);
    expect(JSON.stringify(await bars(target))).toBe(expected);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const failovers = (url: string) => warnings.filter((l) => l.includes('failed over') && l.includes(url)).length;

/** Waits (up to 10 s) until `probe` holds. */
async function until(what: string, probe: () => boolean): Promise<void> {
  const t0 = performance.now();
  while (!probe()) {
    if (performance.now() - t0 > 10_000) throw new Error(`${what}: not within 10 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const doGets = (r: Replica) => r.proc.logs.filter((l) => l.includes('"msg":"DoGet ok"')).length;

/** `workers` clients querying back to back until `stop`: every answer compared with `expected`. */
function load(target: RunningFacade, expected: string, workers: number) {
  let stopped = false;
  const failures: string[] = [];
  let answered = 0;
  const runs = Array.from({ length: workers }, async () => {
    while (!stopped) {
      const r = JSON.stringify(await bars(target).catch((e: unknown) => ({ errors: [{ message: String(e) }] })));
      if (r === expected) answered++;
      else failures.push(r.slice(0, 500));
    }
  });
  return {
    async stop() {
      stopped = true;
      await Promise.all(runs);
      return { answered, failures };
    },
  };
}

describe.skipIf(!PG_AVAILABLE)('the facade reads from Flight replicas and fails over', { timeout: 180_000 }, () => {
  it('spreads reads over both replicas; SIGKILL of the one it was configured with loses no request', async () => {
    const [a, b] = await Promise.all([replica(), replica()]);
    await seed(a!.url);
    const target = await startFacadeOn(a!.url);
    const first = await bars(target);
    expect(first.errors).toBeUndefined();
    expect(first.data!.a).toHaveLength(DAYS * MINUTES);
    expect(first.data!.m).toHaveLength((DAYS - 1) * MINUTES);
    const expected = JSON.stringify(first);
    await learns(target, [a!.url, b!.url], expected);

    // Reads spread: each replica serves some of the DoGets.
    const before = [doGets(a!), doGets(b!)];
    for (let i = 0; i < 8; i++) expect(JSON.stringify(await bars(target))).toBe(expected);
    expect(doGets(a!) - before[0]!).toBeGreaterThan(0);
    expect(doGets(b!) - before[1]!).toBeGreaterThan(0);

    // SIGKILL the replica FLIGHT_URL names while queries run; it stays listed until its heartbeat
    // ages out (about 12 s), so the facade keeps meeting it and failing over meanwhile.
    const running = load(target, expected, 4);
    await new Promise((r) => setTimeout(r, 300));
    process.kill(a!.proc.pid, 'SIGKILL');
    await a!.proc.exited;
    await new Promise((r) => setTimeout(r, 3000));
    const { answered, failures } = await running.stop();
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(20);
    // Reads (and describe_dataset calls) met the dead replica and went on to the other one.
    expect(failovers(a!.url)).toBeGreaterThan(0);
    expect(failovers(b!.url)).toBe(0);
    for (let i = 0; i < 10; i++) expect(JSON.stringify(await bars(target))).toBe(expected);
  });

  it('SIGTERM of a replica mid-load (streams cut at once) loses no request', async () => {
    const env = { FLIGHT_SHUTDOWN_GRACE_MS: '0', FLIGHT_BATCH_ROWS: '64' };
    const [a, b] = await Promise.all([replica(env), replica(env)]);
    await seed(a!.url);
    const target = await startFacadeOn(a!.url);
    const expected = JSON.stringify(await bars(target));
    expect(expected).not.toContain('"errors"');
    await learns(target, [a!.url, b!.url], expected);

    const servedBefore = doGets(b!);
    const running = load(target, expected, 4);
    // It is serving the facade's reads when it is stopped.
    await until('the replica serves reads under load', () => doGets(b!) > servedBefore + 5);
    await b!.proc.stop('SIGTERM');
    expect(await b!.proc.exited).toBe(0);
    await new Promise((r) => setTimeout(r, 2000));
    const { answered, failures } = await running.stop();
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(20);
    expect(failovers(b!.url)).toBeGreaterThan(0);
    // It deregistered: the facade's next refresh drops it.
    await learns(target, [a!.url], expected);
  });

  it('with auth on (replicas sharing FLIGHT_TOKEN_SECRET): the facade\'s token reads from every replica, and a SIGKILL loses no request', async () => {
    const env = { FLIGHT_USERS: 'facade:pw-read:read,crawler:pw-write:write', FLIGHT_TOKEN_SECRET: 'a-test-secret-of-at-least-32-characters!' };
    const [a, b] = await Promise.all([replica(env), replica(env)]);
    await seed(a!.url, ['crawler', 'pw-write']);
    const target = await startFacadeOn(a!.url, { FLIGHT_USER: 'facade', FLIGHT_PASSWORD: 'pw-read' });
    const expected = JSON.stringify(await bars(target));
    expect(expected).not.toContain('"errors"');
    await learns(target, [a!.url, b!.url], expected);
    const before = doGets(b!);
    for (let i = 0; i < 6; i++) expect(JSON.stringify(await bars(target))).toBe(expected);
    expect(doGets(b!)).toBeGreaterThan(before);
    expect(b!.proc.logs.some((l) => l.includes('UNAUTHENTICATED'))).toBe(false);

    const running = load(target, expected, 2);
    await new Promise((r) => setTimeout(r, 300));
    process.kill(a!.proc.pid, 'SIGKILL');
    await a!.proc.exited;
    await new Promise((r) => setTimeout(r, 2000));
    const { answered, failures } = await running.stop();
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(10);
    expect(failovers(a!.url)).toBeGreaterThan(0);
  });

  it('without FLIGHT_ADVERTISE_URL the facade reads through FLIGHT_URL alone', async () => {
    const proc = await startServerProcess({ DATA_DIR: dir, CATALOG_URL: db.url });
    await seed(proc.url);
    const target = await startFacadeOn(proc.url);
    const expected = JSON.stringify(await bars(target));
    expect(expected).not.toContain('"errors"');
    await new Promise((r) => setTimeout(r, 1200)); // two refreshes
    expect(JSON.stringify(await bars(target))).toBe(expected);
    expect(target.flightLocations()).toEqual([]);
  });
});
