/**
 * Subscriptions through the gateway: GraphQL over WebSocket (`graphql-ws`) on the gateway's port,
 * path `/graphql` (CONTRACT "Live data over GraphQL").
 *
 * Apollo Gateway executes queries and mutations but not subscriptions, so this module takes them:
 * each operation is parsed and validated against the supergraph's API schema here (an unknown
 * field fails at the gateway, as over HTTP), then forwarded as it is to the financial subgraph's
 * own graphql-ws endpoint (the only subgraph with a `Subscription` type), whose results are relayed
 * back unchanged. One upstream connection per client connection carries the client's connection
 * params and request id; a client's `complete` completes the upstream operation and a client that
 * disconnects closes its upstream connection, so the facade lets go of its Flight stream.
 *
 * A client that reads slower than its results arrive may have GATEWAY_SUBSCRIPTION_BUFFER results
 * waiting at the gateway; beyond that its operation ends with the error SUBSCRIBER_TOO_SLOW.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { closeWebSocketServer, MAX_BODY_BYTES, routeUpgrades } from '@flightdeck/graphql-http';
import {
  getOperationAST,
  GraphQLError,
  Kind,
  parse,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { Logger } from 'pino';
import WebSocket, { WebSocketServer } from 'ws';

export interface SubscriptionProxyOptions {
  http: Server;
  /** The supergraph's API schema now (undefined until the gateway has loaded one). */
  schema: () => GraphQLSchema | undefined;
  /** The financial subgraph's GraphQL URL now (http(s)://…/graphql); its graphql-ws endpoint is the same URL as ws(s)://. */
  upstreamUrl: () => string;
  /** Results one client operation may have waiting at the gateway before it is cut. */
  maxBuffered: number;
  logger: Logger;
}

export interface SubscriptionProxy {
  /** Client connections open now, and their upstream connections. */
  stats(): { clients: number; upstreams: number; operations: number };
  close(): Promise<void>;
}

const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

type ConnectionState = Record<PropertyKey, unknown> & {
  reqId: string;
  log: Logger;
  upstream?: Client;
};

/** `http://host/graphql` -> `ws://host/graphql` (https -> wss). */
export function webSocketUrl(httpUrl: string): string {
  const url = new URL(httpUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/**
 * The routing URL of subgraph `name` in a supergraph SDL (`enum join__Graph { X @join__graph(name:, url:) }`),
 * so subscriptions go where the gateway sends the subgraph's queries, whether composed or from SUPERGRAPH_FILE.
 */
export function routingUrl(supergraphSdl: string, name: string): string | undefined {
  const doc = parse(supergraphSdl);
  for (const def of doc.definitions) {
    if (def.kind !== Kind.ENUM_TYPE_DEFINITION || def.name.value !== 'join__Graph') continue;
    for (const value of def.values ?? []) {
      const directive = value.directives?.find((d) => d.name.value === 'join__graph');
      const arg = (n: string) => {
        const a = directive?.arguments?.find((x) => x.name.value === n);
        return a?.value.kind === Kind.STRING ? a.value.value : undefined;
      };
      if (arg('name') === name) return arg('url');
    }
  }
  return undefined;
}

function refusal(message: string, code: string): GraphQLError[] {
  return [new GraphQLError(message, { extensions: { code } })];
}

/** An upstream error as the client should see it: its message and extensions, and which subgraph. */
function relayed(e: GraphQLFormattedError): GraphQLError {
  return new GraphQLError(e.message, { extensions: { ...e.extensions, serviceName: 'financial' } });
}

/** Why an upstream operation failed, as one GraphQL error. */
function upstreamFault(err: unknown, url: string): GraphQLError {
  if (Array.isArray(err) && err.length > 0) return relayed(err[0] as GraphQLFormattedError);
  const unavailable = { extensions: { code: 'SERVICE_UNAVAILABLE', serviceName: 'financial' } };
  if (err instanceof Error) return new GraphQLError(`the financial subgraph's WebSocket ${url} failed: ${err.message}`, unavailable);
  const close = err as { code?: number; reason?: string } | undefined;
  const why = typeof close?.code === 'number' ? ` (close code ${close.code}${close.reason ? `: ${close.reason}` : ''})` : '';
  return new GraphQLError(`the financial subgraph's WebSocket ${url} is unavailable or closed${why}`, unavailable);
}

/**
 * Apollo Gateway cannot execute a subscription sent with HTTP POST: answer 400 BAD_REQUEST
 * pointing to the WebSocket endpoint instead of its 500.
 */
export function subscriptionsOverHttpPlugin(): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation }) {
          if (operation?.operation !== 'subscription') return;
          throw new GraphQLError('subscriptions run over WebSocket (graphql-ws) at ws://…/graphql on this port, not with HTTP POST', {
            extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
          });
        },
      };
    },
  };
}

