/**
 * The gateway's fast path for operations that one subgraph answers whole.
 *
 * Apollo Gateway plans every operation, sends the subgraph a rewritten operation, and then walks
 * the whole answer again to shape it (`computeResponse`: every leaf value re-validated, every
 * object rebuilt): for a chart's 10,080-row `series` or a day of 1,440 bars that walk costs more
 * CPU than the subgraph's own work. When the supergraph says that every field the operation
 * selects is resolved by the same subgraph, the subgraph's answer to the client's operation IS
 * the gateway's answer, so the operation is sent to that subgraph as the client wrote it and the
 * answer passed on (errors get `extensions.serviceName` as Apollo Gateway gives them).
 *
 * "Answered whole" is decided once per document, from the composed supergraph's join
 * directives, conservatively; anything else goes through Apollo Gateway unchanged:
 * - one query operation (no mutation or subscription), no directive but `@skip`/`@include`;
 * - every field, in the operation and in every fragment, is resolvable by that subgraph
 *   (`@join__field(graph:)` names it, or the field has no `@join__field` and its type has
 *   `@join__type(graph:)` for it), with the supergraph's own type there (no `type:` override) and
 *   no `requires`, `provides`, `external`, `override`;
 * - no selection on an interface or union (no `_entities`, no `__schema`/`__type`);
 * - every variable's type is a built-in scalar or a type the subgraph has.
 */
import type { ApolloGateway, GraphQLDataSource } from '@apollo/gateway';
import type { ApolloServerOptionsWithGateway } from '@apollo/server';
import {
  getNamedType,
  GraphQLError,
  isObjectType,
  Kind,
  parse,
  type DirectiveNode,
  type DocumentNode,
  type GraphQLFormattedError,
  type GraphQLObjectType,
  type GraphQLSchema,
  type SelectionSetNode,
  type TypeNode,
} from 'graphql';
import type { Logger } from 'pino';
import type { GatewayContext } from './subgraph-data-source.js';

type GatewayInterface = ApolloServerOptionsWithGateway<GatewayContext>['gateway'];
type GatewayExecutor = NonNullable<Awaited<ReturnType<GatewayInterface['load']>>['executor']>;
type SchemaListener = Parameters<GatewayInterface['onSchemaLoadOrUpdate']>[0];
type ExecutionResult = Awaited<ReturnType<GatewayExecutor>>;

const BUILT_IN_SCALARS = new Set(['String', 'Int', 'Float', 'Boolean', 'ID']);
const ALLOWED_DIRECTIVES = new Set(['skip', 'include']);
const ROUTES_KEPT = 1000;

/** Which subgraphs resolve what, read from a supergraph SDL. */
export interface SupergraphRouting {
  /** Subgraph name by join__Graph enum value (`FINANCIAL` -> `financial`). */
  graphs: Map<string, string>;
  /** Per type: the graph enum values of its `@join__type`s. */
  typeGraphs: Map<string, Set<string>>;
  /** Per `Type.field`: the graphs that resolve it on their own (absent: every graph of its type). */
  fieldGraphs: Map<string, Set<string>>;
}

function argument(directive: DirectiveNode, name: string): string | boolean | undefined {
  const arg = directive.arguments?.find((a) => a.name.value === name);
  if (arg === undefined) return undefined;
  const v = arg.value;
  return v.kind === Kind.ENUM || v.kind === Kind.STRING ? v.value : v.kind === Kind.BOOLEAN ? v.value : undefined;
}

/** The join spec's directive prefix (`join` unless the supergraph's `@link` renames it). */
function joinPrefix(document: DocumentNode): string {
  for (const def of document.definitions) {
    if (def.kind !== Kind.SCHEMA_DEFINITION && def.kind !== Kind.SCHEMA_EXTENSION) continue;
    for (const d of def.directives ?? []) {
      const url = argument(d, 'url');
      if (d.name.value === 'link' && typeof url === 'string' && url.startsWith('https://specs.apollo.dev/join/')) {
        const as = argument(d, 'as');
        return typeof as === 'string' ? as : 'join';
      }
    }
  }
  return 'join';
}

