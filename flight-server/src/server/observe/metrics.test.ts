/**
 * METRICS_PORT: /metrics scraped after real traffic has the call, row, byte, duration, commit,
 * cache and open-stream series; /healthz follows shutdown.
 */
import { FlightError, pathDescriptor } from '@flightdeck/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawCall, rawClient, encodeRequest, metadataOf } from '../../../test-support/raw-flight-calls.js';
import { parseMetrics, seedBars, startTestServer, type TestServer } from '../../../test-support/test-fixture.js';

describe('Prometheus metrics', () => {
  let t: TestServer;
  let base: string;

  beforeAll(async () => {
    t = await startTestServer({ METRICS_PORT: '0', FLIGHT_USERS: 'root:pw:admin,ro:pw:read' });
    base = `http://127.0.0.1:${t.server.metricsPort}`;
  });
  afterAll(() => t.stop());

  const scrape = async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseMetrics(await res.text());
  };

  it('counts calls by type and status, rows and bytes, durations, commits, cache and open streams', async () => {
    expect(t.server.metricsPort).toBeGreaterThan(0);
    const c = t.client();
    await c.handshake('root', 'pw');
    const rows = await seedBars(c, 'bars', { days: 3 });
    const read1 = (await c.readTable('{"dataset":"bars"}')).numRows;
    const read2 = (await c.readTable('{"dataset":"bars","symbols":["MSFT"]}')).numRows;
    await expect(c.getFlightInfo(pathDescriptor('nope'))).rejects.toBeInstanceOf(FlightError);
    await expect(c.doActionJson('no_such_action', {})).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const ro = t.client();
    await ro.handshake('ro', 'pw');
    await expect(ro.doActionJson('drop_dataset', { name: 'bars' })).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    await expect(t.client().listActions()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await c.doActionJson('compact', { dataset: 'bars' });

    // A Handshake that never half-closes stays open until cancelled.
    const raw = rawClient(t.server.url.replace('grpc://', ''));
    const open = raw.makeBidiStreamRequest('/arrow.flight.protocol.FlightService/Handshake', (b: Buffer) => b, (b: Buffer) => b);
    open.on('error', () => undefined);
    open.on('data', () => undefined);
    await new Promise((r) => setTimeout(r, 100));
    const during = await scrape();
    expect(during.get('flightdeck_flight_open_calls{call="Handshake"}')).toBe(1);
    open.cancel();
    await new Promise((r) => setTimeout(r, 100));

    const m = await scrape();
    expect(m.get('flightdeck_flight_open_calls{call="Handshake"}')).toBe(0);
    expect(m.get('flightdeck_flight_calls_total{call="Handshake",status="CANCELLED"}')).toBe(1);
    expect(m.get('flightdeck_flight_open_calls{call="DoGet"}')).toBe(0);
    expect(m.get('flightdeck_flight_calls_total{call="Handshake",status="OK"}')).toBe(2);
    expect(m.get('flightdeck_flight_calls_total{call="DoPut",status="OK"}')).toBe(1);
    expect(m.get('flightdeck_flight_calls_total{call="DoGet",status="OK"}')).toBe(2);
    expect(m.get('flightdeck_flight_calls_total{call="GetFlightInfo",status="NOT_FOUND"}')).toBe(1);
    expect(m.get('flightdeck_flight_calls_total{call="ListActions",status="UNAUTHENTICATED"}')).toBe(1);
    expect(m.get('flightdeck_flight_calls_total{call="DoAction",status="PERMISSION_DENIED"}')).toBe(1);
    expect(m.get('flightdeck_flight_actions_total{action="create_dataset",status="OK"}')).toBe(1);
    expect(m.get('flightdeck_flight_actions_total{action="drop_dataset",status="PERMISSION_DENIED"}')).toBe(1);
    expect(m.get('flightdeck_flight_actions_total{action="unknown",status="INVALID_ARGUMENT"}')).toBe(1);
    expect(m.get('flightdeck_flight_rows_total{direction="in"}')).toBe(rows);
    expect(m.get('flightdeck_flight_rows_total{direction="out"}')).toBeGreaterThanOrEqual(read1 + read2);
    expect(m.get('flightdeck_flight_bytes_total{direction="in"}')).toBeGreaterThan(rows * 8);
    expect(m.get('flightdeck_flight_bytes_total{direction="out"}')).toBeGreaterThan(read1 * 8);
    expect(m.get('flightdeck_flight_call_duration_seconds_count{call="DoGet"}')).toBe(2);
    expect(m.get('flightdeck_flight_call_duration_seconds_bucket{le="+Inf",call="DoPut"}')).toBe(1);
    expect(m.get('flightdeck_commit_duration_seconds_count{operation="put"}')).toBe(1);
    expect(m.get('flightdeck_commit_duration_seconds_count{operation="compact"}')).toBe(1);
    expect(m.get('flightdeck_commit_duration_seconds_count{operation="create_dataset"}')).toBe(1);
    const cache = t.store.cacheStats();
    expect(m.get('flightdeck_cache_hits_total')).toBe(cache.hits);
    expect(m.get('flightdeck_cache_misses_total')).toBe(cache.misses);
    expect(cache.hits + cache.misses).toBeGreaterThan(0);
    expect(m.get('flightdeck_datasets')).toBe(1);
    expect(m.get('process_resident_memory_bytes')).toBeGreaterThan(0);
    raw.close();
  });

  it('serves /healthz, and 404 / 405 elsewhere', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('keeps action labels bounded: client-chosen types are "unknown"', async () => {
    const raw = rawClient(t.server.url.replace('grpc://', ''));
    const c = t.client();
    await c.handshake('root', 'pw');
    for (let i = 0; i < 5; i++) {
      await rawCall(raw, 'DoAction', [encodeRequest('DoAction', { type: `junk_${i}`, body: Buffer.alloc(0) })], {
        metadata: metadataOf({ authorization: `Bearer ${c.token!}` }),
      });
    }
    const m = await scrape();
    expect([...m.keys()].filter((k) => k.includes('junk_'))).toEqual([]);
    expect(m.get('flightdeck_flight_actions_total{action="unknown",status="INVALID_ARGUMENT"}')).toBe(6);
    raw.close();
  });
});

describe('metrics off', () => {
  it('opens no port when METRICS_PORT is unset', async () => {
    const t = await startTestServer();
    expect(t.server.metricsPort).toBeNull();
    await t.stop();
  });
});
