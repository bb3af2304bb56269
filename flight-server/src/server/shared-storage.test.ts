/**
 * The Flight server with its data files on an S3-compatible object store (s3rver on loopback,
 * started here) and its catalog in PostgreSQL (a database of its own): DATA_URL, S3_ENDPOINT,
 * CATALOG_URL, CACHE_DIR, CACHE_DISK_MB as an operator sets them.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlightClient, FlightError, cmdDescriptor, pathDescriptor } from '@flightdeck/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { makeBars } from '../../test-support/bars.js';
import { createTestDatabase, PG_AVAILABLE, type TestDatabase } from '../../test-support/pg-catalog.js';
import { S3RVER_CREDENTIALS, startS3rver, type S3rverHarness } from '../../test-support/s3rver.js';
import { parseMetrics, seedBars, startTestServer, type TestServer } from '../../test-support/test-fixture.js';
import { parseS3Url, S3ObjectStore } from '../storage/object-store/s3-store.js';

/** Every row of a query, as sorted JSON lines (endpoint order does not matter). */
async function rowsOf(client: FlightClient, descriptor: ReturnType<typeof pathDescriptor>): Promise<string[]> {
  const info = await client.getFlightInfo(descriptor);
  const rows: string[] = [];
  for (const e of info.endpoint) for (const r of await client.readTable(e.ticket!.ticket)) rows.push(JSON.stringify(r!.toJSON(), (_, v) => (typeof v === 'bigint' ? v.toString() : v)));
  return rows.sort();
}

async function flightError(p: Promise<unknown>): Promise<FlightError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FlightError);
  return err as FlightError;
}

