/**
 * The single-subgraph path: which operations one subgraph answers whole (from a supergraph composed
 * of real subgraph SDLs), and end to end over two stub subgraphs: such an operation reaches its
 * subgraph as the client wrote it, with the answer and errors Apollo Gateway's planner path gives;
 * anything else still goes through the planner.
 */
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { buildSchema, GraphQLError, parse } from 'graphql';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeSupergraph } from './compose.js';
import { loadConfig } from './config.js';
import { startGateway, type RunningGateway } from './gateway.js';
import { singleSubgraphOf, supergraphRouting } from './single-subgraph.js';

const FINANCIAL_SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable", "@external", "@requires", "@provides"])
  scalar DateTime
  type Query {
    instrument(symbol: String!): Instrument
    bars(symbol: String!, from: DateTime): [Bar!]!
    search: SearchResult
    node: Named
  }
  type Instrument @key(fields: "symbol") { symbol: String! price: Float tags: [String!]! owner: Owner @provides(fields: "name") }
  type Owner @key(fields: "id") { id: ID! name: String @external }
  type Bar { ts: DateTime! close: Float }
  union SearchResult = Instrument | Bar
  interface Named { name: String }
  type Label implements Named @key(fields: "name") { name: String }
  input Window { from: DateTime }
  type Mutation { touch(symbol: String!): Instrument }
`;
const USERS_SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])
  scalar DateTime
  type Query { watchlist: Watchlist! }
  type Watchlist { name: String! instruments: [Instrument!]! since: DateTime }
  type Instrument @key(fields: "symbol") { symbol: String! }
  type Owner @key(fields: "id") { id: ID! name: String @shareable }
  input ListFilter { name: String }
`;

describe('singleSubgraphOf', () => {
  const supergraph = composeSupergraph([
    { name: 'financial', url: 'http://127.0.0.1:1/graphql', sdl: FINANCIAL_SDL },
    { name: 'users', url: 'http://127.0.0.1:2/graphql', sdl: USERS_SDL },
  ]);
  const routing = supergraphRouting(supergraph);
  // The supergraph as a graphql-js schema: the walk only looks fields up, which the join
  // directives and types beside them do not disturb.
  const schema = buildSchema(supergraph, { assumeValidSDL: true });
  const route = (query: string) => singleSubgraphOf(routing, schema, parse(query));

  it('reads the graphs of the supergraph', () => {
    expect([...routing.graphs.values()].sort()).toEqual(['financial', 'users']);
  });

  it('routes an operation whose every field one subgraph resolves', () => {
    expect(route(`{ bars(symbol: "A") { ts close } }`)).toBe('financial');
    expect(route(`query Q($s: String!, $f: DateTime) { a: bars(symbol: $s, from: $f) { ts @include(if: true) close } }`)).toBe('financial');
    expect(route(`{ instrument(symbol: "A") { symbol price tags __typename ...I } } fragment I on Instrument { price }`)).toBe('financial');
    expect(route(`{ instrument(symbol: "A") { ... on Instrument { price } } }`)).toBe('financial');
    expect(route(`{ watchlist { name since } }`)).toBe('users');
    // A field both subgraphs resolve (Instrument.symbol) stays with the one the walk came from.
    expect(route(`{ watchlist { instruments { symbol } } }`)).toBe('users');
  });

  it('leaves to the planner whatever one subgraph cannot answer whole', () => {
    const planned = [
      `{ watchlist { instruments { symbol price } } }`, // crosses into financial
      `{ watchlist { name } bars(symbol: "A") { ts } }`, // two subgraphs at the root
      `mutation { touch(symbol: "A") { symbol } }`, // not a query
      `{ search { ... on Bar { ts } } }`, // a union
      `{ node { name } }`, // an interface
      `{ instrument(symbol: "A") { owner { name } } }`, // @provides / @external
      `{ __schema { types { name } } }`, // introspection
      `{ bars(symbol: "A") { ts } } query Other { watchlist { name } }`, // two operations
      `{ bars(symbol: "A") { ts ...on Bar @defer { close } } }`, // a directive other than skip/include
      `query($w: ListFilter) { bars(symbol: "A") { ts } }`, // a variable of a type financial lacks
    ];
    for (const query of planned) expect(route(query), query).toBeUndefined();
  });
});

