/** The facade against a Flight server with auth on: FLIGHT_USER/FLIGHT_PASSWORD, Handshake, bearer token. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, DatasetStore, loadConfig as loadFlightConfig, startFlightServer } from '@flightdeck/flight-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { startFacade } from './facade.js';

let dir: string;
let server: Awaited<ReturnType<typeof startFlightServer>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fd-facade-auth-'));
  const config = loadFlightConfig({ FLIGHT_PORT: '0', DATA_DIR: dir, LOG_LEVEL: 'silent', FLIGHT_USERS: 'reader:s3cret:read' });
  const logger = createLogger('silent');
  server = await startFlightServer({ config, store: await DatasetStore.open(config, logger), logger });
});

afterAll(async () => {
  await server?.close(1000);
  await rm(dir, { recursive: true, force: true });
});

async function datasets(env: Record<string, string>): Promise<{ data?: unknown; errors?: { message: string; extensions: { code: string } }[] }> {
  const facade = await startFacade(loadConfig({ FACADE_PORT: '0', FLIGHT_URL: server.url, LOG_LEVEL: 'silent', ...env }));
  try {
    const res = await fetch(facade.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ datasets { name } }"}' });
    return (await res.json()) as never;
  } finally {
    await facade.close();
  }
}

describe('Flight auth', () => {
  it('authenticates with FLIGHT_USER and FLIGHT_PASSWORD', async () => {
    expect(await datasets({ FLIGHT_USER: 'reader', FLIGHT_PASSWORD: 's3cret' })).toEqual({ data: { datasets: [] } });
  });

  it('reports a missing or wrong credential as a server-side fault, not the client\'s', async () => {
    const cases: Record<string, string>[] = [{}, { FLIGHT_USER: 'reader', FLIGHT_PASSWORD: 'wrong' }];
    for (const env of cases) {
      const r = await datasets(env);
      expect(r.errors?.[0]?.extensions.code).toBe('INTERNAL_SERVER_ERROR');
      expect(r.errors?.[0]?.message).toMatch(/UNAUTHENTICATED/);
    }
  });
});
