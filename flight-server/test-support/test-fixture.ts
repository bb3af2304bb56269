/**
 * For tests of the service layer: a Flight server in-process on port 0 over a fresh DATA_DIR,
 * configured from an env object as main.ts would be, and a bars dataset to read.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { FlightClient, pathDescriptor, type FlightClientOptions } from '@flightdeck/proto';
import { loadConfig, type FlightServerConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { DatasetStore } from '../src/storage/dataset-store.js';
import { BARS_FIELDS, makeBars } from './bars.js';
import { startFlightServer, type RunningFlightServer } from '../src/server/server.js';

export interface TestServer {
  dir: string;
  config: FlightServerConfig;
  store: DatasetStore;
  server: RunningFlightServer;
  client(opts?: FlightClientOptions): FlightClient;
  /** Closes the clients made by client(), the server and the store, and removes DATA_DIR. */
  stop(graceMs?: number): Promise<void>;
}

export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'fd-ops-'));
  let store: DatasetStore | undefined;
  let config: FlightServerConfig;
  let server: RunningFlightServer;
  try {
    config = loadConfig({ FLIGHT_PORT: '0', DATA_DIR: dir, LOG_LEVEL: 'silent', ...env });
    const logger = createLogger(config.logLevel);
    store = await DatasetStore.open(config, logger);
    server = await startFlightServer({ config, store, logger });
  } catch (err) {
    // A server that does not start (the tests of bad configurations) leaves nothing behind.
    await store?.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const clients: FlightClient[] = [];
  return {
    dir,
    config,
    store,
    server,
    client(opts = {}) {
      const c = new FlightClient(server.url, opts);
      clients.push(c);
      return c;
    },
    async stop(graceMs = 1000) {
      for (const c of clients) c.close();
      await server.close(graceMs);
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface SeedOptions {
  symbols?: string[];
  days?: number;
  /** Bars per symbol and day (default 390, a trading day). */
  minutes?: number;
  /** Default ['symbol']; [] makes time the whole key (reads are then forwarded file by file). */
  keyColumns?: string[];
  partition?: string;
}

/** Creates `name` and puts `days` days of 1-minute bars for `symbols`; returns the row count. */
export async function seedBars(client: FlightClient, name: string, opts: SeedOptions = {}): Promise<number> {
  await client.doActionJson('create_dataset', {
    name,
    time_column: 'ts',
    key_columns: opts.keyColumns ?? ['symbol'],
    partition: opts.partition ?? 'day',
    fields: BARS_FIELDS,
  });
  const symbols = opts.symbols ?? ['AAPL', 'MSFT'];
  const batches = [];
  for (let d = 0; d < (opts.days ?? 1); d++) {
    const start = new Date(Date.UTC(2024, 0, 2 + d, 9, 30)).toISOString();
    batches.push(makeBars({ symbols, start, minutes: opts.minutes ?? 390 }));
  }
  await client.doPut(pathDescriptor(name), batches);
  return batches.reduce((n, b) => n + b.numRows, 0);
}

/** Prometheus text -> { 'name{labels}': value } (labels as printed). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(\S+?(?:\{.*\})?) (\S+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** Every file below `dir`, as sorted paths relative to it. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}
