/**
 * Measures the PostgreSQL catalog against the file catalog (not part of npm test; needs the
 * PostgreSQL of DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test):
 *
 *   node --import tsx flight-server/scripts/measure-catalog.ts [commits per round=100]
 *
 * 1. small appends through a real server process, one at a time: DoPut latency p50/p99 (client
 *    side: stream, Parquet encode, fsync, commit) on the file catalog and on the PostgreSQL catalog,
 *    two alternating rounds each;
 * 2. the catalog commit alone (one added file, in-process) on each;
 * 3. two server processes on one PostgreSQL catalog and one DATA_DIR: after each put acknowledged
 *    by one, how long until the other's describe_dataset shows the version (polled every 2 ms).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlightClient, pathDescriptor } from '@flightdeck/proto';
import { BARS_FIELDS, makeBars } from '../test-support/bars.js';
import { createTestDatabase } from '../test-support/pg-catalog.js';
import { startServerProcess } from '../test-support/server-process.js';
import { silentLog } from '../test-support/store-reads.js';
import { FileCatalog } from '../src/storage/catalog/file-catalog.js';
import { PostgresCatalog } from '../src/storage/catalog/postgres/postgres-catalog.js';
import type { CatalogBackend } from '../src/storage/catalog/catalog-backend.js';
import type { Manifest } from '../src/storage/manifest.js';

const COMMITS = Number(process.argv[2] ?? 100);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const fmt = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(2)} ms, p99 ${pct(xs, 99).toFixed(2)} ms (n=${xs.length})`;
const bars = (i: number) => makeBars({ symbols: ['AAPL', 'MSFT', 'NVDA'], start: new Date(Date.parse('2024-01-02T10:00:00Z') + i * 60_000).toISOString(), minutes: 1 });
const create = (c: FlightClient) => c.doActionJson('create_dataset', { name: 'bars', time_column: 'ts', key_columns: ['symbol'], partition: 'day', fields: BARS_FIELDS });

async function putLatencies(client: FlightClient, onAck?: (version: number) => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < COMMITS; i++) {
    const t0 = performance.now();
    const res = await client.doPut(pathDescriptor('bars'), [bars(i)]);
    out.push(performance.now() - t0);
    await onAck?.((JSON.parse(Buffer.from(res.appMetadata).toString()) as { version: number }).version);
  }
  return out;
}

async function catalogCommits(backend: CatalogBackend): Promise<number[]> {
  const first: Manifest = {
    format: 1, name: 'bars', version: 0, committedAt: new Date().toISOString(), operation: 'create', timeColumn: 'ts',
    keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS, addedColumns: [], retention: null, files: [],
  };
  const h = await backend.createDataset(first);
  const out: number[] = [];
  for (let i = 0; i < COMMITS; i++) {
    const t = (BigInt(Date.UTC(2024, 0, 2, 10, i)) * 1_000_000n).toString();
    const f = { path: `date=2024-01-02/part-${i}.parquet`, partition: 'date=2024-01-02', rows: 3, bytes: 2000, minTimeNs: t, maxTimeNs: t, minKey: 'AAPL', maxKey: 'NVDA', columns: ['symbol', 'ts'], rowGroups: [{ rows: 3, minTimeNs: t, maxTimeNs: t, minKey: 'AAPL', maxKey: 'NVDA' }], ipc: null };
    const t0 = performance.now();
    await h.commit({ operation: 'put', added: [f] }, h.current.version);
    out.push(performance.now() - t0);
  }
  await h.close();
  return out;
}

const dir = await mkdtemp(join(tmpdir(), 'fd-measure-catalog-'));
const db = await createTestDatabase();
try {
  const lines: string[] = [];

  // 1. DoPut through one server process, file catalog vs PostgreSQL catalog, in alternating rounds
  //    (this machine's load varies: each side gets the same share of it).
  const putFile: number[] = [];
  const putPg: number[] = [];
  for (let round = 0; round < 2; round++) {
    for (const kind of ['file', 'pg'] as const) {
      const roundDb = kind === 'pg' ? await createTestDatabase() : null;
      const server = await startServerProcess({
        DATA_DIR: join(dir, `${kind}-${round}`),
        FLIGHT_COMPACT_FILES: '0',
        LOG_LEVEL: 'info',
        ...(roundDb ? { CATALOG_URL: roundDb.url } : {}),
      });
      const client = new FlightClient(server.url);
      await create(client);
      (kind === 'file' ? putFile : putPg).push(...(await putLatencies(client)));
      client.close();
      await server.stop();
      await roundDb?.drop();
    }
  }
  lines.push(`DoPut of 3 rows, file catalog:        ${fmt(putFile)}`);
  lines.push(`DoPut of 3 rows, PostgreSQL catalog:  ${fmt(putPg)}`);

  // 3. Two replicas: visibility of each commit on the other.
  const [a, b] = await Promise.all(
    [0, 1].map(() => startServerProcess({ DATA_DIR: join(dir, 'shared'), CATALOG_URL: db.url, FLIGHT_COMPACT_FILES: '0', LOG_LEVEL: 'info' })),
  );
  const ca = new FlightClient(a!.url);
  const cb = new FlightClient(b!.url);
  await create(ca);
  for (;;) if (await cb.doActionJson('describe_dataset', { name: 'bars' }).then(() => true, () => false)) break;
  const visible: number[] = [];
  const pg = await putLatencies(ca, async (version) => {
    const t0 = performance.now();
    for (;;) {
      const d = await cb.doActionJson<{ version: number }>('describe_dataset', { name: 'bars' });
      if (d.version >= version) break;
      if (performance.now() - t0 > 5000) throw new Error(`version ${version} not visible on the other replica within 5 s`);
      await new Promise((r) => setTimeout(r, 2));
    }
    visible.push(performance.now() - t0);
  });
  lines.push(`DoPut of 3 rows, 2 replicas (the other polling): ${fmt(pg)}`);
  lines.push(`visible on the other replica after:   ${fmt(visible)}`);
  ca.close();
  cb.close();
  await Promise.all([a!.stop(), b!.stop()]);

  // 2. The catalog commit alone.
  lines.push(`catalog commit alone, file catalog:   ${fmt(await catalogCommits(new FileCatalog(join(dir, 'cat-file'), { checkpointEvery: 100, log: silentLog })))}`);
  const db2 = await createTestDatabase();
  const pgCatalog = await PostgresCatalog.connect(db2.url, silentLog);
  lines.push(`catalog commit alone, PostgreSQL:     ${fmt(await catalogCommits(pgCatalog))}`);
  await pgCatalog.close();
  await db2.drop();

  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await db.drop();
  await rm(dir, { recursive: true, force: true });
}
