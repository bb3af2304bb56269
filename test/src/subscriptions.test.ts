/**
 * `Subscription.barUpdates` end to end over loopback: a plain `graphql-ws` client (and a raw
 * WebSocket speaking the protocol by hand) at the gateway's `ws://…/graphql`, the gateway forwarding
 * to the facade's graphql-ws endpoint, the facade following a Flight DoGet, rows committed by DoPut.
 * Flight server, facade, user service and gateway run in-process on port 0.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger as flightLogger, DatasetStore, loadConfig as loadFlightConfig, startFlightServer } from '@flightdeck/flight-server';
import { BARS_FIELDS, makeBars } from '@flightdeck/flight-server/testing';
import { loadConfig as loadGatewayConfig, startGateway, type RunningGateway } from '@flightdeck/gateway';
import { loadConfig as loadFacadeConfig, startFacade, type RunningFacade } from '@flightdeck/graphql-facade';
import { FlightClient, pathDescriptor } from '@flightdeck/proto';
import { loadConfig as loadUsersConfig, startUserService, type RunningUserService } from '@flightdeck/user-service';
import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

let dir: string;
let store: DatasetStore;
let flight: Awaited<ReturnType<typeof startFlightServer>>;
let writer: FlightClient;
let facade: RunningFacade | undefined;
let users: RunningUserService;
let gateway: RunningGateway;
let wsUrl: string;
const clients: Client[] = [];

/** The facade cuts a subscriber at this many waiting bars; the gateway at GATEWAY_BUFFER results. */
const FACADE_BUFFER = 100_000;
const GATEWAY_BUFFER = 200;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fd-subscriptions-'));
  const flightConfig = loadFlightConfig({ FLIGHT_PORT: '0', DATA_DIR: join(dir, 'flight'), LOG_LEVEL: 'silent' });
  const logger = flightLogger('silent');
  store = await DatasetStore.open(flightConfig, logger);
  flight = await startFlightServer({ config: flightConfig, store, logger });
  writer = new FlightClient(flight.url);
  await writer.doActionJson('create_dataset', { name: 'live', time_column: 'ts', key_columns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
  await put(['AAPL', 'MSFT', 'NVDA'], '2024-01-02T14:30:00Z', 30);
  facade = await startFacade(
    loadFacadeConfig({ FACADE_PORT: '0', FLIGHT_URL: flight.url, LOG_LEVEL: 'silent', FACADE_DEFAULT_DATASET: 'live', FACADE_SUBSCRIPTION_BUFFER: String(FACADE_BUFFER) }),
  );
  users = await startUserService(loadUsersConfig({ USERS_PORT: '0', USERS_DATA_DIR: join(dir, 'users'), LOG_LEVEL: 'silent' }));
  gateway = await startGateway(
    loadGatewayConfig({ GATEWAY_PORT: '0', FACADE_URL: facade.url, USERS_URL: users.url, LOG_LEVEL: 'silent', GATEWAY_SUBSCRIPTION_BUFFER: String(GATEWAY_BUFFER) }),
  );
  wsUrl = gateway.url.replace(/^http/, 'ws');
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  writer?.close();
  await gateway?.close();
  await facade?.close();
  await users?.close();
  await flight?.close(1000);
  await rm(dir, { recursive: true, force: true });
});

async function put(symbols: string[], start: string, minutes: number, priceOffset = 0): Promise<number> {
  const result = await writer.doPut(pathDescriptor('live'), [makeBars({ symbols, start, minutes, priceOffset })]);
  return (JSON.parse(Buffer.from(result.appMetadata).toString('utf8')) as { version: number }).version;
}

function client(): Client {
  const c = createClient({ url: wsUrl, webSocketImpl: WebSocket, lazy: true, retryAttempts: 0 });
  clients.push(c);
  return c;
}

interface Bar {
  symbol: string;
  ts: string;
  close: number;
}

interface Subscription {
  bars: Bar[];
  errors: { message: string; extensions?: Record<string, unknown> }[];
  completed: boolean;
  stop(): void;
}

function subscribe(c: Client, query: string, variables: Record<string, unknown> = {}): Subscription {
  const sub: Subscription = { bars: [], errors: [], completed: false, stop: () => undefined };
  sub.stop = c.subscribe<{ barUpdates: Bar }>(
    { query, variables },
    {
      next: (r) => {
        if (r.data?.barUpdates) sub.bars.push(r.data.barUpdates);
        if (r.errors) sub.errors.push(...(r.errors as Subscription['errors']));
      },
      error: (e) => {
        if (Array.isArray(e)) sub.errors.push(...(e as Subscription['errors']));
        else sub.errors.push({ message: String((e as Error).message ?? e) });
        sub.completed = true;
      },
      complete: () => {
        sub.completed = true;
      },
    },
  );
  return sub;
}

