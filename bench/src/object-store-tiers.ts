/**
 * Cold DoGet full scans of the same data from three places (issue 12's figure), rows/s:
 * - local mode: a freshly started server over DATA_DIR (the OS page cache stays warm: dropping it
 *   needs root);
 * - object store: a freshly started server over DATA_URL (s3rver on loopback) with an empty disk
 *   tier, so every byte is a ranged GET;
 * - disk tier: a freshly started server over the same DATA_URL whose CACHE_DIR holds the files
 *   from the previous run (its RAM hot cache empty).
 * Every server is its own process (`node --import tsx flight-server/src/main.ts`), stopped after
 * its read. Run alone: `node --import tsx bench/src/object-store-tiers.ts [--rows N] [--reps N]`.
 * Never part of `npm test`; needs PostgreSQL (DATABASE_URL or 127.0.0.1:5432) for CATALOG_URL.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlightClient, pathDescriptor } from '@flightdeck/proto';
import { BARS_FIELDS, makeBars } from '../../flight-server/test-support/bars.js';
import { createTestDatabase } from '../../flight-server/test-support/pg-catalog.js';
import { S3RVER_CREDENTIALS, startS3rver } from '../../flight-server/test-support/s3rver.js';
import { parseJsonLine, startProcess } from './processes.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
};
const SYMBOLS = 100;
const DAYS = Math.max(1, Math.round(arg('rows', 390_000) / (SYMBOLS * 390)));
const REPS = arg('reps', 3);

async function server(env: Record<string, string>) {
  const base = { ...process.env };
  delete base.FLIGHT_USERS;
  return startProcess<{ url: string }>('flightdeck', process.execPath, ['--import', 'tsx', 'flight-server/src/main.ts'], {
    cwd: root,
    env: { ...base, FLIGHT_PORT: '0', FLIGHT_HOST: '127.0.0.1', LOG_LEVEL: 'info', FLIGHT_COMPACT_FILES: '0', ...env },
    timeoutMs: 120_000,
    ready: (line) => {
      const msg = parseJsonLine(line);
      return msg?.msg === 'flight server listening' && typeof msg.port === 'number' ? { url: `grpc://127.0.0.1:${msg.port}` } : undefined;
    },
  });
}

/** Seconds and rows of one full scan (GetFlightInfo, then DoGet of every endpoint in turn). */
async function scan(url: string, dataset: string): Promise<{ seconds: number; rows: number }> {
  const client = new FlightClient(url);
  try {
    const t = performance.now();
    const info = await client.getFlightInfo(pathDescriptor(dataset));
    let rows = 0;
    for (const e of info.endpoint) rows += (await client.readTable(e.ticket!.ticket)).numRows;
    return { seconds: (performance.now() - t) / 1000, rows };
  } finally {
    client.close();
  }
}

async function seed(url: string, dataset: string): Promise<number> {
  const client = new FlightClient(url);
  try {
    await client.doActionJson('create_dataset', { name: dataset, time_column: 'ts', key_columns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
    const symbols = Array.from({ length: SYMBOLS }, (_, i) => `S${String(i).padStart(3, '0')}`);
    let rows = 0;
    for (let d = 0; d < DAYS; d++) {
      const batch = makeBars({ symbols, start: new Date(Date.UTC(2024, 0, 2 + d, 9, 30)).toISOString(), minutes: 390 });
      await client.doPut(pathDescriptor(dataset), [batch]);
      rows += batch.numRows;
    }
    return rows;
  } finally {
    client.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  Object.assign(process.env, S3RVER_CREDENTIALS);
  const scratch = await mkdtemp(join(tmpdir(), 'fd-tiers-'));
  const s3 = await startS3rver();
  const db = await createTestDatabase();
  const shared = { DATA_URL: s3.dataUrl('bench'), S3_ENDPOINT: s3.endpoint, CATALOG_URL: db.url, DATA_DIR: join(scratch, 'unused') };
  const results: Record<string, number[]> = { local: [], objectStore: [], diskTier: [] };
  let rows = 0;
  try {
    const local = { DATA_DIR: join(scratch, 'local') };
    let s = await server(local);
    rows = await seed(s.info.url, 'bars');
    await s.stop();
    s = await server({ ...shared, CACHE_DIR: join(scratch, 'seed-cache') });
    if ((await seed(s.info.url, 'bars')) !== rows) throw new Error('seeded different row counts');
    await s.stop();
    for (let i = 0; i < REPS; i++) {
      s = await server(local);
      const l = await scan(s.info.url, 'bars');
      await s.stop();
      const cache = join(scratch, `cache-${i}`);
      s = await server({ ...shared, CACHE_DIR: cache });
      const o = await scan(s.info.url, 'bars');
      await s.stop();
      s = await server({ ...shared, CACHE_DIR: cache });
      const d = await scan(s.info.url, 'bars');
      await s.stop();
      for (const [k, r] of [['local', l], ['objectStore', o], ['diskTier', d]] as const) {
        if (r.rows !== rows) throw new Error(`${k} read ${r.rows} rows, expected ${rows}`);
        results[k]!.push(r.rows / r.seconds);
      }
    }
  } finally {
    await db.drop().catch(() => undefined);
    await s3.close();
    await rm(scratch, { recursive: true, force: true });
  }
  process.stdout.write(`cold DoGet full scan, ${rows} rows (${SYMBOLS} symbols x ${DAYS} days of 1-minute bars), median of ${REPS}:\n`);
  for (const [k, label] of [['local', 'local mode (DATA_DIR, page cache warm)'], ['objectStore', 'object store (s3rver on loopback, empty disk tier)'], ['diskTier', 'disk tier (CACHE_DIR filled, RAM cache empty)']] as const) {
    process.stdout.write(`  ${label}: ${Math.round(median(results[k]!)).toLocaleString('en')} rows/s  [${results[k]!.map((x) => Math.round(x)).join(', ')}]\n`);
  }
}

await main();
