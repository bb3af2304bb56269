/**
 * The graphql-jit executor inside Apollo Server: operations are compiled once and reused, answers
 * and errors read as graphql-js's (paths, extensions, a refused variable's own message and 400).
 */
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { GraphQLError, GraphQLScalarType, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jitGateway, type JitGateway } from './jit-executor.js';

const Day = new GraphQLScalarType({
  name: 'Day',
  serialize: (v) => String(v),
  parseValue: (v) => {
    if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(v)) {
      throw new GraphQLError(`Day must look like 2024-01-02, got ${JSON.stringify(v)}`, { extensions: { code: 'BAD_USER_INPUT' } });
    }
    return v;
  },
});

let jit: JitGateway;
let server: ApolloServer;
/** The same schema executed by graphql-js. */
let reference: ApolloServer;
let calls = 0;

async function run(query: string, variables: Record<string, unknown> = {}) {
  const res = await server.executeOperation({ query, variables }, {});
  if (res.body.kind !== 'single') throw new Error('expected a single result');
  return { status: res.http.status ?? 200, ...res.body.singleResult };
}

beforeAll(async () => {
  const schema = buildSubgraphSchema({
    typeDefs: parse(`
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
      scalar Day
      type Query { points(n: Int!, from: Day): [Point!]!  fail: Point  broken: [Point!]!  plainFail: Point }
      type Point @key(fields: "id") { id: ID! values: [Float] from: Day }
    `),
    resolvers: {
      Day,
      Query: {
        points: (_: unknown, { n, from }: { n: number; from?: string }) => {
          calls++;
          return Array.from({ length: n }, (_, i) => ({ id: String(i), values: Float64Array.from([i, i + 0.5]), from: from ?? null }));
        },
        fail: () => {
          throw new GraphQLError('no such point', { extensions: { code: 'NOT_FOUND', point: 7 } });
        },
        // Values the schema's types refuse: what graphql-jit reports itself, not a resolver.
        broken: () => [
          { id: '1', values: [Infinity, 2] },
          { id: null, values: [] },
        ],
        plainFail: () => {
          throw new TypeError('cannot read the point');
        },
      },
      Point: { __resolveReference: (ref: { id: string }) => ({ id: ref.id, values: [1], from: null }) },
    } as never,
  });
  jit = jitGateway(schema);
  server = new ApolloServer({ gateway: jit, plugins: [ApolloServerPluginInlineTraceDisabled()] });
  await server.start();
  reference = new ApolloServer({ schema, plugins: [ApolloServerPluginInlineTraceDisabled()] });
  await reference.start();
});

afterAll(async () => {
  await server?.stop();
  await reference?.stop();
});

describe('jitGateway', () => {
  it('answers as graphql-js would, typed arrays included, and compiles each operation once', async () => {
    const query = `query P($n: Int!, $from: Day) { points(n: $n, from: $from) { id values from } }`;
    const first = await run(query, { n: 2, from: '2024-01-02' });
    expect(first.errors).toBeUndefined();
    expect(first.data).toEqual({ points: [{ id: '0', values: [0, 0.5], from: '2024-01-02' }, { id: '1', values: [1, 1.5], from: '2024-01-02' }] });
    const compiled = jit.compiledOperations;
    const second = await run(query, { n: 3 });
    expect((second.data as { points: unknown[] }).points).toHaveLength(3);
    expect(jit.compiledOperations).toBe(compiled);
    await run(`{ points(n: 1) { id } }`);
    expect(jit.compiledOperations).toBe(compiled + 1);
  });

  it('keeps a resolver error its message, path and extensions', async () => {
    const r = await run(`{ fail { id } }`);
    expect(r.data).toEqual({ fail: null });
    expect(r.errors).toEqual([{ message: 'no such point', path: ['fail'], locations: [{ line: 1, column: 3 }], extensions: { code: 'NOT_FOUND', point: 7 } }]);
  });

  it("reports what the types refuse, and a resolver's plain Error, as graphql-js does: message, path, locations and code", async () => {
    for (const query of [`{ broken { id values } }`, `{ broken { values } }`, `{ plainFail { id } }`]) {
      const [jitted, interpreted] = await Promise.all([server, reference].map((s) => s.executeOperation({ query }, {})));
      const body = (r: typeof jitted) => (r!.body.kind === 'single' ? r!.body.singleResult : null);
      expect(body(jitted)!.data, query).toEqual(body(interpreted)!.data);
      const errors = body(jitted)!.errors;
      expect(errors?.length, query).toBeGreaterThan(0);
      expect(errors, query).toEqual(body(interpreted)!.errors);
    }
    const r = await run(`{ broken { values } }`);
    expect(r.errors).toEqual([
      { message: 'Float cannot represent non numeric value: Infinity', path: ['broken', 0, 'values', 0], locations: [{ line: 1, column: 12 }], extensions: { code: 'INTERNAL_SERVER_ERROR' } },
    ]);
  });

  it("refuses a bad variable with the scalar's own message, BAD_USER_INPUT and HTTP 400, resolving nothing", async () => {
    const before = calls;
    const r = await run(`query($from: Day) { points(n: 1, from: $from) { id } }`, { from: 'yesterday' });
    expect(r.status).toBe(400);
    expect(r.data).toBeUndefined();
    expect(r.errors?.[0]?.message).toMatch(/Variable "\$from" got invalid value "yesterday"; Day must look like 2024-01-02/);
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(calls).toBe(before);
  });

  it('serves federation: _service and _entities', async () => {
    const sdl = await run(`{ _service { sdl } }`);
    expect((sdl.data as { _service: { sdl: string } })._service.sdl).toMatch(/type Point\s+@key\(fields: "id"\)/);
    const entities = await run(`query($r: [_Any!]!) { _entities(representations: $r) { ... on Point { id values } } }`, {
      r: [{ __typename: 'Point', id: '9' }],
    });
    expect(entities.errors).toBeUndefined();
    expect(entities.data).toEqual({ _entities: [{ id: '9', values: [1] }] });
  });
});
