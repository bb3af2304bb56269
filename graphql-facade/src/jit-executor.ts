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
import {
  execute,
  getVariableValues,
  GraphQLError,
  Kind,
  type DocumentNode,
  type ExecutionResult,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';

type GatewayInterface = ApolloServerOptionsWithGateway<BaseContext>['gateway'];
type GatewayExecutor = NonNullable<Awaited<ReturnType<GatewayInterface['load']>>['executor']>;
type SchemaListener = Parameters<GatewayInterface['onSchemaLoadOrUpdate']>[0];

/** Compiled operations kept (least recently used dropped first). */
export const DEFAULT_COMPILED_CACHE_SIZE = 500;

export interface JitExecutorOptions {
  cacheSize?: number;
  /**
   * A copy of `schema` to compile operations against: the same types, fields and resolvers, some
   * leaves typed for cheaper execution (column-lists.ts). Operations that read the schema itself
   * (`__schema`, `__type`, `_service`) still compile against `schema`, so what clients see of the
   * schema is `schema`'s.
   */
  executionSchema?: GraphQLSchema;
}

/**
 * The message an execution-schema leaf throws where only the public schema's own execution answers
 * right (e.g. a column with an item that is not a Float): the operation then runs on `schema`.
 */
export const RUN_ON_PUBLIC_SCHEMA = 'flightdeck: answer on the public schema';

/**
 * graphql-jit's own errors (a value a leaf type refuses, a null in a non-null field, a resolver's
 * plain Error) carry `extensions: undefined`, where graphql-js gives `{}`. Apollo reads
 * `extensions.code` of every error, fails on those, and answers "Internal server error" in their
 * place; remade as graphql-js errors they keep their message, path and locations.
 */
function withExtensions(result: ExecutionResult): ExecutionResult {
  if (result.errors === undefined || result.errors.every((e) => e.extensions !== undefined)) return result;
  const errors = result.errors.map((e) => {
    if (e.extensions !== undefined) return e;
    const remade = new GraphQLError(e.message, { path: e.path, originalError: e.originalError ?? undefined, extensions: {} });
    // graphql-js computes locations from AST nodes, which graphql-jit's errors no longer hold.
    (remade as { locations: GraphQLError['locations'] }).locations = e.locations;
    return remade;
  });
  return { ...result, errors };
}

/** Root fields whose answer is the schema itself. */
const SCHEMA_FIELDS = new Set(['__schema', '__type', '_service']);

/** Whether the operation selects a schema-reading root field (through fragments too). */
export function readsSchema(document: DocumentNode, operation: OperationDefinitionNode): boolean {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const seen = new Set<string>();
  const visit = (set: SelectionSetNode): boolean =>
    set.selections.some((s) => {
      if (s.kind === Kind.FIELD) return SCHEMA_FIELDS.has(s.name.value);
      if (s.kind === Kind.INLINE_FRAGMENT) return visit(s.selectionSet);
      if (seen.has(s.name.value)) return false;
      seen.add(s.name.value);
      const fragment = fragments.get(s.name.value);
      return fragment !== undefined && visit(fragment.selectionSet);
    });
  return visit(operation.selectionSet);
}

/** An operation compiled for the execution schema (onExecution) or the public one, and the public fallback once needed. */
interface CompiledEntry {
  query: CompiledQuery;
  onExecution: boolean;
  onPublic?: CompiledQuery;
}

/** A bounded LRU of compiled operations. */
class CompiledCache {
  readonly #entries = new Map<string, CompiledEntry>();

  constructor(private readonly size: number) {}

  get(key: string): CompiledEntry | undefined {
    const hit = this.#entries.get(key);
    if (hit !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, value: CompiledEntry): void {
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
  const executionSchema = options.executionSchema ?? schema;

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
    const compile = (target: GraphQLSchema) => compileQuery(target, document, request.operationName ?? undefined);
    let entry = cache.get(key);
    if (entry === undefined) {
      const onExecution = executionSchema !== schema && !readsSchema(document, operation);
      const result = compile(onExecution ? executionSchema : schema);
      if (!isCompiledQuery(result)) return result as ExecutionResult;
      entry = { query: result, onExecution };
      cache.set(key, entry);
    }
    const result = withExtensions((await entry.query.query(undefined, contextValue, variables)) as ExecutionResult);
    if (!entry.onExecution || result.errors?.some((e) => e.message === RUN_ON_PUBLIC_SCHEMA) !== true) return result;
    // A mutation's resolvers must not run twice: its answer stands, that error included.
    if (operation.operation !== 'query') return result;
    // Rare (bad values from a resolver): the public schema's execution answers; the request's
    // loaders already hold what the first run read.
    if (entry.onPublic === undefined) {
      const compiled = compile(schema);
      if (!isCompiledQuery(compiled)) return compiled as ExecutionResult;
      entry.onPublic = compiled;
    }
    return withExtensions((await entry.onPublic.query(undefined, contextValue, variables)) as ExecutionResult);
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