/** Reads the join directives of a composed supergraph. */
export function supergraphRouting(supergraphSdl: string): SupergraphRouting {
  const document = parse(supergraphSdl);
  const prefix = joinPrefix(document);
  const routing: SupergraphRouting = { graphs: new Map(), typeGraphs: new Map(), fieldGraphs: new Map() };
  for (const def of document.definitions) {
    if (def.kind === Kind.ENUM_TYPE_DEFINITION && def.name.value === `${prefix}__Graph`) {
      for (const value of def.values ?? []) {
        const graph = value.directives?.find((d) => d.name.value === `${prefix}__graph`);
        const name = graph && argument(graph, 'name');
        if (typeof name === 'string') routing.graphs.set(value.name.value, name);
      }
    }
    if (!('name' in def) || def.name === undefined || !('directives' in def)) continue;
    const typeName = def.name.value;
    const graphs = new Set<string>();
    for (const d of def.directives ?? []) {
      const graph = d.name.value === `${prefix}__type` ? argument(d, 'graph') : undefined;
      if (typeof graph === 'string') graphs.add(graph);
    }
    if (graphs.size > 0) routing.typeGraphs.set(typeName, graphs);
    if (def.kind !== Kind.OBJECT_TYPE_DEFINITION && def.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
    for (const field of def.fields ?? []) {
      const joins = field.directives?.filter((d) => d.name.value === `${prefix}__field`) ?? [];
      if (joins.length === 0) continue;
      const resolvers = new Set<string>();
      for (const join of joins) {
        const graph = argument(join, 'graph');
        const plain = ['requires', 'provides', 'type', 'override', 'external', 'usedOverridden'].every((a) => argument(join, a) === undefined || argument(join, a) === false);
        if (typeof graph === 'string' && plain) resolvers.add(graph);
      }
      routing.fieldGraphs.set(`${typeName}.${field.name.value}`, resolvers);
    }
  }
  return routing;
}

function namedTypeOf(type: TypeNode): string {
  return type.kind === Kind.NAMED_TYPE ? type.name.value : namedTypeOf(type.type);
}

/**
 * The one subgraph (its name) that answers the operation whole, or undefined (see the module comment).
 */
export function singleSubgraphOf(routing: SupergraphRouting, schema: GraphQLSchema, document: DocumentNode): string | undefined {
  const operations = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
  const [operation] = operations;
  if (operations.length !== 1 || operation === undefined || operation.kind !== Kind.OPERATION_DEFINITION || operation.operation !== 'query') return undefined;
  const queryType = schema.getQueryType();
  if (queryType === undefined || queryType === null) return undefined;
  let candidates: Set<string> | undefined = routing.typeGraphs.get(queryType.name);
  const narrow = (graphs: Set<string> | undefined): boolean => {
    if (graphs === undefined || candidates === undefined) return false;
    candidates = new Set([...candidates].filter((g) => graphs.has(g)));
    return candidates.size > 0;
  };
  const fragments = new Map<string, { typeName: string; selectionSet: SelectionSetNode }>();
  for (const def of document.definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, { typeName: def.typeCondition.name.value, selectionSet: def.selectionSet });
    else if (def.kind !== Kind.OPERATION_DEFINITION) return undefined;
  }
  const plainDirectives = (directives: readonly DirectiveNode[] | undefined) => (directives ?? []).every((d) => ALLOWED_DIRECTIVES.has(d.name.value));

  const walk = (type: GraphQLObjectType, selectionSet: SelectionSetNode): boolean => {
    for (const selection of selectionSet.selections) {
      if (!plainDirectives(selection.directives)) return false;
      if (selection.kind === Kind.FRAGMENT_SPREAD || selection.kind === Kind.INLINE_FRAGMENT) {
        const target = selection.kind === Kind.FRAGMENT_SPREAD ? fragments.get(selection.name.value) : undefined;
        if (selection.kind === Kind.FRAGMENT_SPREAD && target === undefined) return false;
        const condition = selection.kind === Kind.FRAGMENT_SPREAD ? target!.typeName : selection.typeCondition?.name.value;
        if (condition !== undefined && condition !== type.name) return false;
        if (!walk(type, selection.kind === Kind.FRAGMENT_SPREAD ? target!.selectionSet : selection.selectionSet)) return false;
        continue;
      }
      const name = selection.name.value;
      if (name === '__typename') continue;
      if (name.startsWith('__')) return false;
      const field = type.getFields()[name];
      if (field === undefined) return false;
      if (!narrow(routing.fieldGraphs.get(`${type.name}.${name}`) ?? routing.typeGraphs.get(type.name))) return false;
      const named = getNamedType(field.type);
      if (selection.selectionSet === undefined) continue;
      if (!isObjectType(named) || !narrow(routing.typeGraphs.get(named.name))) return false;
      if (!walk(named, selection.selectionSet)) return false;
    }
    return true;
  };

  if (!plainDirectives(operation.directives) || !walk(queryType, operation.selectionSet)) return undefined;
  for (const variable of operation.variableDefinitions ?? []) {
    const typeName = namedTypeOf(variable.type);
    if (!BUILT_IN_SCALARS.has(typeName) && !narrow(routing.typeGraphs.get(typeName))) return undefined;
    if (!plainDirectives(variable.directives)) return undefined;
  }
  const chosen = candidates === undefined ? undefined : [...(candidates as Set<string>)][0];
  return chosen === undefined ? undefined : routing.graphs.get(chosen);
}

/** An error of the subgraph as Apollo Gateway passes it on: its message, path and extensions, plus `serviceName`. */
function downstreamError(error: GraphQLFormattedError, serviceName: string): GraphQLError {
  const extensions = { ...error.extensions, serviceName } as Record<string, unknown>;
  if (extensions.code === undefined) extensions.code = 'DOWNSTREAM_SERVICE_ERROR';
  return new GraphQLError(error.message || `Error while fetching subquery from service "${serviceName}"`, {
    ...(error.path === undefined ? {} : { path: error.path }),
    extensions,
  });
}

