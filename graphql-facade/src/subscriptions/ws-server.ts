/**
 * GraphQL over WebSocket (the `graphql-ws` protocol, subprotocol `graphql-transport-ws`) on the
 * facade's HTTP port, path `/graphql`: the gateway forwards its clients' subscriptions here. Each
 * operation is parsed and validated with the same rules as an HTTP request (the facade's depth,
 * alias and cost limits); only subscriptions run over it (queries and mutations go to HTTP POST).
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { closeWebSocketServer, routeUpgrades } from '@flightdeck/graphql-http';
import { getOperationAST, GraphQLError, parse, specifiedRules, validate, type DocumentNode, type GraphQLSchema, type ValidationRule } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { MAX_BODY_BYTES } from '@flightdeck/graphql-http';

export interface GraphqlWsOptions {
  http: Server;
  schema: GraphQLSchema;
  /** Rules besides graphql's own (the facade's query limits). */
  validationRules: ValidationRule[];
  logger: Logger;
}

export interface GraphqlWsServer {
  /** WebSocket connections open now. */
  readonly connections: number;
  /** Closes every connection (their subscriptions end) and stops taking upgrades. */
  close(): Promise<void>;
}

const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

function refusal(message: string, code: string): GraphQLError[] {
  return [new GraphQLError(message, { extensions: { code } })];
}

export function serveGraphqlWs(opts: GraphqlWsOptions): GraphqlWsServer {
  const { schema, logger } = opts;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_BODY_BYTES });
  const stopRouting = routeUpgrades(opts.http, '/graphql', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  const rules = [...specifiedRules, ...opts.validationRules];

  useServer<Record<string, unknown>, { reqId?: string; log?: Logger }>(
    {
      onConnect: (ctx) => {
        const header = ctx.extra.request.headers['x-request-id'];
        const reqId = typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
        Object.assign(ctx.extra, { reqId, log: logger.child({ reqId, transport: 'graphql-ws' }) });
        return true;
      },
      onSubscribe: (ctx, id, payload) => {
        const log = (ctx.extra as { log?: Logger }).log ?? logger;
        let document: DocumentNode;
        try {
          document = parse(payload.query);
        } catch (err) {
          return refusal((err as Error).message, 'GRAPHQL_PARSE_FAILED');
        }
        const errors = validate(schema, document, rules);
        if (errors.length > 0) {
          return errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { ...e.extensions, code: e.extensions.code ?? 'GRAPHQL_VALIDATION_FAILED' } }));
        }
        const operation = getOperationAST(document, payload.operationName);
        if (operation === null || operation === undefined) return refusal('the document names no operation to run (or several and no operationName)', 'BAD_REQUEST');
        if (operation.operation !== 'subscription') {
          return refusal(`only subscriptions run over WebSocket; send this ${operation.operation} with HTTP POST /graphql`, 'BAD_REQUEST');
        }
        return {
          schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: { log: log.child({ subscription: id }) },
        };
      },
      onError: (ctx, _id, _payload, errors) => {
        const log = (ctx.extra as { log?: Logger }).log ?? logger;
        for (const e of errors) log.info({ code: e.extensions?.code, error: e.message }, 'graphql-ws operation refused or failed');
      },
    },
    wss,
  );

  return {
    get connections() {
      return wss.clients.size;
    },
    close: async () => {
      stopRouting();
      await closeWebSocketServer(wss, 'the server is stopping');
    },
  };
}
