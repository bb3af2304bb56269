/**
 * grpc.health.v1.Health on the Flight port: SERVING without credentials while up, NOT_SERVING to
 * watchers when shutdown begins; the codec of its two messages.
 */
import * as grpc from '@grpc/grpc-js';
import { FLIGHT_SERVICE_NAME } from '@flightdeck/proto';
import { describe, expect, it } from 'vitest';
import {
  decodeHealthCheckRequest,
  decodeHealthCheckResponse,
  encodeHealthCheckRequest,
  encodeHealthCheckResponse,
  healthServiceDefinition,
  type HealthCheckResponse,
} from './grpc-health.js';
import { rawCall, rawClient } from '../../../test-support/raw-flight-calls.js';
import { startTestServer } from '../../../test-support/test-fixture.js';

function healthClient(url: string): grpc.Client {
  return new grpc.Client(url.replace(/^grpc:\/\//, ''), grpc.credentials.createInsecure());
}

function check(client: grpc.Client, service: string): Promise<HealthCheckResponse> {
  const m = healthServiceDefinition.Check;
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, { service }, (err, res) => (err ? reject(err) : resolve(res!)));
  });
}

describe('grpc.health.v1 codec', () => {
  it('round-trips requests and responses and skips unknown fields', () => {
    expect(decodeHealthCheckRequest(encodeHealthCheckRequest({ service: FLIGHT_SERVICE_NAME }))).toEqual({ service: FLIGHT_SERVICE_NAME });
    expect(decodeHealthCheckRequest(Buffer.alloc(0))).toEqual({ service: '' });
    expect(decodeHealthCheckRequest(Buffer.from([0x10, 0x05, 0x0a, 0x01, 0x78]))).toEqual({ service: 'x' });
    for (const status of ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const) {
      expect(decodeHealthCheckResponse(encodeHealthCheckResponse({ status }))).toEqual({ status });
    }
    expect(encodeHealthCheckResponse({ status: 'SERVING' })).toEqual(Buffer.from([0x08, 0x01]));
    expect(() => decodeHealthCheckRequest(Buffer.from([0x0a, 0x05, 0x78]))).toThrow(/INVALID|longer than the message/);
    expect(() => decodeHealthCheckRequest(Buffer.from([0x0f]))).toThrow(/wire type 7/);
  });
});

describe('grpc.health.v1.Health service', () => {
  it('answers Check without credentials, Watch follows shutdown, malformed requests are INVALID_ARGUMENT', async () => {
    const t = await startTestServer({ FLIGHT_USERS: 'root:pw:admin' });
    const client = healthClient(t.server.url);
    expect(await check(client, '')).toEqual({ status: 'SERVING' });
    expect(await check(client, FLIGHT_SERVICE_NAME)).toEqual({ status: 'SERVING' });
    await expect(check(client, 'no.such.Service')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });

    const raw = rawClient(t.server.url.replace('grpc://', ''));
    const garbage = await new Promise<grpc.StatusObject>((resolve) => {
      const call = raw.makeUnaryRequest(healthServiceDefinition.Check.path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0x0a, 0x7f]), () => undefined);
      call.on('status', resolve);
    });
    expect(garbage.code).toBe(grpc.status.INVALID_ARGUMENT);
    // The Flight calls themselves still need a token.
    expect((await rawCall(raw, 'ListActions', [Buffer.alloc(0)])).code).toBe('UNAUTHENTICATED');

    const m = healthServiceDefinition.Watch;
    const seen: string[] = [];
    const watch = client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, { service: '' });
    const ended = new Promise<grpc.StatusObject>((resolve) => watch.on('status', resolve));
    watch.on('error', () => undefined);
    watch.on('data', (r: HealthCheckResponse) => seen.push(r.status));
    await new Promise<void>((resolve) => watch.once('data', () => resolve()));
    const unknown = client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, { service: 'nope' });
    unknown.on('error', () => undefined);
    const first = await new Promise<HealthCheckResponse>((resolve) => unknown.once('data', resolve));
    expect(first.status).toBe('SERVICE_UNKNOWN');
    unknown.cancel();

    await t.stop(2000);
    expect((await ended).code).toBe(grpc.status.OK);
    expect(seen).toEqual(['SERVING', 'NOT_SERVING']);
    client.close();
    raw.close();
  });
});