export interface SingleSubgraphOptions {
  /** The data source of a subgraph, by name (the one the gateway's own `buildService` made); undefined: none yet. */
  dataSource(name: string): GraphQLDataSource<GatewayContext> | undefined;
  logger: Logger;
}

/**
 * Wraps Apollo Gateway as Apollo Server's gateway: operations one subgraph answers whole go to it
 * directly; everything else (and the schema, start-up, composition, polling) is Apollo Gateway's.
 */
export interface SingleSubgraphGateway extends GatewayInterface {
  /** Operations answered by one subgraph without the planner, so far. */
  readonly passedThrough: number;
  /**
   * The subgraph that answers `query` whole (undefined: the planner's), for a caller that sends
   * it there itself; undefined too when the query does not parse or `operationName` names
   * another operation (Apollo Server then gives its own error).
   */
  routeOf(query: string, operationName: string | undefined): string | undefined;
}

export function singleSubgraphGateway(inner: ApolloGateway, options: SingleSubgraphOptions): SingleSubgraphGateway {
  let state: { routing: SupergraphRouting; schema: GraphQLSchema; routes: Map<string, string | undefined>; texts: Map<string, string | undefined> } | undefined;
  let passedThrough = 0;
  const listeners = new Set<SchemaListener>();

  const track = ({ apiSchema, coreSupergraphSdl }: { apiSchema: GraphQLSchema; coreSupergraphSdl: string }) => {
    try {
      state = { routing: supergraphRouting(coreSupergraphSdl), schema: apiSchema, routes: new Map(), texts: new Map() };
    } catch (err) {
      state = undefined;
      options.logger.warn({ err }, 'supergraph not understood for the single-subgraph path; every operation goes through the query planner');
    }
  };

  const wrap = (executor: GatewayExecutor): GatewayExecutor => async (requestContext) => {
    const current = state;
    const { document, request, queryHash, context } = requestContext;
    const query = requestContext.source ?? request.query;
    if (current === undefined || query === undefined) return executor(requestContext);
    const key = `${queryHash}\u0000${request.operationName ?? ''}`;
    let route = current.routes.get(key);
    if (!current.routes.has(key)) {
      route = singleSubgraphOf(current.routing, current.schema, document);
      if (current.routes.size >= ROUTES_KEPT) current.routes.clear();
      current.routes.set(key, route);
    }
    const dataSource = route === undefined ? undefined : options.dataSource(route);
    if (route === undefined || dataSource === undefined) return executor(requestContext);
    let response: Awaited<ReturnType<GraphQLDataSource<GatewayContext>['process']>>;
    try {
      response = await dataSource.process({
        // GraphQLDataSourceRequestKind.INCOMING_OPERATION (the enum is not exported by @apollo/gateway).
        kind: 'incoming operation',
        request: { query, variables: request.variables ?? {}, ...(request.operationName ? { operationName: request.operationName } : {}) },
        incomingRequestContext: requestContext,
        context,
        document,
      } as never);
    } catch {
      // The subgraph could not be asked (down, timed out, not GraphQL): the planner's path gives the
      // answer Apollo Gateway gives for that (its error, nulls where the operation allows them).
      return executor(requestContext);
    }
    passedThrough++;
    const result: ExecutionResult = { data: response.data ?? null };
    if (response.errors !== undefined && response.errors.length > 0) result.errors = response.errors.map((e) => downstreamError(e, route!));
    return result;
  };

  const routeOfText = (current: NonNullable<typeof state>, query: string, operationName: string | undefined): string | undefined => {
    let document: DocumentNode;
    try {
      document = parse(query);
    } catch {
      return undefined;
    }
    const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
    if (operationName !== undefined && (operation?.kind !== Kind.OPERATION_DEFINITION || operation.name?.value !== operationName)) return undefined;
    return singleSubgraphOf(current.routing, current.schema, document);
  };

  return {
    get passedThrough() {
      return passedThrough;
    },
    routeOf(query, operationName) {
      const current = state;
      if (current === undefined) return undefined;
      const key = `${query}\u0000${operationName ?? ''}`;
      if (current.texts.has(key)) return current.texts.get(key);
      const route = routeOfText(current, query, operationName);
      if (current.texts.size >= ROUTES_KEPT) current.texts.clear();
      current.texts.set(key, route);
      return route;
    },
    onSchemaLoadOrUpdate(listener) {
      listeners.add(listener);
      const unsubscribe = inner.onSchemaLoadOrUpdate((schemaContext) => {
        track(schemaContext);
        listener(schemaContext);
      });
      return () => {
        listeners.delete(listener);
        unsubscribe();
      };
    },
    async load(loadOptions) {
      const loaded = await inner.load(loadOptions as never);
      return { ...loaded, executor: loaded.executor === null ? null : wrap(loaded.executor as unknown as GatewayExecutor) };
    },
    stop: () => inner.stop(),
  };
}
