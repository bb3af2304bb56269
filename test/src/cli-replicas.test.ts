/**
 * `flightdeck get` follows endpoint locations: two Flight replicas on one PostgreSQL catalog (a
 * database of its own) and one DATA_DIR, each advertising its own port. One is killed; until its
 * heartbeat ages out GetFlightInfo still lists it first for half of the endpoints, and the CLI
 * reads those from the other location: every row once, exit 0.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FlightClient, pathDescriptor } from '@flightdeck/proto';
import { createTestDatabase, PG_AVAILABLE, type TestDatabase } from '../../flight-server/test-support/pg-catalog.js';
import { freePort, runFlightdeck, startServer, tempDir, type ServerProcess } from './cli-harness.js';

let dir: { path: string; remove(): Promise<void> };
let db: TestDatabase;
const servers: ServerProcess[] = [];

beforeEach(async () => {
  dir = await tempDir('fd-cli-replicas-');
  if (PG_AVAILABLE) db = await createTestDatabase();
});
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop('SIGKILL');
  if (PG_AVAILABLE) await db.drop();
  await dir.remove();
});

async function replica(): Promise<ServerProcess> {
  const port = await freePort();
  const s = await startServer(join(dir.path, 'data'), port, {
    CATALOG_URL: db.url,
    FLIGHT_ADVERTISE_URL: `grpc://127.0.0.1:${port}`,
    FLIGHT_ENDPOINT_ROWS: '1',
    FLIGHT_COMPACT_FILES: '0',
  });
  servers.push(s);
  return s;
}

describe.skipIf(!PG_AVAILABLE)('flightdeck get over replicas', { timeout: 120_000 }, () => {
  it('reads endpoints from their locations and fails over from a killed replica: every row once', async () => {
    const [a, b] = [await replica(), await replica()];
    const client = new FlightClient(a.url);
    try {
      const days = 6;
      for (let d = 0; d < days; d++) {
        const csv = join(dir.path, `day${d}.csv`);
        const rows = Array.from({ length: 50 }, (_, i) => `2024-01-0${d + 2}T10:${String(i).padStart(2, '0')}:00Z,S${i % 5},${d * 100 + i}`);
        await writeFile(csv, `ts,symbol,price\n${rows.join('\n')}\n`);
        const create = d === 0 ? ['--create', '--time-column', 'ts', '--key', 'symbol', '--partition', 'day'] : [];
        const put = await runFlightdeck(['put', 'ticks', csv, ...create], { url: a.url });
        expect(put.code, put.stderr).toBe(0);
      }
      // Both replicas listed for every endpoint (one heartbeat of each read by a).
      const t0 = performance.now();
      for (;;) {
        const info = await client.getFlightInfo(pathDescriptor('ticks'));
        if (info.endpoint.length === days && info.endpoint.every((e) => e.location.length === 2)) break;
        expect(performance.now() - t0, 'both replicas listed within 5 s').toBeLessThan(5000);
        await new Promise((r) => setTimeout(r, 100));
      }
      await b.stop('SIGKILL');
      const info = await client.getFlightInfo(pathDescriptor('ticks'));
      expect(info.endpoint.filter((e) => e.location[0]!.uri === b.url).length, 'the killed replica is still listed first for half').toBe(days / 2);

      const out = join(dir.path, 'out.arrow');
      const got = await runFlightdeck(['get', 'ticks', '-o', out], { url: a.url });
      expect(got.code, got.stderr).toBe(0);
      const table = tableFromIPC(await readFile(out));
      expect(table.numRows).toBe(days * 50);
      const keys = new Set(table.toArray().map((r) => `${r!.symbol}@${r!.ts}`));
      expect(keys.size).toBe(days * 50);
    } finally {
      client.close();
    }
  });
});