export function proxySubscriptions(opts: SubscriptionProxyOptions): SubscriptionProxy {
  const { logger } = opts;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_BODY_BYTES });
  const stopRouting = routeUpgrades(opts.http, '/graphql', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  const upstreams = new Set<Client>();
  let operations = 0;

  const upstreamOf = (state: ConnectionState, connectionParams: Readonly<Record<string, unknown>> | undefined): Client => {
    if (state.upstream) return state.upstream;
    const reqId = state.reqId;
    // The client's request id goes upstream on the upgrade request, as the HTTP path sends it.
    class UpstreamSocket extends WebSocket {
      constructor(address: string | URL, protocols?: string | string[]) {
        super(address, protocols, { headers: { 'x-request-id': reqId } });
      }
    }
    const client = createClient({
      url: webSocketUrl(opts.upstreamUrl()),
      webSocketImpl: UpstreamSocket,
      connectionParams: { ...connectionParams },
      lazy: true,
      lazyCloseTimeout: 0,
      retryAttempts: 0,
    });
    upstreams.add(client);
    state.upstream = client;
    return client;
  };

  /**
   * One forwarded operation as an async iterator whose return() takes effect at once (an async
   * generator parked in an await would only see it at its next yield): the client's `complete` or
   * disconnect completes the upstream operation right away.
   */
  function forward(
    state: ConnectionState,
    payload: { query: string; variables?: Record<string, unknown> | null; operationName?: string | null; extensions?: Record<string, unknown> | null },
    connectionParams: Readonly<Record<string, unknown>> | undefined,
  ): AsyncGenerator<ExecutionResult> {
    const queue: ExecutionResult[] = [];
    let failure: GraphQLError | undefined;
    let done = false;
    let ended = false;
    let wake: (() => void) | undefined;
    const notify = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    operations++;
    const client = upstreamOf(state, connectionParams);
    const dispose = client.subscribe(payload, {
      next: (result) => {
        if (failure || done || ended) return;
        if (queue.length >= opts.maxBuffered) {
          failure = new GraphQLError(
            `this subscriber has ${opts.maxBuffered} results waiting at the gateway (GATEWAY_SUBSCRIPTION_BUFFER=${opts.maxBuffered}) and was cut; read faster or subscribe to less`,
            { extensions: { code: 'SUBSCRIBER_TOO_SLOW', limit: 'GATEWAY_SUBSCRIPTION_BUFFER', value: opts.maxBuffered } },
          );
          queue.length = 0;
          dispose();
        } else {
          // graphql-ws sends errors with their toJSON(): the upstream's plain objects become errors again.
          queue.push(result.errors ? { ...(result as ExecutionResult), errors: result.errors.map(relayed) } : (result as ExecutionResult));
        }
        notify();
      },
      error: (err) => {
        failure ??= upstreamFault(err, webSocketUrl(opts.upstreamUrl()));
        notify();
      },
      complete: () => {
        done = true;
        notify();
      },
    });
    const end = () => {
      if (ended) return;
      ended = true;
      operations--;
      queue.length = 0;
      dispose();
      notify();
    };
    const iterator = {
      next: async () => {
        for (;;) {
          if (ended) return { done: true, value: undefined };
          const result = queue.shift();
          if (result !== undefined) return { done: false, value: result };
          if (failure) {
            end();
            throw failure;
          }
          if (done) {
            end();
            return { done: true, value: undefined };
          }
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
      },
      return: async () => {
        end();
        return { done: true, value: undefined };
      },
      throw: async (err: unknown) => {
        end();
        throw err;
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    } as AsyncGenerator<ExecutionResult>;
    return iterator;
  }

  useServer<Record<string, unknown>, ConnectionState>(
    {
      onConnect: (ctx) => {
        const header = ctx.extra.request.headers['x-request-id'];
        const reqId = typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
        Object.assign(ctx.extra, { reqId, log: logger.child({ reqId, transport: 'graphql-ws' }) });
        return true;
      },
      onSubscribe: (ctx, _id, payload) => {
        const schema = opts.schema();
        if (schema === undefined) return refusal('the gateway has no supergraph yet; retry shortly', 'SERVICE_UNAVAILABLE');
        let document: DocumentNode;
        try {
          document = parse(payload.query);
        } catch (err) {
          return refusal((err as Error).message, 'GRAPHQL_PARSE_FAILED');
        }
        const errors = validate(schema, document);
        if (errors.length > 0) return errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }));
        const operation = getOperationAST(document, payload.operationName);
        if (operation === null || operation === undefined) return refusal('the document names no operation to run (or several and no operationName)', 'BAD_REQUEST');
        if (operation.operation !== 'subscription') {
          return refusal(`only subscriptions run over WebSocket; send this ${operation.operation} with HTTP POST /graphql`, 'BAD_REQUEST');
        }
        // What `subscribe` below forwards: the operation as the client sent it.
        return { schema, document, operationName: payload.operationName, variableValues: payload.variables, contextValue: { payload, ctx } };
      },
      subscribe: (args) => {
        const { payload, ctx } = args.contextValue as { payload: Parameters<typeof forward>[1]; ctx: { extra: ConnectionState; connectionParams?: Readonly<Record<string, unknown>> } };
        ctx.extra.log.info({ operationName: payload.operationName ?? undefined }, 'subscription forwarded');
        return forward(ctx.extra, payload, ctx.connectionParams);
      },
      onClose: (ctx, code) => {
        const state = ctx.extra;
        state.log?.info({ code }, 'graphql-ws client gone');
        if (state.upstream) {
          upstreams.delete(state.upstream);
          void state.upstream.dispose();
          state.upstream = undefined;
        }
      },
    },
    wss,
  );

  return {
    stats: () => ({ clients: wss.clients.size, upstreams: upstreams.size, operations }),
    close: async () => {
      stopRouting();
      // Clients are told first; the upstream connections go while they close.
      const closing = closeWebSocketServer(wss, 'the gateway is stopping');
      await Promise.all([...upstreams].map((c) => c.dispose()));
      upstreams.clear();
      await closing;
    },
  };
}

/** Something that announces each supergraph it loads (ApolloGateway). */
export interface SupergraphSource {
  onSchemaLoadOrUpdate(callback: (s: { apiSchema: GraphQLSchema; coreSupergraphSdl: string }) => void): unknown;
}

/**
 * The API schema and the financial subgraph's routing URL of the supergraph the gateway serves,
 * kept current (register before the gateway starts). `fallbackUrl`: FACADE_URL, until one loads.
 */
export function watchSupergraph(gateway: SupergraphSource, fallbackUrl: string): Pick<SubscriptionProxyOptions, 'schema' | 'upstreamUrl'> {
  let schema: GraphQLSchema | undefined;
  let url: string | undefined;
  gateway.onSchemaLoadOrUpdate(({ apiSchema, coreSupergraphSdl }) => {
    schema = apiSchema;
    url = routingUrl(coreSupergraphSdl, 'financial');
  });
  return { schema: () => schema, upstreamUrl: () => url ?? fallbackUrl };
}