async function until(what: () => boolean, ms: number, label: string): Promise<number> {
  const t0 = Date.now();
  while (!what()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return Date.now() - t0;
}

const BAR_UPDATES = `subscription($symbols: [String!]!, $dataset: String) { barUpdates(dataset: $dataset, symbols: $symbols) { symbol ts close } }`;

describe('barUpdates through the gateway', () => {
  it('pushes each committed row of the symbols once, within 2 s, and nothing stored before', async () => {
    const sub = subscribe(client(), BAR_UPDATES, { symbols: ['AAPL', 'MSFT'], dataset: 'live' });
    await until(() => store.commits.listenerCount() === 1, 5000, 'the facade to follow the dataset');
    expect(facade!.subscriptions()).toBe(1);

    // Three new minutes of three symbols: the six rows of AAPL and MSFT come, NVDA's do not.
    await put(['AAPL', 'MSFT', 'NVDA'], '2024-01-02T15:00:00Z', 3);
    const latency = await until(() => sub.bars.length >= 6, 2000, 'the six new bars');
    // A re-sent minute of AAPL with new prices (an upsert into a stored file): that one row, once.
    await put(['AAPL'], '2024-01-02T14:40:00Z', 1, 500);
    await until(() => sub.bars.length >= 7, 2000, 'the upserted bar');
    // A commit of another symbol only, then one more AAPL row: the stream stays exact.
    await put(['NVDA'], '2024-01-02T15:10:00Z', 1);
    await put(['AAPL'], '2024-01-02T15:11:00Z', 1);
    await until(() => sub.bars.length >= 8, 2000, 'the last bar');
    await new Promise((r) => setTimeout(r, 300));

    expect(sub.errors).toEqual([]);
    expect(sub.bars).toHaveLength(8);
    const keys = sub.bars.map((b) => `${b.symbol}@${b.ts}`);
    expect(new Set(keys).size).toBe(8);
    expect(sub.bars.slice(0, 6).map((b) => b.symbol).sort()).toEqual(['AAPL', 'AAPL', 'AAPL', 'MSFT', 'MSFT', 'MSFT']);
    expect(sub.bars.slice(0, 6).every((b) => b.ts >= '2024-01-02T15:00:00.000Z' && b.ts < '2024-01-02T15:03:00.000Z')).toBe(true);
    expect(sub.bars[6]).toMatchObject({ symbol: 'AAPL', ts: '2024-01-02T14:40:00.000Z' });
    expect(sub.bars[6]!.close).toBeGreaterThan(500);
    expect(sub.bars[7]).toMatchObject({ symbol: 'AAPL', ts: '2024-01-02T15:11:00.000Z' });
    expect(latency).toBeLessThan(2000);

    // The client goes: the facade's subscription and its Flight follow stream end.
    sub.stop();
    await until(() => store.commits.listenerCount() === 0, 3000, 'the Flight stream to close');
    expect(facade!.subscriptions()).toBe(0);
  });

  it('refuses bad operations with clear errors and keeps serving', async () => {
    const c = client();
    const unknown = subscribe(c, BAR_UPDATES, { symbols: ['AAPL'], dataset: 'no_such_dataset' });
    await until(() => unknown.completed, 5000, 'the unknown dataset error');
    expect(unknown.errors[0]).toMatchObject({ message: expect.stringContaining('"no_such_dataset"'), extensions: { code: 'NOT_FOUND' } });

    const control = subscribe(c, BAR_UPDATES, { symbols: ['AA\u0007PL'] });
    await until(() => control.completed, 5000, 'the control character error');
    expect(control.errors[0]).toMatchObject({ message: expect.stringContaining('symbols must not contain control characters'), extensions: { code: 'BAD_USER_INPUT' } });

    const tooMany = subscribe(c, BAR_UPDATES, { symbols: Array.from({ length: 101 }, (_, i) => `S${i}`) });
    await until(() => tooMany.completed, 5000, 'the symbols limit error');
    expect(tooMany.errors[0]).toMatchObject({ message: expect.stringContaining('FACADE_SUBSCRIPTION_SYMBOLS'), extensions: { code: 'BAD_USER_INPUT' } });

    const field = subscribe(c, `subscription { barUpdates(symbols: ["AAPL"]) { symbol price } }`);
    await until(() => field.completed, 5000, 'the validation error');
    expect(field.errors[0]).toMatchObject({ message: expect.stringContaining('"price"'), extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });

    const query = subscribe(c, `{ datasets { name } }`);
    await until(() => query.completed, 5000, 'the query refusal');
    expect(query.errors[0]).toMatchObject({ message: expect.stringContaining('HTTP POST'), extensions: { code: 'BAD_REQUEST' } });

    expect(store.commits.listenerCount()).toBe(0);
    expect(facade!.subscriptions()).toBe(0);
    // The default dataset (FACADE_DEFAULT_DATASET) serves a subscription without `dataset`.
    const ok = subscribe(c, BAR_UPDATES, { symbols: ['NVDA'] });
    await until(() => store.commits.listenerCount() === 1, 5000, 'the follow stream');
    await put(['NVDA'], '2024-01-02T16:00:00Z', 1);
    await until(() => ok.bars.length === 1, 2000, 'the NVDA bar');
    ok.stop();
    await until(() => store.commits.listenerCount() === 0, 3000, 'the Flight stream to close');
  });

  it('disconnecting the client frees the facade subscription and its Flight stream', async () => {
    const c = createClient({ url: wsUrl, webSocketImpl: WebSocket, lazy: true, retryAttempts: 0 });
    subscribe(c, BAR_UPDATES, { symbols: ['AAPL'] });
    subscribe(c, BAR_UPDATES, { symbols: ['MSFT'] });
    await until(() => store.commits.listenerCount() === 2, 5000, 'two follow streams');
    expect(facade!.subscriptions()).toBe(2);
    await c.dispose();
    await until(() => store.commits.listenerCount() === 0, 3000, 'the Flight streams to close');
    await until(() => facade!.subscriptions() === 0, 3000, 'the facade subscriptions to end');
  });

  it('cuts a subscriber that stops reading with SUBSCRIBER_TOO_SLOW instead of buffering', async () => {
    // A raw WebSocket speaking graphql-transport-ws, so the test can stop reading its socket.
    const ws = new WebSocket(wsUrl, 'graphql-transport-ws');
    const messages: { type: string; id?: string; payload?: any }[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data))));
    await new Promise<void>((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send(JSON.stringify({ type: 'connection_init' }));
    await until(() => messages.some((m) => m.type === 'connection_ack'), 5000, 'connection_ack');
    ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: BAR_UPDATES, variables: { symbols: ['SLOW'] } } }));
    await until(() => store.commits.listenerCount() === 1, 5000, 'the follow stream');
    // Stop reading: the gateway's writes to this socket back up once the kernel buffers are full.
    const socket = (ws as unknown as { _socket: import('node:net').Socket })._socket;
    socket.pause();
    let commits = 0;
    const t0 = Date.now();
    while (store.commits.listenerCount() > 0 && commits < 40 && Date.now() - t0 < 60_000) {
      await put(['SLOW'], new Date(Date.UTC(2024, 1, 1) + commits * 20_000 * 60_000).toISOString(), 20_000);
      commits++;
    }
    // The gateway cut the operation and completed it upstream: the facade let go of its Flight stream.
    expect(store.commits.listenerCount()).toBe(0);
    await until(() => facade!.subscriptions() === 0, 3000, 'the facade subscription to end');
    socket.resume();
    await until(() => messages.some((m) => m.type === 'error'), 20_000, 'the error message');
    const error = messages.find((m) => m.type === 'error')!;
    expect(error.payload[0]).toMatchObject({ extensions: { code: 'SUBSCRIBER_TOO_SLOW' }, message: expect.stringContaining(`GATEWAY_SUBSCRIPTION_BUFFER=${GATEWAY_BUFFER}`) });
    const delivered = messages.filter((m) => m.type === 'next').length;
    expect(delivered).toBeLessThan(commits * 20_000);
    ws.close();
    // The committed rows are all there.
    const table = await writer.readTable(JSON.stringify({ dataset: 'live', symbols: ['SLOW'], columns: ['ts'] }));
    expect(table.numRows).toBe(commits * 20_000);
  });

  it('a subscription sent with HTTP POST is 400 BAD_REQUEST; with the facade down, SERVICE_UNAVAILABLE', async () => {
    const res = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'subscription { barUpdates(symbols: ["AAPL"]) { symbol } }' }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]).toMatchObject({ message: expect.stringContaining('WebSocket'), extensions: { code: 'BAD_REQUEST' } });

    await facade!.close();
    facade = undefined;
    const down = subscribe(client(), BAR_UPDATES, { symbols: ['AAPL'] });
    await until(() => down.completed, 10_000, 'the error');
    expect(down.errors[0]).toMatchObject({ message: expect.stringContaining('WebSocket'), extensions: { code: 'SERVICE_UNAVAILABLE', serviceName: 'financial' } });
  });
});
