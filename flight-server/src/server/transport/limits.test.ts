/**
 * Limits: rows per DoGet, calls per server and per connection, deadlines, and backpressure
 * (a stalled reader makes the server produce no more than a bounded amount ahead of it).
 */
import { connect } from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { FlightError } from '@flightdeck/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SliceData } from '../../storage/read/read-plan.js';
import { CallGate } from './call-gate.js';
import { Authenticator } from '../auth/auth.js';
import { CallLog } from '../observe/call-log.js';
import { createLogger } from '../../logger.js';
import { FlightMetrics } from '../observe/metrics.js';
import { MAX_BYTES_IN_FLIGHT } from './stream-write.js';
import { encodeRequest, metadataOf, rawCall, rawClient } from '../../../test-support/raw-flight-calls.js';
import { parseMetrics, seedBars, startTestServer, type TestServer } from '../../../test-support/test-fixture.js';

const DOGET = '/arrow.flight.protocol.FlightService/DoGet';
const DOPUT = '/arrow.flight.protocol.FlightService/DoPut';
const passthrough = (b: Buffer): Buffer => b;

/** A client on its own TCP connection (grpc-js otherwise shares one per target). */
function ownConnection(url: string): grpc.Client {
  return new grpc.Client(url.replace('grpc://', ''), grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
}

/** A DoPut that sends nothing: it holds its call open until cancelled. */
function idlePut(client: grpc.Client): grpc.ClientDuplexStream<Buffer, Buffer> {
  const call = client.makeBidiStreamRequest(DOPUT, passthrough, passthrough);
  call.on('error', () => undefined);
  call.on('data', () => undefined);
  return call;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('rows per DoGet', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ FLIGHT_MAX_ROWS_PER_GET: '500' });
    await seedBars(t.client(), 'bars', { days: 2 });
  });
  afterAll(() => t.stop());

  it('refuses a DoGet over FLIGHT_MAX_ROWS_PER_GET with RESOURCE_EXHAUSTED naming the limit', async () => {
    const err = await t
      .client()
      .readTable('{"dataset":"bars"}')
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(FlightError);
    expect((err as FlightError).code).toBe('RESOURCE_EXHAUSTED');
    expect((err as FlightError).message, (err as FlightError).message).toMatch(/FLIGHT_MAX_ROWS_PER_GET=500/);
    expect((await t.client().readTable('{"dataset":"bars","limit":500}')).numRows).toBe(500);
    expect((await t.client().readTable('{"dataset":"bars","symbols":["AAPL"],"end":"2024-01-03T00:00:00Z"}')).numRows).toBe(390);
  });
});

describe('concurrent calls', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ FLIGHT_MAX_CONCURRENT_CALLS: '3', FLIGHT_MAX_CALLS_PER_CONNECTION: '2' });
  });
  afterAll(() => t.stop());

  it('refuses calls beyond FLIGHT_MAX_CALLS_PER_CONNECTION on one connection, not on another', async () => {
    const a = ownConnection(t.server.url);
    const held = [idlePut(a), idlePut(a)];
    await sleep(100);
    const refused = await rawCall(a, 'ListActions', [Buffer.alloc(0)]);
    expect(refused.code).toBe('RESOURCE_EXHAUSTED');
    expect(refused.details).toMatch(/FLIGHT_MAX_CALLS_PER_CONNECTION=2/);
    const b = ownConnection(t.server.url);
    expect((await rawCall(b, 'ListActions', [Buffer.alloc(0)])).code).toBe('OK');
    held.forEach((c) => c.cancel());
    await sleep(100);
    expect((await rawCall(a, 'ListActions', [Buffer.alloc(0)])).code).toBe('OK');
    a.close();
    b.close();
  });

  it('refuses calls beyond FLIGHT_MAX_CONCURRENT_CALLS on the server', async () => {
    const clients = [ownConnection(t.server.url), ownConnection(t.server.url), ownConnection(t.server.url)];
    const held = [idlePut(clients[0]!), idlePut(clients[1]!), idlePut(clients[1]!)];
    await sleep(100);
    const refused = await rawCall(clients[2]!, 'ListActions', [Buffer.alloc(0)]);
    expect(refused.code).toBe('RESOURCE_EXHAUSTED');
    expect(refused.details).toMatch(/FLIGHT_MAX_CONCURRENT_CALLS=3/);
    held[0]!.cancel();
    await sleep(100);
    expect((await rawCall(clients[2]!, 'ListActions', [Buffer.alloc(0)])).code).toBe('OK');
    held.forEach((c) => c.cancel());
    clients.forEach((c) => c.close());
  });
});

