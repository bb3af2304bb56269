/**
 * The facade's own graphql-ws endpoint (what the gateway forwards to), against a real Flight server:
 * its per-subscriber buffer, its subscription limit, and a subscription sent with HTTP POST.
 */
import type { Socket } from 'node:net';
import { BARS_FIELDS, makeBars } from '@flightdeck/flight-server/testing';
import { pathDescriptor } from '@flightdeck/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../config.js';
import { startFacade, type RunningFacade } from '../facade.js';
import { startFlightFixture, type FlightFixture } from '../testing/flight-fixture.js';

const BUFFER = 50;
let fixture: FlightFixture;
let facade: RunningFacade;

beforeAll(async () => {
  fixture = await startFlightFixture();
  await fixture.client.doActionJson('create_dataset', { name: 'live', time_column: 'ts', key_columns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
  await fixture.client.doPut(pathDescriptor('live'), [makeBars({ symbols: ['AAPL'], start: '2024-01-02T14:30:00Z', minutes: 5 })]);
  facade = await startFacade(
    loadConfig({ FACADE_PORT: '0', FLIGHT_URL: fixture.url, LOG_LEVEL: 'silent', FACADE_DEFAULT_DATASET: 'live', FACADE_SUBSCRIPTION_BUFFER: String(BUFFER), FACADE_MAX_SUBSCRIPTIONS: '2' }),
  );
});

afterAll(async () => {
  await facade?.close();
  await fixture?.close();
});

async function until(what: () => boolean, ms: number, label: string): Promise<void> {
  const t0 = Date.now();
  while (!what()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Message {
  type: string;
  id?: string;
  payload?: any;
}

/** A raw graphql-transport-ws connection, acknowledged. */
async function connect(): Promise<{ ws: WebSocket; messages: Message[] }> {
  const ws = new WebSocket(facade.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
  const messages: Message[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(String(data)) as Message));
  await new Promise<void>((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.send(JSON.stringify({ type: 'connection_init' }));
  await until(() => messages.some((m) => m.type === 'connection_ack'), 5000, 'connection_ack');
  return { ws, messages };
}

const QUERY = 'subscription($s: [String!]!) { barUpdates(symbols: $s) { symbol ts close } }';

describe('facade graphql-ws', () => {
  it('cuts a subscriber whose bars pile up past FACADE_SUBSCRIPTION_BUFFER, and lets go of its Flight stream', async () => {
    const { ws, messages } = await connect();
    ws.send(JSON.stringify({ id: 'a', type: 'subscribe', payload: { query: QUERY, variables: { s: ['AAPL'] } } }));
    await until(() => facade.subscriptions() === 1, 5000, 'the subscription');
    const socket = (ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    let commits = 0;
    const t0 = Date.now();
    while (facade.subscriptions() > 0 && commits < 40 && Date.now() - t0 < 60_000) {
      await fixture.client.doPut(pathDescriptor('live'), [makeBars({ symbols: ['AAPL'], start: new Date(Date.UTC(2024, 2, 1) + commits * 20_000 * 60_000).toISOString(), minutes: 20_000 })]);
      commits++;
    }
    expect(facade.subscriptions()).toBe(0);
    socket.resume();
    await until(() => messages.some((m) => m.type === 'error'), 20_000, 'the error message');
    const error = messages.find((m) => m.type === 'error')!;
    expect(error.payload[0]).toMatchObject({ extensions: { code: 'SUBSCRIBER_TOO_SLOW', limit: 'FACADE_SUBSCRIPTION_BUFFER' } });
    expect(error.payload[0].message).toContain(`FACADE_SUBSCRIPTION_BUFFER=${BUFFER}`);
    expect(messages.filter((m) => m.type === 'next').length).toBeLessThan(commits * 20_000);
    ws.close();
  });

  it('refuses subscriptions past FACADE_MAX_SUBSCRIPTIONS, and a subscription sent with HTTP POST', async () => {
    const { ws, messages } = await connect();
    for (const id of ['1', '2', '3']) ws.send(JSON.stringify({ id, type: 'subscribe', payload: { query: QUERY, variables: { s: ['AAPL'] } } }));
    await until(() => messages.some((m) => m.id === '3' && m.type === 'next'), 5000, 'the third answer');
    expect(messages.find((m) => m.id === '3' && m.type === 'next')!.payload.errors[0]).toMatchObject({
      message: expect.stringContaining('FACADE_MAX_SUBSCRIPTIONS=2'),
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    });
    expect(facade.subscriptions()).toBe(2);
    ws.close();
    await until(() => facade.subscriptions() === 0, 3000, 'the subscriptions to end');

    const res = await fetch(facade.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: 'subscription { barUpdates(symbols: ["AAPL"]) { symbol } }' }) });
    const body = (await res.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors[0]).toMatchObject({ message: expect.stringContaining('WebSocket'), extensions: { code: 'BAD_REQUEST' } });
  });
});
