/**
 * Maintenance on one replica at a time: two flight-server processes on one PostgreSQL catalog
 * (a database of its own) and one DATA_DIR. Exactly one holds the maintenance lease (a session
 * advisory lock) and compacts a partition appends pushed over FLIGHT_COMPACT_FILES, also when the
 * appends came through the other; SIGKILL it and the other takes the lease over and compacts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FlightClient, pathDescriptor } from '@flightdeck/proto';
import { BARS_FIELDS, makeBars } from '../../test-support/bars.js';
import { createTestDatabase, PG_AVAILABLE, type TestDatabase } from '../../test-support/pg-catalog.js';
import { killStartedServerProcesses, startServerProcess, type ServerProcess } from '../../test-support/server-process.js';

let dir: string;
let db: TestDatabase;
const clients: FlightClient[] = [];

interface Replica {
  proc: ServerProcess;
  client: FlightClient;
}

async function replica(): Promise<Replica> {
  const proc = await startServerProcess({ DATA_DIR: dir, CATALOG_URL: db.url, FLIGHT_COMPACT_FILES: '4', METRICS_PORT: '0', METRICS_HOST: '127.0.0.1' });
  const client = new FlightClient(proc.url);
  clients.push(client);
  return { proc, client };
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fd-replica-maint-'));
  if (PG_AVAILABLE) db = await createTestDatabase();
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await killStartedServerProcesses();
  if (PG_AVAILABLE) await db.drop();
  await rm(dir, { recursive: true, force: true });
});

function messageOf(line: string): string {
  try {
    return (JSON.parse(line) as { msg?: string }).msg ?? '';
  } catch {
    return '';
  }
}
const logged = (r: Replica, msg: string) => r.proc.logs.filter((l) => messageOf(l).startsWith(msg)).length;
/** flightdeck_maintenance_lease_held from the replica's /metrics. */
async function leaseGauge(r: Replica): Promise<number> {
  const listening = r.proc.logs.map((l) => {
    try {
      return JSON.parse(l) as { msg?: string; metricsPort?: number };
    } catch {
      return {};
    }
  }).find((l) => l.msg === 'flight server listening');
  const text = await (await fetch(`http://127.0.0.1:${listening!.metricsPort}/metrics`)).text();
  const m = /^flightdeck_maintenance_lease_held (\d+)$/m.exec(text);
  if (!m) throw new Error('no flightdeck_maintenance_lease_held in /metrics');
  return Number(m[1]);
}
const holds = (r: Replica) => logged(r, 'maintenance lease acquired') > 0;
const compactions = (r: Replica) => logged(r, 'background compaction committed');

async function within(ms: number, what: string, cond: () => boolean | Promise<boolean>): Promise<void> {
  const t0 = performance.now();
  while (!(await cond())) {
    if (performance.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function filesOfDay(client: FlightClient): Promise<number> {
  const d = await client.doActionJson<{ partitions: { key: string; files: number }[] }>('describe_dataset', { name: 'bars' });
  return d.partitions.find((p) => p.key === 'date=2024-01-02')?.files ?? 0;
}

async function rowCount(client: FlightClient): Promise<number> {
  return (await client.readTable('{"dataset":"bars"}')).numRows;
}

/** Six appends of one minute each (3 rows) into one day: six files, over the bound of 4. */
async function appendSix(client: FlightClient, first: number): Promise<void> {
  for (let i = first; i < first + 6; i++) {
    const batch = makeBars({ symbols: ['AAPL', 'MSFT', 'NVDA'], start: new Date(Date.parse('2024-01-02T10:00:00Z') + i * 60_000).toISOString(), minutes: 1 });
    await client.doPut(pathDescriptor('bars'), [batch]);
  }
}

describe.skipIf(!PG_AVAILABLE)('maintenance on one replica at a time', { timeout: 120_000 }, () => {
  it('one replica compacts, also what came through the other; SIGKILL it and the other takes over', async () => {
    const [a, b] = await Promise.all([replica(), replica()]);
    await within(10_000, 'one replica holds the lease', () => holds(a) || holds(b));
    const [holder, standby] = holds(a) ? [a, b] : [b, a];
    // Another second of tries by the standby changes nothing: the lock is one.
    await new Promise((r) => setTimeout(r, 1500));
    expect(holds(standby)).toBe(false);
    expect([await leaseGauge(holder), await leaseGauge(standby)]).toEqual([1, 0]);

    // Appends through the standby; the holder learns of them from the catalog and compacts.
    await standby.client.doActionJson('create_dataset', { name: 'bars', time_column: 'ts', key_columns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
    await appendSix(standby.client, 0);
    await within(15_000, 'the holder compacts the day', async () => compactions(holder) > 0 && (await filesOfDay(standby.client)) <= 4);
    expect(compactions(standby)).toBe(0);
    expect(await rowCount(standby.client)).toBe(18);

    process.kill(holder.proc.pid, 'SIGKILL');
    await holder.proc.exited;
    // PostgreSQL ends the killed process's session, releasing the lock; the standby's next try takes it.
    await within(10_000, 'the standby takes the lease over', () => holds(standby));
    expect(await leaseGauge(standby)).toBe(1);
    await appendSix(standby.client, 6);
    await within(15_000, 'the new holder compacts the day', async () => compactions(standby) > 0 && (await filesOfDay(standby.client)) <= 4);
    expect(await rowCount(standby.client)).toBe(36);
  });
});
