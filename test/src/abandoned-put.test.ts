/**
 * A Node client whose source fails mid-DoPut, and which exits right away, must leave nothing
 * committed: Node's HTTP/2 sends END_STREAM before RST_STREAM, so the client has to tell the
 * server that the stream is incomplete before it cancels.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlightClient } from '@flightdeck/proto';
import { DatasetStore, createLogger, loadConfig, startFlightServer, type RunningFlightServer } from '@flightdeck/flight-server';
import { BARS_FIELDS } from '@flightdeck/flight-server/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';

let dir: string;
let server: RunningFlightServer;
let client: FlightClient;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fd-abandoned-'));
  const config = loadConfig({ FLIGHT_PORT: '0', DATA_DIR: dir, LOG_LEVEL: 'silent' });
  const logger = createLogger(config.logLevel);
  server = await startFlightServer({ config, store: await DatasetStore.open(config, logger), logger });
  client = new FlightClient(server.url);
  await client.doActionJson('create_dataset', { name: 'bars', time_column: 'ts', key_columns: ['symbol'], fields: BARS_FIELDS });
});

afterAll(async () => {
  client.close();
  await server.close(1000);
  await rm(dir, { recursive: true, force: true });
});

it('commits nothing of a DoPut abandoned by a client that exits', async () => {
  const script = fileURLToPath(new URL('./fixtures/abandoned-put.ts', import.meta.url));
  for (let i = 0; i < 5; i++) {
    const run = spawnSync(process.execPath, ['--import', 'tsx', script, server.url], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(3);
  }
  await new Promise((r) => setTimeout(r, 300));
  const described = await client.doActionJson<{ version: number; rows: number }>('describe_dataset', { name: 'bars' });
  expect(described).toMatchObject({ version: 0, rows: 0 });
});
