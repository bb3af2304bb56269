import { afterEach, describe, expect, it } from 'vitest';
import type { RecordBatch } from 'apache-arrow';
import * as grpc from '@grpc/grpc-js';
import { cmdDescriptor, flightServiceDefinition, pathDescriptor, type FlightClient, type FlightRecordBatchStream } from '@flightdeck/proto';
import { makeBars } from '../../../test-support/bars.js';
import { rawClient } from '../../../test-support/raw-flight-calls.js';
import { parseMetrics, seedBars, startTestServer, type TestServer } from '../../../test-support/test-fixture.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

interface Received {
  version: number;
  rows: { symbol: string; ts: number; close: number }[];
}

/** Reads a follow stream in the background: every batch with its version, as it arrives. */
function collect(stream: FlightRecordBatchStream): { got: Received[]; done: Promise<unknown> } {
  const got: Received[] = [];
  const done = (async () => {
    for await (const batch of stream as AsyncIterable<RecordBatch>) {
      const meta = JSON.parse(Buffer.from(stream.lastAppMetadata).toString('utf8')) as { version: number };
      const rows = [...batch].map((r) => ({ symbol: String(r.symbol), ts: Number(r.ts), close: r.close as number }));
      got.push({ version: meta.version, rows });
    }
  })().then(
    () => null,
    (e: unknown) => e,
  );
  return { got, done };
}

