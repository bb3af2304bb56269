/**
 * The Node FlightClient's DoGet over node:http2 (proto/src/transport) against flightdeck's own
 * server: the same rows as the grpc-js path, the server's stream freed when the reader stops, the
 * server's errors, and a server killed mid-stream.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dictionary, Field, Float64, Int32, RecordBatch, Schema, Struct, TimeUnit, Timestamp, Utf8, makeData, vectorFromArray, type Table } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlightClient, FlightError, pathDescriptor } from '@flightdeck/proto';
import { makeBars } from '../../flight-server/test-support/bars.js';
import { startServerProcess, type ServerProcess } from '../../flight-server/test-support/server-process.js';
import { makeTestCertificates } from '../../flight-server/test-support/test-certificates.js';
import { parseMetrics, seedBars, startTestServer, type TestServer } from '../../flight-server/test-support/test-fixture.js';

const ticket = (query: object) => JSON.stringify(query);

const rows = (t: Table) =>
  t.toArray().map((r) => JSON.stringify(r.toJSON(), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));

/** Symbols as dictionary<utf8> with nulls in the values: what the bars fixture does not cover. */
function ticks(n: number): RecordBatch {
  const schema = new Schema([
    new Field('symbol', new Dictionary(new Utf8(), new Int32()), false),
    new Field('ts', new Timestamp(TimeUnit.NANOSECOND, 'UTC'), false),
    new Field('price', new Float64(), true),
    new Field('venue', new Utf8(), true),
  ]);
  const idx = Array.from({ length: n }, (_, i) => i);
  const children = [
    vectorFromArray(idx.map((i) => ['AAPL', 'MSFT', 'GOOG', 'AMZN'][i % 4]!), schema.fields[0]!.type).data[0]!,
    makeData({ type: schema.fields[1]!.type, length: n, data: BigInt64Array.from(idx, (i) => 1_704_067_200_000_000_000n + BigInt(i) * 1_000_000_000n) }),
    vectorFromArray(idx.map((i) => (i % 7 === 0 ? null : 100 + i / 8)), new Float64()).data[0]!,
    vectorFromArray(idx.map((i) => (i % 3 === 0 ? null : `venue-${i % 5}`)), new Utf8()).data[0]!,
  ];
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children }));
}

