/**
 * The crawler SDK's DatasetWriter against real server processes: rows and record batches in,
 * chunked commits, progress, failing fast on bad input, and the retry path, with the server
 * killed and restarted (same port, same DATA_DIR) in the middle of a run: every row arrives once.
 */
import { join } from 'node:path';
import { FlightClient, FlightError, pathDescriptor } from '@flightdeck/proto';
import { DatasetWriter, InputError, type Row, type WriterProgress } from '@flightdeck/client';
import { Field, Float64, RecordBatch, Schema, Struct, Timestamp, TimeUnit, Utf8, makeData, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startServer, tableRows, tempDir, type ServerProcess } from './cli-harness.js';

const BASE_MS = Date.UTC(2024, 0, 2);

/** Row `i` of a crawl: 10 symbols, one minute apart per 10 rows; `close` derived from the key. */
function crawlRow(i: number): Row {
  return { symbol: `S${i % 10}`, ts: new Date(BASE_MS + Math.floor(i / 10) * 60_000).toISOString(), close: i * 0.5 };
}

async function readAll(url: string, dataset: string): Promise<Record<string, unknown>[]> {
  const client = new FlightClient(url);
  try {
    const info = await client.getFlightInfo(pathDescriptor(dataset));
    const rows: Record<string, unknown>[] = [];
    for (const e of info.endpoint) rows.push(...tableRows(await client.readTable(e.ticket!.ticket)));
    return rows;
  } finally {
    client.close();
  }
}

let dir: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  dir = await tempDir('fd-sdk-');
});

afterAll(async () => {
  await dir?.remove();
});

describe('DatasetWriter', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer(join(dir.path, 'basic'));
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('writes rows in chunked commits, reporting progress', async () => {
    const events: WriterProgress[] = [];
    const writer = new DatasetWriter({
      url: server.url,
      dataset: 'crawl',
      create: { timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day' },
      batchRows: 1000,
      chunkBatches: 3,
      onProgress: (p) => events.push(p),
    });
    async function* rows(): AsyncGenerator<Row> {
      for (let i = 0; i < 10_500; i++) yield crawlRow(i);
    }
    const result = await writer.write(rows());
    writer.close();
    expect(result).toMatchObject({ rows: 10_500, commits: 4, retries: 0, version: 4 });
    expect(events.map((e) => [e.event, e.rows, e.commits])).toEqual([
      ['commit', 3000, 1],
      ['commit', 6000, 2],
      ['commit', 9000, 3],
      ['commit', 10_500, 4],
    ]);
    expect(events.at(-1)!.bytes).toBeGreaterThan(10_500 * 16);
    const back = await readAll(server.url, 'crawl');
    expect(back).toHaveLength(10_500);
    const byKey = new Map(back.map((r) => [`${r.symbol}|${r.ts}`, r.close]));
    for (let i = 0; i < 10_500; i += 997) {
      const row = crawlRow(i);
      expect(byKey.get(`${row.symbol}|${BigInt(Date.parse(row.ts as string)) * 1_000_000n}`)).toBe(row.close);
    }
  });

  it('takes record batches, conforming them to the dataset (ms times to ns, reordered columns)', async () => {
    const schema = new Schema([
      new Field('close', new Float64()),
      new Field('symbol', new Utf8()),
      new Field('ts', new Timestamp(TimeUnit.MILLISECOND, 'UTC')),
    ]);
    const n = 5;
    const batch = new RecordBatch(
      schema,
      makeData({
        type: new Struct(schema.fields),
        length: n,
        nullCount: 0,
        children: [
          vectorFromArray([1, 2, 3, 4, 5], new Float64()).data[0]!,
          vectorFromArray(['B0', 'B0', 'B0', 'B0', 'B0'], new Utf8()).data[0]!,
          makeData({ type: schema.fields[2]!.type as Timestamp, length: n, data: BigInt64Array.from([0n, 1n, 2n, 3n, 4n], (m) => BigInt(BASE_MS) + m * 60_000n) }),
        ],
      }),
    );
    const client = new FlightClient(server.url);
    const writer = new DatasetWriter({ client, dataset: 'crawl' });
    const result = await writer.write([batch, { symbol: 'B1', ts: BASE_MS, close: 9 }]);
    client.close();
    expect(result).toMatchObject({ rows: 6, commits: 1 });
    const back = (await readAll(server.url, 'crawl')).filter((r) => (r.symbol as string).startsWith('B'));
    expect(back.map((r) => [r.symbol, r.ts, r.close])).toEqual([
      ['B0', BigInt(BASE_MS) * 1_000_000n, 1],
      ['B0', BigInt(BASE_MS + 60_000) * 1_000_000n, 2],
      ['B0', BigInt(BASE_MS + 120_000) * 1_000_000n, 3],
      ['B0', BigInt(BASE_MS + 180_000) * 1_000_000n, 4],
      ['B0', BigInt(BASE_MS + 240_000) * 1_000_000n, 5],
      ['B1', BigInt(BASE_MS) * 1_000_000n, 9],
    ]);
  });

  it('fails at once, without retrying, on bad input and on refusals', async () => {
    const retries: WriterProgress[] = [];
    const onProgress = (p: WriterProgress) => {
      if (p.event === 'retry') retries.push(p);
    };
    const bad = new DatasetWriter({ url: server.url, dataset: 'crawl', onProgress, sourceName: 'crawler' });
    const err = await bad.write([crawlRow(1), { ...crawlRow(2), close: 'n/a' }]).catch((e: unknown) => e);
    bad.close();
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe('crawler: row 2, column "close": cannot read "n/a" as float64');

    const unknown = new DatasetWriter({ url: server.url, dataset: 'crawl', onProgress });
    const err2 = await unknown.write([{ ...crawlRow(1), venue: 'X' }]).catch((e: unknown) => e);
    unknown.close();
    expect((err2 as Error).message).toMatch(/row 1: unknown column "venue"/);

    const missing = new DatasetWriter({ url: server.url, dataset: 'nope', onProgress });
    const err3 = await missing.write([crawlRow(1)]).catch((e: unknown) => e);
    missing.close();
    expect(err3).toBeInstanceOf(FlightError);
    expect((err3 as FlightError).code).toBe('NOT_FOUND');
    expect(retries).toEqual([]);
  });
});