async function until(what: () => boolean, ms: number, label: string): Promise<number> {
  const t0 = Date.now();
  while (!what()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now() - t0;
}

/** A gauge of the server's /metrics. */
async function metric(name: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${server!.server.metricsPort}/metrics`);
  return parseMetrics(await res.text()).get(name) ?? Number.NaN;
}

async function untilMetric(name: string, value: number, ms: number): Promise<void> {
  const t0 = Date.now();
  while ((await metric(name)) !== value) {
    if (Date.now() - t0 > ms) throw new Error(`${name} is ${await metric(name)}, not ${value}, after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const rowsOf = (got: Received[], version: number) => got.filter((g) => g.version === version).flatMap((g) => g.rows);

async function put(client: FlightClient, name: string, symbols: string[], start: string, minutes: number, priceOffset = 0): Promise<number> {
  const result = await client.doPut(pathDescriptor(name), [makeBars({ symbols, start, minutes, priceOffset })]);
  return (JSON.parse(Buffer.from(result.appMetadata).toString('utf8')) as { version: number }).version;
}

/** DoGet runs on node:http2 directly by default, or on grpc-js: backpressure differs (bytes vs messages). */
const TRANSPORTS = ['http2', 'grpc-js'] as const;

describe('DoGet follow', () => {
  it.each(TRANSPORTS)('sends the query rows, then each later commit rows with its version; upserts send only the rows written (DoGet on %s)', async (transport) => {
    server = await startTestServer({ METRICS_PORT: '0', FLIGHT_DOGET_TRANSPORT: transport });
    const client = server.client();
    await seedBars(client, 'bars', { symbols: ['AAPL', 'MSFT'], minutes: 10 });
    const stream = client.doGet(JSON.stringify({ dataset: 'bars', symbols: ['AAPL'], columns: ['symbol', 'ts', 'close'], follow: true }));
    const { got, done } = collect(stream);
    await until(() => got.length > 0, 5000, 'the first rows');
    expect(got.every((g) => g.version === 1)).toBe(true);
    expect(rowsOf(got, 1)).toHaveLength(10);
    expect(server.store.commits.listenerCount()).toBe(1);

    // New minutes: an append (new file); only AAPL's rows reach this follower.
    const v2 = await put(client, 'bars', ['AAPL', 'MSFT'], '2024-01-02T09:40:00Z', 3);
    const latency = await until(() => rowsOf(got, v2).length === 3, 1000, 'the appended rows');
    expect(rowsOf(got, v2).every((r) => r.symbol === 'AAPL')).toBe(true);

    // An upsert of two stored minutes rewrites the stored file: only the two rows written come.
    const v3 = await put(client, 'bars', ['AAPL'], '2024-01-02T09:30:00Z', 2, 1000);
    await until(() => rowsOf(got, v3).length >= 2, 1000, 'the upserted rows');
    const upserted = rowsOf(got, v3);
    // Arrow's row proxies read timestamps as epoch milliseconds.
    expect(upserted.map((r) => Number(r.ts))).toEqual([Date.parse('2024-01-02T09:30:00Z'), Date.parse('2024-01-02T09:31:00Z')]);
    expect(upserted.every((r) => r.close > 1000)).toBe(true);

    // A commit of other symbols only, and a compaction (no rows written), send nothing.
    const v4 = await put(client, 'bars', ['MSFT'], '2024-01-02T09:50:00Z', 1);
    const compacted = await client.doActionJson<{ version: number }>('compact', { dataset: 'bars' });
    expect(compacted.version).toBeGreaterThan(v4);
    const v6 = await put(client, 'bars', ['AAPL'], '2024-01-02T09:51:00Z', 1);
    await until(() => rowsOf(got, v6).length === 1, 1000, 'the last row');
    expect(got.some((g) => g.version === v4 || g.version === compacted.version)).toBe(false);
    expect(got.map((g) => g.version)).toEqual([...got.map((g) => g.version)].sort((a, b) => a - b));

    // Cancelling frees the server: the listener goes and the stream memory is released.
    await stream.cancel();
    const ended = await done;
    if (ended !== null) expect(ended).toMatchObject({ code: 'CANCELLED' });
    await until(() => server!.store.commits.listenerCount() === 0, 2000, 'the listener to go');
    await untilMetric('flightdeck_doget_memory_bytes', 0, 2000);
    await untilMetric('flightdeck_flight_followers', 0, 2000);
    expect(latency).toBeLessThan(1000);
  });

  it('refuses limit, interval and as_of with follow, plans one endpoint, and names unknown datasets', async () => {
    server = await startTestServer();
    const client = server.client();
    await seedBars(client, 'bars', { symbols: ['AAPL', 'MSFT'], days: 3, minutes: 5 });
    for (const field of ['limit', 'interval', 'as_of'] as const) {
      const q = { dataset: 'bars', follow: true, [field]: field === 'interval' ? '1h' : 1 };
      await expect(client.getFlightInfo(cmdDescriptor(q))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining(`"${field}"`) });
      await expect(client.doGet(JSON.stringify(q)).readAll()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    await expect(client.doGet(JSON.stringify({ dataset: 'bars', follow: 'yes' })).readAll()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('follow') });
    await expect(client.doGet(JSON.stringify({ dataset: 'nope', follow: true })).readAll()).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('"nope"') });

    // No stored row matches: the stream still starts with a batch, empty, naming its version.
    const none = client.doGet(JSON.stringify({ dataset: 'bars', symbols: ['ZZZ'], follow: true }));
    const empty = collect(none);
    await until(() => empty.got.length > 0, 5000, 'the empty first batch');
    expect(empty.got[0]).toEqual({ version: 1, rows: [] });
    await none.cancel();
    await empty.done;

    // GetFlightInfo: one endpoint over three partitions, rows unknown; its ticket follows.
    const info = await client.getFlightInfo(cmdDescriptor({ dataset: 'bars', symbols: ['MSFT'], follow: true }));
    expect(info.endpoint).toHaveLength(1);
    expect(Number(info.totalRecords)).toBe(-1);
    const stream = client.doGet(info.endpoint[0]!.ticket!);
    const { got, done } = collect(stream);
    await until(() => rowsOf(got, 1).length === 15, 5000, 'the first rows');
    const v = await put(client, 'bars', ['MSFT'], '2024-01-05T00:00:00Z', 2);
    await until(() => rowsOf(got, v).length === 2, 1000, 'the new rows');
    // Dropping the dataset ends the follower with NOT_FOUND; the server goes on.
    await client.doActionJson('drop_dataset', { name: 'bars' });
    expect(await done).toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('dropped') });
    expect(server.store.commits.listenerCount()).toBe(0);
    expect((await client.doActionJson<{ status: string; followers: number }>('health', {})).followers).toBe(0);
  });

  it.each(TRANSPORTS)('cuts a follower that falls FLIGHT_FOLLOW_MAX_PENDING commits behind instead of buffering (DoGet on %s)', async (transport) => {
    server = await startTestServer({ FLIGHT_FOLLOW_MAX_PENDING: '3', METRICS_PORT: '0', FLIGHT_DOGET_TRANSPORT: transport });
    const writer = server.client();
    await seedBars(writer, 'bars', { symbols: ['AAPL'], minutes: 10 });
    // A client that stops reading after the first message: grpc-js then stops taking data off the
    // connection and HTTP/2 flow control (64 KiB) pushes back on the server.
    const raw = rawClient(`127.0.0.1:${server.server.port}`);
    const m = flightServiceDefinition.DoGet;
    const call = raw.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, {
      ticket: Buffer.from(JSON.stringify({ dataset: 'bars', follow: true })),
    });
    let received = 0;
    const statusSeen = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.on('error', () => undefined);
    let reading = false;
    call.on('data', () => {
      received++;
      if (!reading) call.pause();
    });
    await until(() => received > 0, 5000, 'the first message');
    const symbols = Array.from({ length: 50 }, (_, i) => `S${String(i).padStart(3, '0')}`);
    let commits = 0;
    const t0 = Date.now();
    while (server.store.commits.listenerCount() > 0 && commits < 100 && Date.now() - t0 < 30_000) {
      await put(writer, 'bars', symbols, new Date(Date.UTC(2024, 0, 3) + commits * 60_000 * 20).toISOString(), 20);
      commits++;
    }
    expect(server.store.commits.listenerCount()).toBe(0);
    expect(commits).toBeLessThan(100);
    await untilMetric('flightdeck_doget_memory_bytes', 0, 2000);
    // Reading again: what was flushed before the cut, then the status.
    reading = true;
    call.resume();
    const status = await statusSeen;
    expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(status.details).toContain('FLIGHT_FOLLOW_MAX_PENDING=3');
    expect(received).toBeGreaterThan(1);
    raw.close();
    // The server and the data are intact.
    expect((await writer.readTable(JSON.stringify({ dataset: 'bars', symbols: ['AAPL'] }))).numRows).toBe(10);
    expect((await writer.readTable(JSON.stringify({ dataset: 'bars', symbols: ['S000'] }))).numRows).toBe(commits * 20);
  });

  it('ends followers with UNAVAILABLE when the server shuts down, without waiting for the grace period', async () => {
    const own = await startTestServer();
    try {
      const client = own.client();
      await seedBars(client, 'bars', { symbols: ['AAPL'], minutes: 3 });
      const stream = client.doGet(JSON.stringify({ dataset: 'bars', follow: true }));
      const { got, done } = collect(stream);
      await until(() => got.length > 0, 5000, 'the first rows');
      const t0 = Date.now();
      await own.server.close(20_000);
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(await done).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('shutting down') });
      expect(own.store.commits.listenerCount()).toBe(0);
    } finally {
      await own.stop(100).catch(() => undefined);
    }
  });
});