describe('through the gateway', () => {
  // Info lines are kept to see which path answered (pass-through.ts logs `passThrough: true`).
  const logLines: { msg?: string; passThrough?: boolean }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line)) });
  const received: { subgraph: string; query: string }[] = [];
  let financial: ApolloServer;
  let users: ApolloServer;
  let gateway: RunningGateway;
  let financialUrl: string;

  const recorder = (subgraph: string) => ({
    async requestDidStart({ request }: { request: { query?: string } }) {
      if (request.query && !request.query.includes('_service')) received.push({ subgraph, query: request.query });
    },
  });

  async function post(query: string, variables: Record<string, unknown> = {}) {
    const res = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    return { status: res.status, body: (await res.json()) as { data?: any; errors?: any[] } };
  }

  const usersSubgraph = (...plugins: ApolloServerPlugin[]) =>
    new ApolloServer({
      schema: buildSubgraphSchema({
        typeDefs: parse(`
          extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
          type Query { watchlist: Watchlist! }
          type Watchlist { name: String! instruments: [Instrument!]! }
          type Instrument @key(fields: "symbol") { symbol: String! }
        `),
        resolvers: { Query: { watchlist: () => ({ name: 'tech', instruments: [{ symbol: 'AAPL' }] }) } } as never,
      }),
      plugins: [ApolloServerPluginInlineTraceDisabled(), ...plugins],
    });

  beforeAll(async () => {
    financial = new ApolloServer({
      schema: buildSubgraphSchema({
        typeDefs: parse(`
          extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
          type Query { instrument(symbol: String!): Instrument  bars(symbol: String!): [Bar!]! }
          type Instrument @key(fields: "symbol") { symbol: String! price: Float }
          type Bar { close: Float! }
        `),
        resolvers: {
          Query: {
            instrument: (_: unknown, { symbol }: { symbol: string }) => ({ symbol }),
            bars: (_: unknown, { symbol }: { symbol: string }) => {
              if (symbol === 'BAD') throw new GraphQLError('symbol BAD is refused', { extensions: { code: 'BAD_USER_INPUT', field: 'symbol' } });
              return [{ close: 1.5 }, { close: 2.5 }];
            },
          },
          Instrument: { __resolveReference: (ref: { symbol: string }) => ref, price: (i: { symbol: string }) => (i.symbol === 'AAPL' ? 185.5 : null) },
        } as never,
      }),
      plugins: [ApolloServerPluginInlineTraceDisabled(), recorder('financial')],
    });
    users = usersSubgraph(recorder('users'));
    const f = await startStandaloneServer(financial, { listen: { port: 0, host: '127.0.0.1' } });
    financialUrl = `${f.url}graphql`;
    const u = await startStandaloneServer(users, { listen: { port: 0, host: '127.0.0.1' } });
    gateway = await startGateway(loadConfig({ GATEWAY_PORT: '0', FACADE_URL: `${f.url}graphql`, USERS_URL: `${u.url}graphql`, LOG_LEVEL: 'silent' }), { logger });
  });

  afterAll(async () => {
    await gateway?.close();
    await financial?.stop();
    await users?.stop();
  });

  it('sends a single-subgraph operation as the client wrote it and passes the answer on', async () => {
    received.length = 0;
    const query = `query Chart($s: String!) { instrument(symbol: $s) { symbol price } b: bars(symbol: $s) { close } }`;
    const r = await post(query, { s: 'AAPL' });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ data: { instrument: { symbol: 'AAPL', price: 185.5 }, b: [{ close: 1.5 }, { close: 2.5 }] } });
    expect(received).toEqual([{ subgraph: 'financial', query }]);
  });

  it("passes the subgraph's errors on as Apollo Gateway does: message, code, path, serviceName", async () => {
    const r = await post(`{ bars(symbol: "BAD") { close } }`);
    expect(r.body.data).toBeNull();
    expect(r.body.errors).toEqual([
      { message: 'symbol BAD is refused', path: ['bars'], extensions: { code: 'BAD_USER_INPUT', field: 'symbol', serviceName: 'financial' } },
    ]);
  });

  const passedThrough = () => logLines.filter((l) => l.msg === 'graphql request' && l.passThrough === true).length;

  it("answers a POSTed single-subgraph query with the subgraph's own bytes", async () => {
    const body = JSON.stringify({ query: `query($s: String!) { instrument(symbol: $s) { symbol price } bars(symbol: $s) { close } }`, variables: { s: 'AAPL' } });
    const ask = (url: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then(async (r) => ({ status: r.status, type: r.headers.get('content-type'), text: await r.text() }));
    const before = passedThrough();
    const direct = await ask(financialUrl);
    const through = await ask(gateway.url);
    expect(through).toEqual(direct);
    expect(passedThrough()).toBe(before + 1);
  });

  it("rewrites a refused request's errors as the planner path does: the subgraph's status, serviceName, no data", async () => {
    const query = `query($s: String!) { bars(symbol: $s) { close } }`;
    const before = passedThrough();
    const r = await post(query, { s: 42 });
    expect(passedThrough()).toBe(before + 1);
    expect(r.status).toBe(400);
    expect(r.body.data).toBeUndefined();
    expect(r.body.errors).toHaveLength(1);
    expect(r.body.errors![0].message).toMatch(/Variable "\$s" got invalid value 42/);
    expect(r.body.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', serviceName: 'financial' });
    expect(r.body.errors![0].locations).toBeUndefined();
  });

  it('leaves GET, extensions and operations it cannot route to Apollo Server, with the same answers', async () => {
    const query = `{ bars(symbol: "AAPL") { close } }`;
    const before = passedThrough();
    const get = await fetch(`${gateway.url}?query=${encodeURIComponent(query)}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(await get.json()).toEqual({ data: { bars: [{ close: 1.5 }, { close: 2.5 }] } });
    const withExtensions = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, extensions: {} }) });
    expect(await withExtensions.json()).toEqual({ data: { bars: [{ close: 1.5 }, { close: 2.5 }] } });
    const unknownOperation = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, operationName: 'Nope' }) });
    expect(unknownOperation.status).toBe(400);
    expect(((await unknownOperation.json()) as { errors: { message: string }[] }).errors[0]!.message).toMatch(/Unknown operation named "Nope"/);
    expect(passedThrough()).toBe(before);
  });

  it('answers 502 SERVICE_UNAVAILABLE naming the subgraph when it cannot be reached', async () => {
    const doomed = usersSubgraph();
    const closed = await startStandaloneServer(doomed, { listen: { port: 0, host: '127.0.0.1' } });
    const { port } = new URL(closed.url);
    const down = await startGateway(
      loadConfig({ GATEWAY_PORT: '0', FACADE_URL: financialUrl, USERS_URL: `http://127.0.0.1:${port}/graphql`, LOG_LEVEL: 'silent' }),
      { logger: pino({ level: 'silent' }) },
    ).catch((e: Error) => e);
    // Composition needs both subgraphs: start the gateway first, then stop the users subgraph.
    expect(down).not.toBeInstanceOf(Error);
    const gw = down as RunningGateway;
    try {
      await doomed.stop();
      const r = await fetch(gw.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ watchlist { name } }' }) });
      expect(r.status).toBe(502);
      const body = (await r.json()) as { data?: unknown; errors: { message: string; extensions: Record<string, unknown> }[] };
      expect(body.data).toBeUndefined();
      expect(body.errors).toHaveLength(1);
      expect(body.errors[0]!.message).toMatch(new RegExp(`subgraph "users" could not be reached: .*ECONNREFUSED 127\\.0\\.0\\.1:${port}`));
      expect(body.errors[0]!.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', serviceName: 'users' });
    } finally {
      await gw.close();
    }
  });

  it('plans an operation that crosses subgraphs, as before', async () => {
    received.length = 0;
    const r = await post(`{ watchlist { name instruments { symbol price } } }`);
    expect(r.body).toEqual({ data: { watchlist: { name: 'tech', instruments: [{ symbol: 'AAPL', price: 185.5 }] } } });
    // The planner's operations, not the client's: users first, then an _entities fetch.
    expect(received.map((q) => q.subgraph)).toEqual(['users', 'financial']);
    expect(received[1]!.query).toMatch(/_entities/);
  });
});