describe('DoGet over node:http2 against flightdeck', () => {
  let t: TestServer;
  let fast: FlightClient;
  let slow: FlightClient;
  let metricsUrl: string;

  const openDoGets = async () => parseMetrics(await (await fetch(metricsUrl)).text()).get('flightdeck_flight_open_calls{call="DoGet"}') ?? 0;

  beforeAll(async () => {
    t = await startTestServer({ METRICS_PORT: '0' });
    metricsUrl = `http://127.0.0.1:${t.server.metricsPort}/metrics`;
    fast = t.client();
    slow = t.client({ doGetTransport: 'grpc-js' });
    await fast.doActionJson('create_dataset', {
      name: 'bars',
      time_column: 'ts',
      key_columns: ['symbol'],
      partition: 'day',
      fields: [
        { name: 'symbol', type: 'utf8', nullable: false },
        { name: 'ts', type: 'timestamp[ns, UTC]', nullable: false },
        ...['open', 'high', 'low', 'close'].map((name) => ({ name, type: 'float64', nullable: true })),
        { name: 'volume', type: 'int64', nullable: true },
      ],
    });
    const symbols = Array.from({ length: 40 }, (_, i) => `S${i}`);
    const days = [0, 1, 2].map((d) => makeBars({ symbols, start: new Date(Date.UTC(2024, 0, 2 + d)).toISOString(), minutes: 1440 }));
    await fast.doPut(pathDescriptor('bars'), days);
    await fast.doActionJson('create_dataset', {
      name: 'ticks',
      time_column: 'ts',
      key_columns: ['symbol'],
      partition: 'day',
      fields: [
        { name: 'symbol', type: 'dictionary<utf8>', nullable: false },
        { name: 'ts', type: 'timestamp[ns, UTC]', nullable: false },
        { name: 'price', type: 'float64', nullable: true },
        { name: 'venue', type: 'utf8', nullable: true },
      ],
    });
    await fast.doPut(pathDescriptor('ticks'), [ticks(50_000)]);
  }, 120_000);

  afterAll(() => t?.stop());

  it('reads the same rows, types and batches as the grpc-js path (large multi-frame batches, dictionaries, nulls, timestamps)', async () => {
    for (const dataset of ['bars', 'ticks']) {
      const [a, b] = await Promise.all([fast.readTable(ticket({ dataset })), slow.readTable(ticket({ dataset }))]);
      expect(a.numRows).toBeGreaterThan(0);
      expect(a.schema.fields.map((f) => `${f.name}:${String(f.type)}:${f.nullable}`)).toEqual(
        b.schema.fields.map((f) => `${f.name}:${String(f.type)}:${f.nullable}`),
      );
      expect(a.batches.map((x) => x.numRows)).toEqual(b.batches.map((x) => x.numRows));
      expect(rows(a)).toEqual(rows(b));
    }
    const ticksTable = await fast.readTable(ticket({ dataset: 'ticks' }));
    expect(String(ticksTable.schema.fields[0]!.type)).toMatch(/^Dictionary/);
    expect(ticksTable.getChild('price')!.nullCount).toBeGreaterThan(0);
  }, 60_000);

  it('frees the server stream when the reader breaks after the first batch', async () => {
    for await (const batch of fast.doGet(ticket({ dataset: 'bars' }))) {
      expect(batch.numRows).toBeGreaterThan(0);
      break;
    }
    await expect.poll(openDoGets, { timeout: 5000 }).toBe(0);
  });

  it("surfaces the server's errors as FlightError with its code and message", async () => {
    const failure = async (client: FlightClient) =>
      client.readTable(ticket({ dataset: 'nope' })).then(
        () => undefined,
        (e: unknown) => e as FlightError,
      );
    const [a, b] = await Promise.all([failure(fast), failure(slow)]);
    expect(a).toBeInstanceOf(FlightError);
    expect(a?.code).toBe('NOT_FOUND');
    expect({ code: a?.code, message: a?.message }).toEqual({ code: b?.code, message: b?.message });
  });

  it('serves DoGet with an auth token from handshake', async () => {
    const secured = await startTestServer({ FLIGHT_USERS: 'root:pw:admin' });
    try {
      const anonymous = secured.client();
      await expect(anonymous.readTable(ticket({ dataset: 'bars' }))).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
      const root = secured.client();
      await root.handshake('root', 'pw');
      await expect(root.readTable(ticket({ dataset: 'bars' }))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      await secured.stop();
    }
  });
});

describe('DoGet over node:http2 with TLS', () => {
  let dir: string;
  let t: TestServer | undefined;
  let ca: Buffer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fd-h2-tls-'));
    const certs = makeTestCertificates(dir);
    ca = await readFile(certs.caCert);
    t = await startTestServer({ FLIGHT_TLS_CERT: certs.serverCert, FLIGHT_TLS_KEY: certs.serverKey });
    await seedBars(t.client({ tls: { rootCerts: ca } }), 'bars');
  }, 60_000);

  afterAll(async () => {
    await t?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads grpc+tls:// and checks the certificate against the name, or serverName', async () => {
    const [a, b] = await Promise.all([
      t!.client({ tls: { rootCerts: ca } }).readTable(ticket({ dataset: 'bars' })),
      t!.client({ tls: { rootCerts: ca }, doGetTransport: 'grpc-js' }).readTable(ticket({ dataset: 'bars' })),
    ]);
    expect(a.numRows).toBe(780);
    expect(rows(a)).toEqual(rows(b));
    const wrongName = t!.client({ tls: { rootCerts: ca, serverName: 'flightdeck.example' } });
    await expect(wrongName.readTable(ticket({ dataset: 'bars' }))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    const untrusting = t!.client();
    await expect(untrusting.readTable(ticket({ dataset: 'bars' }))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});

describe('DoGet over node:http2 when the server dies mid-stream', () => {
  let proc: ServerProcess | undefined;
  let dir: string | undefined;

  afterAll(async () => {
    await proc?.stop('SIGKILL');
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('fails with UNAVAILABLE, not a hang', async () => {
    dir = await mkdtemp(join(tmpdir(), 'fd-h2-kill-'));
    proc = await startServerProcess({ DATA_DIR: dir });
    const client = new FlightClient(proc.url, { channelOptions: { 'grpc-node.flow_control_window': 65_535 } });
    try {
      await client.doActionJson('create_dataset', { name: 'bars', time_column: 'ts', key_columns: ['symbol'], partition: 'day' });
      const symbols = Array.from({ length: 40 }, (_, i) => `S${i}`);
      await client.doPut(pathDescriptor('bars'), [0, 1, 2, 3].map((d) => makeBars({ symbols, start: new Date(Date.UTC(2024, 0, 2 + d)).toISOString(), minutes: 1440 })));
      const started = Date.now();
      let batches = 0;
      const read = (async () => {
        for await (const _batch of client.doGet(ticket({ dataset: 'bars' }))) {
          if (batches++ === 0) process.kill(proc!.pid, 'SIGKILL');
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      await expect(read).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      client.close();
    }
  }, 90_000);
});