describe.skipIf(!PG_AVAILABLE)('shared storage: data files on an object store (DATA_URL), catalog in PostgreSQL', () => {
  let s3: S3rverHarness;
  let db: TestDatabase;
  let scratch: string;
  let objects: S3ObjectStore;
  const running: TestServer[] = [];
  const env = (cache: string, extra: Record<string, string> = {}) => ({
    DATA_URL: s3.dataUrl('shared'),
    S3_ENDPOINT: s3.endpoint,
    CATALOG_URL: db.url,
    CACHE_DIR: join(scratch, cache),
    CACHE_DISK_MB: '64',
    // Background compaction would add versions of its own while the test counts them.
    FLIGHT_COMPACT_FILES: '0',
    ...extra,
  });
  const start = async (cache: string, extra: Record<string, string> = {}) => {
    const server = await startTestServer(env(cache, extra));
    running.push(server);
    return server;
  };

  beforeAll(async () => {
    Object.assign(process.env, S3RVER_CREDENTIALS);
    s3 = await startS3rver();
    db = await createTestDatabase();
    scratch = await mkdtemp(join(tmpdir(), 'fd-shared-'));
    objects = new S3ObjectStore(parseS3Url(s3.dataUrl('shared')), { endpoint: s3.endpoint });
  });
  afterAll(async () => {
    for (const s of running) await s.stop().catch(() => undefined); // stop() twice is harmless
    await objects?.close();
    await db?.drop();
    await s3?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  it('loads its configuration from the variables an operator sets', () => {
    expect(loadConfig(env('c0'))).toMatchObject({ dataUrl: s3.dataUrl('shared'), s3Endpoint: s3.endpoint, catalogUrl: db.url, cacheDiskBytes: 64 * 1024 * 1024 });
  });

  it('a put lands on the object store in the Hive layout; DoGet, list_files and a cold replica read it back exactly', async () => {
    const a = await start('a');
    const client = a.client();
    const rows = await seedBars(client, 'bars', { symbols: ['AAPL', 'MSFT', 'NVDA'], days: 3 });
    const expected = await rowsOf(client, pathDescriptor('bars'));
    expect(expected.length).toBe(rows);

    const stored = (await objects.list('bars/')).map((o) => o.key);
    expect(stored.filter((k) => /^bars\/date=2024-01-0[234]\/part-[^/]+\.parquet$/.test(k))).toHaveLength(3);
    expect(stored.filter((k) => /^bars\/_ipc\/date=2024-01-0[234]\/part-[^/]+\.arrows$/.test(k))).toHaveLength(3);

    const listed = await client.doActionJson<{ version: number; files: { url: string; rows: number; bytes: number }[] }>('list_files', { dataset: 'bars' });
    expect(listed.version).toBe(1);
    expect(listed.files.reduce((n, f) => n + f.rows, 0)).toBe(rows);
    for (const f of listed.files) {
      expect(f.url).toMatch(new RegExp(`^s3://${s3.bucket}/shared/bars/date=2024-01-0[234]/part-[^/]+\\.parquet$`));
      expect((await objects.head(f.url.slice(`s3://${s3.bucket}/shared/`.length)))?.size).toBe(f.bytes);
    }

    // Another server over the same DATA_URL and CATALOG_URL, with an empty disk tier: a cold read.
    const b = await start('b', { METRICS_PORT: '0' });
    const cold = await rowsOf(b.client(), pathDescriptor('bars'));
    expect(cold).toEqual(expected);
    const fetched = b.store.diskCacheStats()!;
    expect(fetched.bytesFetched).toBeGreaterThan(0);
    // A selective query on the cold server read what it needed from the tier (and the hot cache).
    const one = await b.client().readTable(JSON.stringify({ dataset: 'bars', symbols: ['MSFT'], columns: ['symbol', 'close'] }));
    expect(one.numRows).toBe(rows / 3);
    expect(b.store.diskCacheStats()!.bytesFetched).toBe(fetched.bytesFetched);
    expect(b.store.diskCacheStats()!.bytes).toBeLessThanOrEqual(64 * 1024 * 1024);
    const health = await b.client().doActionJson<{ disk_cache: { bytesFetched: number; capacityBytes: number } }>('health', {});
    expect(health.disk_cache).toMatchObject({ bytesFetched: fetched.bytesFetched, capacityBytes: 64 * 1024 * 1024 });
    const metrics = parseMetrics(await (await fetch(`http://127.0.0.1:${b.server.metricsPort}/metrics`)).text());
    expect(metrics.get('flightdeck_disk_cache_fetched_bytes_total')).toBe(fetched.bytesFetched);
    expect(metrics.get('flightdeck_disk_cache_capacity_bytes')).toBe(64 * 1024 * 1024);
  });

  it('a server started while the object store is down serves what its disk tier holds', async () => {
    const [a, b] = running;
    const expected = await rowsOf(a!.client(), pathDescriptor('bars'));
    await b!.stop(); // its CACHE_DIR holds every block of 'bars' (the cold read above)
    await s3.stop();
    try {
      const again = await start('b');
      expect(await rowsOf(again.client(), pathDescriptor('bars'))).toEqual(expected);
      expect(again.store.diskCacheStats()!.bytesFetched).toBe(0);
      await again.stop();
    } finally {
      await s3.start();
    }
  });

  it('object store stopped during a put: UNAVAILABLE naming it, nothing committed; the server recovers by itself when it is back', async () => {
    const [a] = running;
    const client = a!.client();
    const before = await client.doActionJson<{ version: number; rows: number }>('describe_dataset', { name: 'bars' });
    const rowsBefore = await rowsOf(client, pathDescriptor('bars'));
    const more = makeBars({ symbols: ['AMZN'], start: '2024-01-05T09:30:00Z', minutes: 390 });

    await s3.stop();
    let err: FlightError;
    try {
      err = await flightError(client.doPut(pathDescriptor('bars'), [more]));
    } finally {
      await s3.start();
    }
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toContain(s3.endpoint);
    expect(err.message).toContain(`s3://${s3.bucket}/shared`);
    // Nothing committed: same version, same rows (read with the store back).
    const after = await client.doActionJson<{ version: number; rows: number }>('describe_dataset', { name: 'bars' });
    expect(after.version).toBe(before.version);
    expect(after.rows).toBe(before.rows);
    expect(await rowsOf(client, pathDescriptor('bars'))).toEqual(rowsBefore);

    // Recovered without a restart: the same put now commits.
    const put = await client.doPut(pathDescriptor('bars'), [more]);
    expect(JSON.parse(Buffer.from(put.appMetadata).toString())).toMatchObject({ rows: 390, version: before.version + 1 });
    const amzn = await client.readTable(JSON.stringify({ dataset: 'bars', symbols: ['AMZN'] }));
    expect(amzn.numRows).toBe(390);
    expect((await rowsOf(client, pathDescriptor('bars'))).length).toBe(rowsBefore.length + 390);
  });

  it('a read of files not in the disk tier while the store is down fails UNAVAILABLE naming it, and works once it is back', async () => {
    const c = await start('c');
    const client = c.client();
    await s3.stop();
    let err: FlightError;
    try {
      err = await flightError(rowsOf(client, cmdDescriptor({ dataset: 'bars', symbols: ['NVDA'] }) as never));
    } finally {
      await s3.start();
    }
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toContain(s3.endpoint);
    const nvda = await client.readTable(JSON.stringify({ dataset: 'bars', symbols: ['NVDA'] }));
    expect(nvda.numRows).toBe(390 * 3);
  });

  it('a one-symbol query on a cold server fetches byte ranges: a fraction of the files, not all of them', async () => {
    const [a] = running;
    const symbols = Array.from({ length: 200 }, (_, i) => `S${String(i).padStart(3, '0')}`);
    await seedBars(a!.client(), 'wide', { symbols, days: 1 });
    const stored = (await objects.list('wide/')).reduce((n, o) => n + o.size, 0);
    const d = await start('d');
    const one = await d.client().readTable(JSON.stringify({ dataset: 'wide', symbols: ['S123'] }));
    expect(one.numRows).toBe(390);
    expect(one.getChild('symbol')!.get(0)).toBe('S123');
    const fetched = d.store.diskCacheStats()!.bytesFetched;
    // A whole-file cache would fetch all of `stored` (the Parquet file and its IPC tier copy); the
    // key run's slice of each column buffer and the message headers take a block or so each.
    expect(fetched).toBeGreaterThan(0);
    expect(fetched).toBeLessThan(stored / 4);
  });

  it('drop removes the dataset objects from the store', async () => {
    const [a] = running;
    const client = a!.client();
    await seedBars(client, 'gone', { symbols: ['X'], days: 1 });
    expect((await objects.list('gone/')).length).toBeGreaterThan(0);
    await client.doActionJson('drop_dataset', { name: 'gone' });
    expect(await objects.list('gone/')).toEqual([]);
  });
});