describe.each(['http2', 'grpc-js'])('backpressure and deadlines (DoGet over %s)', (transport) => {
  let t: TestServer;
  let rows: number;
  let produced = 0;

  beforeAll(async () => {
    // Keyless data is forwarded file by file as small IPC messages (1024-row groups).
    t = await startTestServer({ FLIGHT_ROW_GROUP_ROWS: '1024', METRICS_PORT: '0', CACHE_MB: '0', FLIGHT_DOGET_TRANSPORT: transport });
    rows = await seedBars(t.client(), 'ticks', { symbols: ['T'], minutes: 400_000, keyColumns: [], partition: 'month' });
    const read = t.store.read.bind(t.store);
    t.store.read = async (slice) => {
      const data: SliceData = await read(slice);
      if (data.kind !== 'ipc') throw new Error('expected the forwarding read path');
      const streams = data.streams;
      return {
        ...data,
        streams: (async function* counted() {
          for await (const ipc of streams) {
            produced += ipc.byteLength;
            yield ipc;
          }
        })(),
      };
    };
  }, 60_000);
  afterAll(() => t.stop());

  const metrics = async () => parseMetrics(await (await fetch(`http://127.0.0.1:${t.server.metricsPort}/metrics`)).text());

  /**
   * A DoGet over plain HTTP/2 whose reader takes the first chunk and then stops reading: only the
   * HTTP/2 flow-control window (64 KiB) is consumed, nothing is buffered client-side.
   */
  function stalledGet(headers: Record<string, string> = {}): { close(): void; status: Promise<string | undefined> } {
    const session = connect(`http://${t.server.url.replace('grpc://', '')}`);
    session.on('error', () => undefined);
    const req = session.request({ ':method': 'POST', ':path': DOGET, 'content-type': 'application/grpc', te: 'trailers', ...headers });
    req.on('error', () => undefined);
    const msg = encodeRequest('DoGet', { ticket: Buffer.from('{"dataset":"ticks"}') });
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(msg.length, 1);
    req.end(Buffer.concat([prefix, msg]));
    req.once('data', () => req.pause());
    const status = new Promise<string | undefined>((resolve) => {
      req.on('trailers', (h) => resolve(h['grpc-status'] as string | undefined));
      req.on('response', (h) => h['grpc-status'] !== undefined && resolve(h['grpc-status'] as string));
      req.on('close', () => resolve(undefined));
    });
    return {
      status,
      close: () => {
        req.close();
        session.close();
      },
    };
  }

  it('a reader that stalls holds the server to a bounded amount read ahead', async () => {
    const full = (await t.client().readTable('{"dataset":"ticks"}')).numRows;
    expect(full).toBe(rows);
    const total = produced;
    produced = 0;
    const reader = stalledGet();
    await sleep(1500);
    const ahead = produced;
    await sleep(500);
    expect(produced).toBe(ahead); // stalled, not creeping
    // MAX_BYTES_IN_FLIGHT unflushed plus the file being forwarded (about 2 MiB here).
    expect(ahead).toBeLessThan(MAX_BYTES_IN_FLIGHT + 4 * 1024 * 1024);
    expect(ahead).toBeLessThan(total / 2);
    expect((await metrics()).get('flightdeck_flight_open_calls{call="DoGet"}')).toBe(1);
    reader.close();
    await sleep(200);
    expect((await metrics()).get('flightdeck_flight_open_calls{call="DoGet"}')).toBe(0);
  }, 30_000);

  it('many readers at once: each gets every row', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => t.client().readTable('{"dataset":"ticks"}').then((tb) => tb.numRows)));
    expect(results).toEqual(Array(8).fill(rows));
  }, 60_000);

  it('stops a DoGet whose deadline passes while its reader stalls', async () => {
    const before = (await metrics()).get('flightdeck_flight_calls_total{call="DoGet",status="DEADLINE_EXCEEDED"}') ?? 0;
    produced = 0;
    const reader = stalledGet({ 'grpc-timeout': '400m' });
    // The reader reads nothing, so it may never see the status; the server must stop all the same.
    let m = await metrics();
    for (let i = 0; i < 40 && m.get('flightdeck_flight_calls_total{call="DoGet",status="DEADLINE_EXCEEDED"}') !== before + 1; i++) {
      await sleep(100);
      m = await metrics();
    }
    if (process.env.DEBUG_LIMITS) console.log([...m.entries()].filter(([k]) => k.includes('DoGet') && !k.includes('bucket')));
    expect(m.get('flightdeck_flight_calls_total{call="DoGet",status="DEADLINE_EXCEEDED"}')).toBe(before + 1);
    expect(m.get('flightdeck_flight_open_calls{call="DoGet"}')).toBe(0);
    const stoppedAt = produced;
    await sleep(300);
    expect(produced).toBe(stoppedAt);
    reader.close();
  }, 30_000);
});

describe('CallGate', () => {
  it('refuses new calls once shutdown begins, and counts open calls', async () => {
    const gate = new CallGate(new Authenticator({ users: null, tokenTtlMs: 1000 }), new FlightMetrics({ cacheStats: () => ({ hits: 0, misses: 0, entries: 0, bytes: 0, capacityBytes: 0, evictions: 0 }), listDatasets: () => [] }), {
      maxConcurrentCalls: 0,
      maxCallsPerConnection: 0,
      maxRowsPerGet: 0,
    });
    const logger = createLogger('silent');
    const call = { metadata: metadataOf({}), getPeer: () => 'p:1' };
    const log = new CallLog(logger, 'ListActions', gate);
    gate.admit(log, call, 'ListActions');
    expect(gate.openCalls).toBe(1);
    gate.beginShutdown();
    const late = new CallLog(logger, 'ListFlights', gate);
    expect(() => gate.admit(late, call, 'ListFlights')).toThrow(/shutting down/);
    expect(late.finish(new FlightError('UNAVAILABLE', 'x'))?.code).toBe(grpc.status.UNAVAILABLE);
    const idle = gate.idle(5000);
    log.finish();
    await idle;
    expect(gate.openCalls).toBe(0);
    expect(gate.shutdownSignal.aborted).toBe(true);
  });
});