describe('DatasetWriter across server restarts', () => {
  it('retries through a crash (SIGKILL) and a graceful stop (SIGTERM): no duplicate, no lost row', { timeout: 600_000 }, async () => {
    const dataDir = join(dir.path, 'restart');
    const port = await freePort();
    let server = await startServer(dataDir, port);
    const url = server.url;
    const TOTAL = 40_000;
    const events: WriterProgress[] = [];
    const outages: string[] = [];
    let restarting: Promise<void> | null = null;

    const restart = (signal: NodeJS.Signals): void => {
      restarting = (async () => {
        await server.stop(signal);
        outages.push(signal);
        await new Promise((r) => setTimeout(r, 500));
        server = await startServer(dataDir, port);
      })();
    };

    const writer = new DatasetWriter({
      url,
      dataset: 'ticks',
      create: { timeColumn: 'ts', keyColumns: ['symbol'] },
      batchRows: 500,
      chunkBatches: 2,
      maxRetries: 60,
      initialBackoffMs: 100,
      maxBackoffMs: 1000,
      onProgress: (p) => {
        events.push(p);
        if (p.event === 'commit' && p.commits === 8) restart('SIGKILL');
        if (p.event === 'commit' && p.commits === 24) restart('SIGTERM');
      },
    });
    async function* rows(): AsyncGenerator<Row> {
      for (let i = 0; i < TOTAL; i++) {
        // A crawler's pace: the outages fall in the middle of the run.
        if (i % 1000 === 0) await new Promise((r) => setTimeout(r, 20));
        yield crawlRow(i);
      }
    }
    let result;
    try {
      result = await writer.write(rows());
    } finally {
      writer.close();
      await restarting;
    }
    try {
      expect(outages).toEqual(['SIGKILL', 'SIGTERM']);
      const retries = events.filter((e) => e.event === 'retry');
      expect(retries.length).toBeGreaterThan(0);
      expect(result.retries).toBe(retries.length);
      expect(result.rows).toBe(TOTAL);
      console.log(
        `DatasetWriter restart run: ${result.commits} commits, ${result.retries} retries (` +
          [...new Set(retries.map((r) => (r.error as FlightError).code ?? String(r.error)))].join(', ') +
          `), final version ${result.version}`,
      );

      const back = await readAll(server.url, 'ticks');
      const keys = back.map((r) => `${r.symbol}|${r.ts}`);
      expect(new Set(keys).size).toBe(keys.length); // no duplicate
      expect(back).toHaveLength(TOTAL); // no lost row
      const byKey = new Map(back.map((r) => [`${r.symbol}|${r.ts}`, r.close]));
      for (let i = 0; i < TOTAL; i++) {
        const row = crawlRow(i);
        const key = `${row.symbol}|${BigInt(Date.parse(row.ts as string)) * 1_000_000n}`;
        if (byKey.get(key) !== row.close) throw new Error(`row ${i} (${key}) reads ${byKey.get(key)}, expected ${row.close}`);
      }
    } finally {
      await server.stop();
    }
  });
});
