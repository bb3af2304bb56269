/**
 * The HTTP front: `POST /graphql` (and GET for queries) into Apollo, `GET /healthz` (liveness:
 * the process answers) and `GET /readyz` (readiness: the database answers, else 503).
 */
import { randomUUID } from 'node:crypto';
import { HttpMetrics, sendGraphQLResponse } from '@flightdeck/graphql-http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer, type HTTPGraphQLRequest } from '@apollo/server';
import type { Database } from '../db/connect.js';
import type { UserContext } from '../graphql/context.js';
import { createLoaders } from '../graphql/loaders.js';
import type { Logger } from '../logger.js';
import type { UserStore } from '../user-store.js';

/** Largest request body accepted; GraphQL documents for this schema are tiny. */
export const MAX_BODY_BYTES = 1024 * 1024;
const REQUEST_ID = /^[\w.:-]{1,128}$/;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface HandlerDeps {
  apollo: ApolloServer<UserContext>;
  database: Database;
  store: UserStore;
  logger: Logger;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** A transport-level failure, shaped like a GraphQL response so clients parse it the same way. */
function sendError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { errors: [{ message, extensions: { code: status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST' } }] }, headers);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (declared > MAX_BODY_BYTES) throw new HttpError(413, `request body over ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function isJson(req: IncomingMessage): boolean {
  const type = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  return type === 'application/json' || type === 'application/graphql-response+json';
}

export function createRequestHandler(deps: HandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { apollo, database, store, logger } = deps;
  const metrics = new HttpMetrics('user-service');

  async function graphql(req: IncomingMessage, res: ServerResponse, reqId: string, log: Logger): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    let body: unknown;
    if (method === 'POST') {
      const text = await readBody(req);
      if (isJson(req)) {
        try {
          body = JSON.parse(text);
        } catch {
          throw new HttpError(400, 'request body is not valid JSON');
        }
      } else {
        body = text;
      }
    }
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const httpGraphQLRequest: HTTPGraphQLRequest = { method, headers, search: url.search, body };
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest,
      context: async () => ({ store, loaders: createLoaders(store), logger: log, reqId }),
    });
    await sendGraphQLResponse(res, response, metrics);
  }

  async function ready(res: ServerResponse, log: Logger): Promise<void> {
    try {
      await database.ping();
      sendJson(res, 200, { status: 'ready', database: database.backend });
    } catch (error) {
      log.warn({ err: error }, 'database unreachable');
      sendJson(res, 503, { status: 'unavailable', database: database.backend, error: 'database unreachable' });
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse, reqId: string, log: Logger): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const method = (req.method ?? 'GET').toUpperCase();
    if (path === '/graphql') {
      if (method !== 'POST' && method !== 'GET') throw new HttpError(405, `${method} is not allowed on /graphql; use POST`);
      return graphql(req, res, reqId, log);
    }
    if (path === '/metrics' && method === 'GET') return metrics.send(res);
    if (path === '/healthz' || path === '/readyz') {
      if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, `${method} is not allowed on ${path}; use GET`);
      if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
      return ready(res, log);
    }
    throw new HttpError(404, `no route for ${method} ${path}; GraphQL is served at POST /graphql`);
  }

  return (req, res) => {
    const incoming = req.headers['x-request-id'];
    const reqId = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const log = logger.child({ reqId });
    const started = process.hrtime.bigint();
    res.setHeader('x-request-id', reqId);
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const known = ['/graphql', '/metrics', '/healthz', '/readyz'].includes(path) ? path : 'other';
      metrics.observe(known, res.statusCode, known === '/graphql' ? ms / 1000 : null);
      log.debug({ method: req.method, path: req.url, status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request done');
    });
    route(req, res, reqId, log).catch((error: unknown) => {
      if (res.headersSent) {
        log.error({ err: error }, 'request failed after the response started');
        res.destroy();
        return;
      }
      if (error instanceof HttpError) {
        log.info({ status: error.status, error: error.message }, 'request refused');
        const allow: Record<string, string> = error.status === 405 ? { allow: req.url?.startsWith('/graphql') ? 'GET, POST' : 'GET, HEAD' } : {};
        sendError(res, error.status, error.message, error.status === 413 ? { ...allow, connection: 'close' } : allow);
        return;
      }
      log.error({ err: error }, 'request failed');
      sendError(res, 500, 'internal error');
    });
  };
}
