/**
 * The gateway over two stub subgraphs in-process: waits for them, composes by introspection,
 * writes a supergraph with the compose CLI and serves it from SUPERGRAPH_FILE; and over two stubs
 * that refuse with HTTP 400, passes their errors through.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { GraphQLError, GraphQLScalarType, Kind, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { startGateway, type RunningGateway } from './gateway.js';
import { createLogger } from './logger.js';

const gatewayDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const logger = createLogger('silent');

const prices: Record<string, number> = { AAPL: 185.5, MSFT: 370.25 };

function financial() {
  return new ApolloServer({
    schema: buildSubgraphSchema({
      typeDefs: parse(`
        extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
        type Query { instrument(symbol: String!): Instrument }
        type Instrument @key(fields: "symbol") { symbol: String! price: Float }
      `),
      resolvers: {
        Query: { instrument: (_: unknown, { symbol }: { symbol: string }) => ({ symbol }) },
        Instrument: {
          __resolveReference: (ref: { symbol: string }) => ref,
          price: (i: { symbol: string }) => prices[i.symbol] ?? null,
        },
      } as never,
    }),
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
}

function users() {
  return new ApolloServer({
    schema: buildSubgraphSchema({
      typeDefs: parse(`
        extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
        type Query { watchlist: Watchlist! }
        type Watchlist { name: String! instruments: [Instrument!]! }
        type Instrument @key(fields: "symbol") { symbol: String! }
      `),
      resolvers: {
        Query: { watchlist: () => ({ name: 'tech', instruments: [{ symbol: 'AAPL' }, { symbol: 'MSFT' }] }) },
      } as never,
    }),
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
}

const QUERY = `{ watchlist { name instruments { symbol price } } }`;
const EXPECTED = { watchlist: { name: 'tech', instruments: [{ symbol: 'AAPL', price: 185.5 }, { symbol: 'MSFT', price: 370.25 }] } };

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function gql(url: string, query: string): Promise<{ data?: any; errors?: any[] }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
  return (await res.json()) as { data?: any; errors?: any[] };
}

let financialServer: ApolloServer;
let usersServer: ApolloServer;
let env: Record<string, string>;
let gateway: RunningGateway;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fd-gateway-'));
  const [fPort, uPort] = [await freePort(), await freePort()];
  env = {
    GATEWAY_PORT: '0',
    FACADE_URL: `http://127.0.0.1:${fPort}/graphql`,
    USERS_URL: `http://127.0.0.1:${uPort}/graphql`,
    LOG_LEVEL: 'silent',
  };
  // The gateway starts first and waits; the subgraphs come up a moment later.
  const starting = startGateway(loadConfig(env), { logger });
  await new Promise((r) => setTimeout(r, 600));
  financialServer = financial();
  usersServer = users();
  await startStandaloneServer(financialServer, { listen: { port: fPort, host: '127.0.0.1' } });
  await startStandaloneServer(usersServer, { listen: { port: uPort, host: '127.0.0.1' } });
  gateway = await starting;
});

afterAll(async () => {
  await gateway?.close();
  await financialServer?.stop();
  await usersServer?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('gateway', () => {
  it('waits for the subgraphs, composes them by introspection and walks from one into the other', async () => {
    expect(gateway.supergraphSource).toBe('introspection');
    expect(await gql(gateway.url, QUERY)).toEqual({ data: EXPECTED });
  });

  it('answers /healthz and /readyz', async () => {
    const base = gateway.url.replace(/\/graphql$/, '');
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  it('writes a supergraph with `npm run compose` and serves it from SUPERGRAPH_FILE', async () => {
    const out = join(dir, 'supergraph.graphql');
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/compose-cli.ts', '--out', out], {
        cwd: gatewayDir,
        env: { ...process.env, ...env, LOG_LEVEL: 'error' },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      child.on('exit', resolve);
    });
    expect(code).toBe(0);
    const sdl = await readFile(out, 'utf8');
    expect(sdl).toContain('@join__graph(name: "financial", url: "' + env.FACADE_URL + '")');
    expect(sdl).toContain('@join__graph(name: "users", url: "' + env.USERS_URL + '")');
    const fromFile = await startGateway(loadConfig({ ...env, SUPERGRAPH_FILE: out }), { logger });
    try {
      expect(fromFile.supergraphSource).toBe(out);
      expect(await gql(fromFile.url, QUERY)).toEqual({ data: EXPECTED });
    } finally {
      await fromFile.close();
    }
  });

  it('gives up after GATEWAY_STARTUP_TIMEOUT_MS naming the subgraph that is down', async () => {
    const port = await freePort();
    const config = loadConfig({ ...env, USERS_URL: `http://127.0.0.1:${port}/graphql`, GATEWAY_STARTUP_TIMEOUT_MS: '700' });
    await expect(startGateway(config, { logger })).rejects.toThrow(/GATEWAY_STARTUP_TIMEOUT_MS.*"users" at .*USERS_URL/);
  });

  it('fails fast naming a bad variable', () => {
    expect(() => loadConfig({ FACADE_URL: 'ftp://x' })).toThrow(/FACADE_URL/);
    expect(() => loadConfig({ GATEWAY_PORT: '70000' })).toThrow(/GATEWAY_PORT/);
  });
});

/**
 * Two stub subgraphs whose `Day` scalar refuses anything but YYYY-MM-DD while validating, so they
 * answer HTTP 400 with GraphQL errors; the gateway's supergraph cannot see that coming.
 */
