/**
 * The single-subgraph path: which operations one subgraph answers whole (from a supergraph composed
 * of real subgraph SDLs), and end to end over two stub subgraphs: such an operation reaches its
 * subgraph as the client wrote it, with the answer and errors Apollo Gateway's planner path gives;
 * anything else still goes through the planner.
 */
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { buildSchema, GraphQLError, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeSupergraph } from './compose.js';
import { loadConfig } from './config.js';
import { startGateway, type RunningGateway } from './gateway.js';
import { createLogger } from './logger.js';
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
  const logger = createLogger('silent');
  const received: { subgraph: string; query: string }[] = [];
  let financial: ApolloServer;
  let users: ApolloServer;
  let gateway: RunningGateway;

  const recorder = (subgraph: string) => ({
    async requestDidStart({ request }: { request: { query?: string } }) {
      if (request.query && !request.query.includes('_service')) received.push({ subgraph, query: request.query });
    },
  });

  async function post(query: string, variables: Record<string, unknown> = {}) {
    const res = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    return { status: res.status, body: (await res.json()) as { data?: any; errors?: any[] } };
  }

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
    users = new ApolloServer({
      schema: buildSubgraphSchema({
        typeDefs: parse(`
          extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
          type Query { watchlist: Watchlist! }
          type Watchlist { name: String! instruments: [Instrument!]! }
          type Instrument @key(fields: "symbol") { symbol: String! }
        `),
        resolvers: { Query: { watchlist: () => ({ name: 'tech', instruments: [{ symbol: 'AAPL' }] }) } } as never,
      }),
      plugins: [ApolloServerPluginInlineTraceDisabled(), recorder('users')],
    });
    const f = await startStandaloneServer(financial, { listen: { port: 0, host: '127.0.0.1' } });
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

  it('plans an operation that crosses subgraphs, as before', async () => {
    received.length = 0;
    const r = await post(`{ watchlist { name instruments { symbol price } } }`);
    expect(r.body).toEqual({ data: { watchlist: { name: 'tech', instruments: [{ symbol: 'AAPL', price: 185.5 }] } } });
    // The planner's operations, not the client's: users first, then an _entities fetch.
    expect(received.map((q) => q.subgraph)).toEqual(['users', 'financial']);
    expect(received[1]!.query).toMatch(/_entities/);
  });
});
