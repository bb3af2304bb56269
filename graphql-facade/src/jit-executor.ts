/**
 * The facade's executor: graphql-jit compiles each operation once into a JavaScript function (field
 * resolution, list walking and leaf serialisation inlined), cached by the query text's hash and
 * operation name; graphql-js's `execute` interprets the document again for every request and every
 * list item, which costs most of a large `bars` or `series` answer's time.
 *
 * Apollo Server takes a custom executor through its gateway interface (`ApolloServerOptionsWithGateway`):
 * this "gateway" only hands Apollo the facade's own schema and the executor, so parsing,
 * validation (with the facade's query limits), plugins, error formatting and the HTTP handling
 * stay Apollo's. Variables are checked by graphql-js first, so a refused variable reads exactly as
 * before (graphql-jit would replace a scalar's own message, e.g. DateTime's, by "Expected type").
 * Subscriptions are not compiled: they run on graphql-js as before.
 */
import type { ApolloServerOptionsWithGateway, BaseContext } from '@apollo/server';
import { execute, getVariableValues, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';

type GatewayInterface = ApolloServerOptionsWithGateway<BaseContext>['gateway'];
type GatewayExecutor = NonNullable<Awaited<ReturnType<GatewayInterface['load']>>['executor']>;
type SchemaListener = Parameters<GatewayInterface['onSchemaLoadOrUpdate']>[0];

/** Compiled operations kept (least recently used dropped first). */
export const DEFAULT_COMPILED_CACHE_SIZE = 500;

export interface JitExecutorOptions {
  cacheSize?: number;
}

/** A bounded LRU of compiled operations. */
class CompiledCache {
  readonly #entries = new Map<string, CompiledQuery>();

  constructor(private readonly size: number) {}

  get(key: string): CompiledQuery | undefined {
    const hit = this.#entries.get(key);
    if (hit !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, value: CompiledQuery): void {
    if (this.#entries.size >= this.size) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(key, value);
  }

  get length(): number {
    return this.#entries.size;
  }
}

export interface JitGateway extends GatewayInterface {
  /** How many compiled operations are cached (for tests). */
  readonly compiledOperations: number;
}

/** The object to pass as ApolloServer's `gateway` to run `schema` with graphql-jit. */
export function jitGateway(schema: GraphQLSchema, options: JitExecutorOptions = {}): JitGateway {
  const cache = new CompiledCache(options.cacheSize ?? DEFAULT_COMPILED_CACHE_SIZE);
  const listeners = new Set<SchemaListener>();

  const executor: GatewayExecutor = async (requestContext) => {
    // Apollo's gateway request context carries the GraphQL context as `context`.
    const { document, operation, request, queryHash, context: contextValue } = requestContext;
    const variables = request.variables ?? {};
    if (operation.operation === 'subscription') {
      return (await execute({ schema, document, operationName: request.operationName, variableValues: variables, contextValue })) as ExecutionResult;
    }
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables, { maxErrors: 50 });
    if (coerced.errors !== undefined) return { errors: coerced.errors };
    const key = `${queryHash}\u0000${request.operationName ?? ''}`;
    let compiled = cache.get(key);
    if (compiled === undefined) {
      const result = compileQuery(schema, document, request.operationName ?? undefined);
      if (!isCompiledQuery(result)) return result as ExecutionResult;
      compiled = result;
      cache.set(key, compiled);
    }
    return (await compiled.query(undefined, contextValue, variables)) as ExecutionResult;
  };

  return {
    get compiledOperations() {
      return cache.length;
    },
    onSchemaLoadOrUpdate(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    async load() {
      // Apollo takes the schema from this event; the supergraph SDL it carries is only reported
      // to Apollo's schema registry, which this server does not use.
      for (const listener of listeners) listener({ apiSchema: schema, coreSupergraphSdl: '' });
      return { executor };
    },
    async stop() {
      listeners.clear();
    },
  };
}
