/**
 * TLS: grpc+tls with a certificate made by openssl, with and without client-certificate checks,
 * through the Node FlightClient.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlightClient, FlightError } from '@flightdeck/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.js';
import { makeTestCertificates, type TestCertificates } from '../../../test-support/test-certificates.js';
import { seedBars, startTestServer, type TestServer } from '../../../test-support/test-fixture.js';

let dir: string;
let certs: TestCertificates;
let ca: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fd-tls-'));
  certs = makeTestCertificates(dir);
  ca = await readFile(certs.caCert);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function failure(p: Promise<unknown>): Promise<FlightError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FlightError);
  return err as FlightError;
}

describe('TLS without client certificates', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ FLIGHT_TLS_CERT: certs.serverCert, FLIGHT_TLS_KEY: certs.serverKey, FLIGHT_USERS: 'root:pw:admin' });
  });
  afterAll(() => t.stop());

  it('serves grpc+tls: handshake, put and read back', async () => {
    expect(t.server.url).toMatch(/^grpc\+tls:\/\/127\.0\.0\.1:\d+$/);
    const c = t.client({ tls: { rootCerts: ca } });
    await c.handshake('root', 'pw');
    const rows = await seedBars(c, 'bars', { days: 2 });
    expect((await c.readTable('{"dataset":"bars"}')).numRows).toBe(rows);
  });

  it('verifies the host name, which serverName can override', async () => {
    const byName = t.client({ tls: { rootCerts: ca } });
    const url = t.server.url.replace('127.0.0.1', 'localhost');
    const c = new FlightClient(url, { tls: { rootCerts: ca } });
    expect((await c.handshake('root', 'pw')).length).toBeGreaterThan(0);
    c.close();
    const wrongName = new FlightClient(t.server.url, { tls: { rootCerts: ca, serverName: 'flightdeck.example' } });
    expect((await failure(wrongName.handshake('root', 'pw'))).code).toBe('UNAVAILABLE');
    wrongName.close();
    expect((await byName.handshake('root', 'pw')).length).toBeGreaterThan(0);
  });

  it('is refused by clients that do not trust the CA, and refuses plaintext clients', async () => {
    const untrusting = t.client();
    expect((await failure(untrusting.handshake('root', 'pw'))).code).toBe('UNAVAILABLE');
    const plain = new FlightClient(t.server.url.replace('grpc+tls', 'grpc'));
    expect((await failure(plain.listActions())).code).toMatch(/UNAVAILABLE|INTERNAL/);
    plain.close();
  });
});

describe('TLS with client certificates (FLIGHT_TLS_CLIENT_CA)', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ FLIGHT_TLS_CERT: certs.serverCert, FLIGHT_TLS_KEY: certs.serverKey, FLIGHT_TLS_CLIENT_CA: certs.caCert });
  });
  afterAll(() => t.stop());

  it('serves clients whose certificate the CA signed', async () => {
    const c = t.client({ tls: { rootCerts: ca, certChain: await readFile(certs.clientCert), privateKey: await readFile(certs.clientKey) } });
    await seedBars(c, 'bars');
    expect((await c.readTable('{"dataset":"bars","limit":7}')).numRows).toBe(7);
  });

  it('refuses clients without a certificate or with one from another CA', async () => {
    const none = t.client({ tls: { rootCerts: ca } });
    expect((await failure(none.listActions())).code).toBe('UNAVAILABLE');
    const foreign = t.client({
      tls: { rootCerts: ca, certChain: await readFile(certs.otherClientCert), privateKey: await readFile(certs.otherClientKey) },
    });
    expect((await failure(foreign.listActions())).code).toBe('UNAVAILABLE');
  });
});

describe('TLS configuration', () => {
  it('needs certificate and key together, and a CA only with them', () => {
    expect(() => loadConfig({ FLIGHT_TLS_CERT: 'x.pem' })).toThrow(/FLIGHT_TLS_CERT and FLIGHT_TLS_KEY must be set together/);
    expect(() => loadConfig({ FLIGHT_TLS_CLIENT_CA: 'ca.pem' })).toThrow(/FLIGHT_TLS_CLIENT_CA needs/);
  });

  it('fails at start-up naming the variable of an unreadable or non-PEM file', async () => {
    await expect(startTestServer({ FLIGHT_TLS_CERT: join(dir, 'missing.pem'), FLIGHT_TLS_KEY: certs.serverKey })).rejects.toThrow(
      /FLIGHT_TLS_CERT=.*missing\.pem.*cannot be read: ENOENT/,
    );
    await expect(startTestServer({ FLIGHT_TLS_CERT: certs.serverCert, FLIGHT_TLS_KEY: join(dir, 'server.ext') })).rejects.toThrow(
      /FLIGHT_TLS_KEY=.*is not a PEM file/,
    );
  });

  it('refuses client TLS options with a plaintext URL', () => {
    expect(() => new FlightClient('grpc://127.0.0.1:1', { tls: { rootCerts: ca } })).toThrow(/plaintext Flight URL/);
    expect(() => new FlightClient('grpc+tls://127.0.0.1:1', { tls: { certChain: 'x' } })).toThrow(/certChain and privateKey/);
  });
});
