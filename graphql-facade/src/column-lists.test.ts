/**
 * List-of-Float fields executed as column scalars answer what the list types answer, and the
 * execution copy of the schema never shows through: introspection and `_service` read the public one.
 */
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { execute, parse, type DocumentNode } from 'graphql';
import { compileQuery, isCompiledQuery } from 'graphql-jit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { columnScalars, columnTypeDefs } from './column-lists.js';
import { jitGateway } from './jit-executor.js';

const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
  type Query { series(kind: String!): Series  plain: [Float] }
  type Series @key(fields: "symbol") { symbol: String! ts: [Float!]! open: [Float] volume: [Float]! }
`);
const COLUMNS = { Series: ['ts', 'open', 'volume'] };

const SERIES: Record<string, unknown> = {
  typed: { symbol: 'A', ts: Float64Array.from([1704067200000, 1704067260000]), open: Float64Array.from([189.59, 0.1 + 0.2]), volume: [23061387, null] },
  empty: { symbol: 'E', ts: new Float64Array(0), open: null, volume: [] },
  coerced: { symbol: 'C', ts: [1, 2], open: [true, '2.5'], volume: [0] },
  nullTs: { symbol: 'N', ts: [1, null], open: [1, 2], volume: [1, 2] },
  infinite: { symbol: 'I', ts: [1, 2], open: [1, 2], volume: [Infinity, 1] },
};
const resolvers = {
  Query: { series: (_: unknown, { kind }: { kind: string }) => SERIES[kind], plain: () => [1.5, null] },
  Series: { __resolveReference: (ref: { symbol: string }) => ({ ...(SERIES.typed as object), symbol: ref.symbol }) },
};
const schema = buildSubgraphSchema({ typeDefs, resolvers: resolvers as never });
const executionSchema = buildSubgraphSchema({ typeDefs: columnTypeDefs(typeDefs, COLUMNS), resolvers: { ...resolvers, ...columnScalars } as never });

async function both(query: string): Promise<[unknown, unknown]> {
  const document: DocumentNode = parse(query);
  const reference = await execute({ schema, document });
  const compiled = compileQuery(executionSchema, document);
  if (!isCompiledQuery(compiled)) throw new Error('did not compile');
  return [reference, await compiled.query(undefined, {}, {})];
}

describe('column scalars', () => {
  it('answer byte for byte what the list types answer', async () => {
    for (const kind of ['typed', 'empty']) {
      const [reference, columns] = await both(`{ series(kind: "${kind}") { symbol ts open volume } plain }`);
      expect(JSON.stringify(columns), kind).toBe(JSON.stringify(reference));
      expect((columns as { errors?: unknown }).errors, kind).toBeUndefined();
    }
    const [, entities] = await both(`{ _entities(representations: [{ __typename: "Series", symbol: "Z" }]) { ... on Series { symbol ts open } } }`);
    expect(entities).toEqual({ data: { _entities: [{ symbol: 'Z', ts: [1704067200000, 1704067260000], open: [189.59, 0.30000000000000004] }] } });
  });

  it('are declared only for lists of Float that exist', () => {
    expect(() => columnTypeDefs(typeDefs, { Series: ['symbol'] })).toThrow(/Series.symbol is not a list of Float/);
    expect(() => columnTypeDefs(typeDefs, { Series: ['close'] })).toThrow(/no such field Series.close/);
  });
});

describe('jitGateway with an execution schema', () => {
  let server: ApolloServer;

  beforeAll(async () => {
    server = new ApolloServer({ gateway: jitGateway(schema, { executionSchema }), plugins: [ApolloServerPluginInlineTraceDisabled()] });
    await server.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function run(query: string) {
    const res = await server.executeOperation({ query }, {});
    if (res.body.kind !== 'single') throw new Error('expected a single result');
    expect(res.body.singleResult.errors).toBeUndefined();
    return res.body.singleResult.data as Record<string, any>;
  }

  it('runs operations on the columns', async () => {
    expect(await run(`{ series(kind: "typed") { ts volume } }`)).toEqual({ series: { ts: [1704067200000, 1704067260000], volume: [23061387, null] } });
  });

  it('answers on the public schema where a column holds an item that is not a Float, as the list types do', async () => {
    const reference = new ApolloServer({ gateway: jitGateway(schema), plugins: [ApolloServerPluginInlineTraceDisabled()] });
    await reference.start();
    try {
      for (const kind of ['coerced', 'nullTs', 'infinite']) {
        const query = `{ series(kind: "${kind}") { symbol ts open volume } }`;
        const [columns, lists] = await Promise.all([server, reference].map((s) => s.executeOperation({ query }, {})));
        expect(JSON.stringify(columns!.body), kind).toBe(JSON.stringify(lists!.body));
      }
    } finally {
      await reference.stop();
    }
    // Checks the check: the list walk keeps the list and nulls the bad item, which one column leaf could not.
    const res = await server.executeOperation({ query: `{ series(kind: "infinite") { volume } }` }, {});
    if (res.body.kind !== 'single') throw new Error('expected a single result');
    expect(res.body.singleResult.data).toEqual({ series: { volume: [null, 1] } });
    expect(res.body.singleResult.errors?.map((e) => [e.message, e.path])).toEqual([['Float cannot represent non numeric value: Infinity', ['series', 'volume', 0]]]);
  });

  it('shows the public schema to introspection and _service, fragments included', async () => {
    const typeOf = `fields { name type { kind ofType { kind ofType { kind name } } } }`;
    const direct = await run(`{ __type(name: "Series") { ${typeOf} } }`);
    const viaFragment = await run(`query { ...Q } fragment Q on Query { ... on Query { __type(name: "Series") { ${typeOf} } } }`);
    for (const data of [direct, viaFragment]) {
      const ts = data.__type.fields.find((f: { name: string }) => f.name === 'ts');
      expect(ts.type).toEqual({ kind: 'NON_NULL', ofType: { kind: 'LIST', ofType: { kind: 'NON_NULL', name: null } } });
    }
    const types = (await run(`{ __schema { types { name } } }`)).__schema.types.map((t: { name: string }) => t.name);
    expect(types).not.toContain('FloatColumn');
    expect(types).not.toContain('NonNullFloatColumn');
    const sdl = (await run(`{ _service { sdl } }`))._service.sdl as string;
    expect(sdl).toMatch(/ts: \[Float!\]!/);
    expect(sdl).not.toMatch(/FloatColumn/);
  });
});
