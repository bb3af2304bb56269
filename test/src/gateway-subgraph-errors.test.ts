/**
 * Refusals by either subgraph reach a client of the gateway as the subgraph made them: the same
 * message and `extensions.code`, and the same HTTP status when nothing of the request executed.
 * Real processes in-process on port 0: a Flight server (empty), the facade, the user service
 * (PGlite in a temp dir) and the gateway composed from both.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger as flightLogger, DatasetStore, loadConfig as loadFlightConfig, startFlightServer } from '@flightdeck/flight-server';
import { loadConfig as loadGatewayConfig, startGateway, type RunningGateway } from '@flightdeck/gateway';
import { loadConfig as loadFacadeConfig, startFacade, type RunningFacade } from '@flightdeck/graphql-facade';
import { loadConfig as loadUsersConfig, startUserService, type RunningUserService } from '@flightdeck/user-service';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface GqlError {
  message: string;
  extensions?: Record<string, unknown>;
}
interface Answer {
  status: number;
  body: { data?: any; errors?: GqlError[] };
}

let dir: string;
let flight: Awaited<ReturnType<typeof startFlightServer>>;
let facade: RunningFacade;
let users: RunningUserService;
let gateway: RunningGateway;

const MAX_COST = 1000;

async function post(url: string, query: string, variables: Record<string, unknown> = {}): Promise<Answer> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

/** The gateway's answer must carry the subgraph's own errors: same messages, same codes. */
function expectSameErrors(viaGateway: GqlError[] | undefined, direct: GqlError[] | undefined): void {
  expect(direct?.length).toBeGreaterThan(0);
  expect(viaGateway?.map((e) => e.message)).toEqual(direct!.map((e) => e.message));
  expect(viaGateway?.map((e) => e.extensions?.code)).toEqual(direct!.map((e) => e.extensions?.code));
  for (const e of viaGateway!) {
    expect(e.message).not.toMatch(/^\d{3}: /);
    expect(e.extensions).not.toHaveProperty('response');
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fd-gateway-errors-'));
  const flightConfig = loadFlightConfig({ FLIGHT_PORT: '0', DATA_DIR: join(dir, 'flight'), LOG_LEVEL: 'silent' });
  const logger = flightLogger('silent');
  flight = await startFlightServer({ config: flightConfig, store: await DatasetStore.open(flightConfig, logger), logger });
  facade = await startFacade(loadFacadeConfig({ FACADE_PORT: '0', FLIGHT_URL: flight.url, FACADE_MAX_COST: String(MAX_COST), LOG_LEVEL: 'silent' }));
  users = await startUserService(loadUsersConfig({ USERS_PORT: '0', USERS_DATA_DIR: join(dir, 'users'), LOG_LEVEL: 'silent' }));
  gateway = await startGateway(loadGatewayConfig({ GATEWAY_PORT: '0', FACADE_URL: facade.url, USERS_URL: users.url, LOG_LEVEL: 'silent' }));
});

afterAll(async () => {
  await gateway?.close();
  await facade?.close();
  await users?.close();
  await flight?.close(1000);
  await rm(dir, { recursive: true, force: true });
});

describe('subgraph refusals through the gateway', () => {
  it('a bad DateTime literal: the facade message and code, HTTP 400 and no data, as from the facade itself', async () => {
    const query = `{ bars(symbol: "SPX", from: "yesterday") { ts } }`;
    const direct = await post(facade.url, query);
    expect(direct.status).toBe(400);
    const via = await post(gateway.url, query);
    expectSameErrors(via.body.errors, direct.body.errors);
    expect(via.body.errors![0]!.message).toMatch(/DateTime must be an ISO-8601 time.*"yesterday"/);
    expect(via.body.errors![0]!.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(via.status).toBe(400);
    expect(via.body).not.toHaveProperty('data');
  });

  it('a bad DateTime variable: BAD_USER_INPUT naming the value, HTTP 400', async () => {
    const query = `query($from: DateTime) { bars(symbol: "SPX", from: $from) { ts } }`;
    const direct = await post(facade.url, query, { from: '2020-13-45' });
    expect(direct.status).toBe(400);
    const via = await post(gateway.url, query, { from: '2020-13-45' });
    expectSameErrors(via.body.errors, direct.body.errors);
    expect(via.body.errors![0]!.message).toMatch(/DateTime must be an ISO-8601 time.*2020-13-45/);
    expect(via.body.errors![0]!.extensions?.code).toBe('BAD_USER_INPUT');
    expect(via.status).toBe(400);
    expect(via.body).not.toHaveProperty('data');
  });

  it('500 aliases: the facade alias limit, named', async () => {
    const query = `{ ${Array.from({ length: 500 }, (_, i) => `a${i}: bars(symbol: "SPX") { ts }`).join(' ')} }`;
    const direct = await post(facade.url, query);
    const via = await post(gateway.url, query);
    expectSameErrors(via.body.errors, direct.body.errors);
    expect(via.body.errors![0]!.message).toMatch(/FACADE_MAX_ALIASES=30/);
    expect(via.body.errors![0]!.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'FACADE_MAX_ALIASES' });
    expect(via.status).toBe(400);
  });

  it('the facade cost limit, named', async () => {
    const dataset = `datasets { name timeColumn keyColumns partition rows version fields { name type nullable } }`;
    const query = `{ a: ${dataset} b: ${dataset} c: ${dataset} }`; // 3 × 371
    const direct = await post(facade.url, query);
    const via = await post(gateway.url, query);
    expectSameErrors(via.body.errors, direct.body.errors);
    expect(via.body.errors![0]!.message).toMatch(new RegExp(`FACADE_MAX_COST=${MAX_COST}`));
    expect(via.body.errors![0]!.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', limit: 'FACADE_MAX_COST' });
    expect(via.status).toBe(400);
  });

  it('a user-service refusal: BAD_USER_INPUT naming the field', async () => {
    const query = `mutation { createUser(email: "not-an-email", name: "x") { id } }`;
    const direct = await post(users.url, query);
    const via = await post(gateway.url, query);
    expectSameErrors(via.body.errors, direct.body.errors);
    expect(via.body.errors![0]!.message).toMatch(/"not-an-email" is not a valid email address/);
    expect(via.body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'email' });
  });

  it('a user-service refusal of a control character: BAD_USER_INPUT naming the field', async () => {
    for (const email of ['a\u0000b@example.com', 'a\u0007b@example.com']) {
      const via = await post(gateway.url, `mutation($e: String!) { createUser(email: $e, name: "x") { id } }`, { e: email });
      expect(via.body.errors?.map((e) => e.extensions?.code), JSON.stringify(email)).toEqual(['BAD_USER_INPUT']);
      expect(via.body.errors![0]!.extensions?.field).toBe('email');
      expect(via.body.errors![0]!.message).toMatch(/control character/);
    }
  });

  it('one part refused, another executed: HTTP 200, the executed part in data, the refusal in errors', async () => {
    const query = `{ users { id } instrument(symbol: "SPX") { bars(from: "yesterday") { ts } } }`;
    const via = await post(gateway.url, query);
    expect(via.status).toBe(200);
    expect(via.body.errors?.map((e) => e.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(via.body.errors![0]!.message).toMatch(/DateTime must be an ISO-8601 time.*"yesterday"/);
    expect(via.body.data).toEqual({ users: [], instrument: null });
  });
});