describe('subgraph refusals', () => {
  const dayScalar = () =>
    new GraphQLScalarType({
      name: 'Day',
      parseValue: (v) => check(v),
      parseLiteral: (ast) => check(ast.kind === Kind.STRING ? ast.value : ast.kind),
    });
  function check(value: unknown): string {
    if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
    throw new GraphQLError(`Day must look like 2024-01-02, got ${JSON.stringify(value)}`, { extensions: { code: 'BAD_USER_INPUT' } });
  }
  function stub(field: string, service: string) {
    return new ApolloServer({
      schema: buildSubgraphSchema({
        typeDefs: parse(`
          extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
          scalar Day
          type Query { ${field}(day: Day): String }
        `),
        resolvers: { Day: dayScalar(), Query: { [field]: (_: unknown, { day }: { day: string }) => `${service} ${day}` } } as never,
      }),
      plugins: [ApolloServerPluginInlineTraceDisabled()],
    });
  }
  let a: ApolloServer;
  let b: ApolloServer;
  let gw: RunningGateway;

  beforeAll(async () => {
    a = stub('quote', 'financial');
    b = stub('note', 'users');
    const fa = await startStandaloneServer(a, { listen: { port: 0, host: '127.0.0.1' } });
    const fb = await startStandaloneServer(b, { listen: { port: 0, host: '127.0.0.1' } });
    gw = await startGateway(loadConfig({ GATEWAY_PORT: '0', FACADE_URL: fa.url, USERS_URL: fb.url, LOG_LEVEL: 'silent' }), { logger });
  });

  afterAll(async () => {
    await gw?.close();
    await a?.stop();
    await b?.stop();
  });

  async function post(query: string, variables: Record<string, unknown> = {}) {
    const res = await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    return { status: res.status, body: (await res.json()) as { data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] } };
  }

  it('passes every subgraph error through with its message and code; 400 and no data when every subgraph refused', async () => {
    const r = await post(`query($d: Day) { quote(day: "monday") note(day: $d) }`, { d: 'tuesday' });
    expect(r.status).toBe(400);
    expect(r.body).not.toHaveProperty('data');
    const errors = [...r.body.errors!].sort((x, y) => x.message.localeCompare(y.message));
    expect(errors.map((e) => e.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT']);
    expect(errors[0]!.message).toMatch(/Day must look like 2024-01-02, got "monday"/);
    expect(errors[0]!.extensions?.serviceName).toBe('financial');
    expect(errors[1]!.message).toMatch(/Variable "\$d" got invalid value "tuesday"; Day must look like 2024-01-02/);
    expect(errors[1]!.extensions?.serviceName).toBe('users');
    for (const e of errors) expect(e.extensions).not.toHaveProperty('response');
  });

  it('answers 200 with the data of the subgraph that executed beside the refusal of the other', async () => {
    const r = await post(`{ quote(day: "monday") note(day: "2024-01-02") }`);
    expect(r.status).toBe(200);
    expect(r.body.data).toEqual({ quote: null, note: 'users 2024-01-02' });
    expect(r.body.errors?.map((e) => e.extensions?.code)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(r.body.errors?.[0]?.message).toMatch(/got "monday"/);
  });
});
