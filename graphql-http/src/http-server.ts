/**
 * The one HTTP front of the three GraphQL processes (facade, user service, gateway), on node:http:
 * `POST|GET /graphql` into Apollo Server, `GET /healthz` (liveness), `GET /readyz` (readiness, 503
 * while a dependency is down) and `GET /metrics` (Prometheus). Apollo Server 5 ships no HTTP
 * framework integration in core; this is its standalone server minus Express, plus the probes,
 * request ids and the body limit.
 *
 * - Apollo's answers are written as bytes from reused buffers (encoded-body.ts).
 * - Every response carries `x-request-id`: the client's when it is 1-128 of `A-Z a-z 0-9 _ . : -`,
 *   else a new UUID. The context factory gets it, with a child logger that logs it.
 * - Transport faults get a GraphQL-shaped body, `{"errors":[{"message":…,"extensions":{"code":…}}]}`:
 *   400 `BAD_REQUEST` (body not JSON), 404 `NOT_FOUND` (no such route), 405 `METHOD_NOT_ALLOWED`
 *   (with `allow`), 413 `PAYLOAD_TOO_LARGE`, 500 `INTERNAL_SERVER_ERROR` (message `internal error`;
 *   the cause is logged, never sent).
 * - A body over MAX_BODY_BYTES (a Content-Length over it is refused before a byte of the body is
 *   read) is answered at once: the whole 413 with `connection: close`. The connection then keeps
 *   reading, and discarding, what the client still sends until its body ends, it closes, or
 *   LINGER_MS pass; only then is it closed. Closing while the client is still sending would reset
 *   the connection, and a reset can destroy the 413 in the client's receive buffer before the client
 *   reads it (the "lingering close" of Apache and nginx). A keep-alive client opens a new connection
 *   for its next request.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeaderMap, type ApolloServer, type BaseContext, type HTTPGraphQLResponse } from '@apollo/server';
import type { Logger } from 'pino';
import { BodyBuffers, ENCODED_BODY, EncodedBody, withEncodedBody } from './encoded-body.js';
import { HttpMetrics } from './http-metrics.js';

/** Largest request body accepted; GraphQL documents for these schemas are small. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** How long a connection refused with 413 keeps discarding the rest of the body before it is closed. */
const LINGER_MS = 5000;
const REQUEST_ID = /^[\w.:-]{1,128}$/;
/** Routes and the methods each allows. */
const ROUTES: Readonly<Record<string, readonly string[]>> = {
  '/graphql': ['GET', 'POST'],
  '/healthz': ['GET', 'HEAD'],
  '/readyz': ['GET', 'HEAD'],
  '/metrics': ['GET', 'HEAD'],
};
const CODE_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'BAD_REQUEST',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  500: 'INTERNAL_SERVER_ERROR',
};

/** What the front knows of a request before the GraphQL context is made. */
export interface RequestScope {
  reqId: string;
  /** The process logger's child for this request (`reqId` bound). */
  log: Logger;
}

export interface HttpFrontOptions<TContext extends BaseContext> {
  apollo: ApolloServer<TContext>;
  context: (req: IncomingMessage, scope: RequestScope) => Promise<TContext>;
  /** Readiness: resolves with details, rejects when not ready (a {@link NotReady} adds details to the 503). */
  ready: () => Promise<Record<string, unknown>>;
  logger: Logger;
  /** Labels the process's metrics (`service` label) at `GET /metrics`. */
  service: string;
  /**
   * Answers a `POST /graphql` JSON request without Apollo Server when it can (the gateway's
   * pass-through of single-subgraph operations); undefined leaves the request to Apollo Server.
   */
  forward?: (request: ForwardRequest) => Promise<ForwardedResponse | undefined>;
}

/** A parsed `POST /graphql` JSON request offered to {@link HttpFrontOptions.forward}. */
export interface ForwardRequest {
  /** The parsed JSON body. */
  body: unknown;
  /** The body as the client sent it. */
  text: string;
  /** The client's request headers (lower-case names). */
  headers: HeaderMap;
  scope: RequestScope;
}

/** A complete GraphQL response produced outside Apollo Server: written as it is. */
export interface ForwardedResponse {
  status: number;
  contentType: string;
  body: Uint8Array;
}

/** A readiness failure whose details go into the 503 body beside `error`. */
export class NotReady extends Error {
  constructor(
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export interface RunningHttpServer {
  server: Server;
  port: number;
  url: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function errorBody(status: number, message: string): unknown {
  return { errors: [{ message, extensions: { code: CODE_BY_STATUS[status] ?? 'BAD_REQUEST' } }] };
}

const tooLarge = () => new HttpError(413, `request body over ${MAX_BODY_BYTES} bytes`);

/**
 * The whole body as UTF-8. Rejects with 413 as soon as the body is known to be over the limit,
 * from its Content-Length before reading anything, or once the bytes read pass it; the rest is
 * left unread.
 */
function readBody(req: IncomingMessage): Promise<string> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > MAX_BODY_BYTES) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = () => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) {
        chunks.push(chunk);
        return;
      }
      stop();
      reject(tooLarge());
    };
    const onEnd = () => {
      stop();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onError = (error: Error) => {
      stop();
      reject(error);
    };
    const onClose = () => {
      stop();
      reject(new Error('the client closed the connection before its body ended'));
    };
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

/**
 * Answers 413 in full at once with `connection: close`, discards the rest of the body, and ends
 * the response (so node:http closes the connection) only when the body ended, the client closed,
 * or LINGER_MS passed. See the module comment for why it lingers.
 */
function refuseBody(req: IncomingMessage, res: ServerResponse, error: HttpError): void {
  const text = JSON.stringify(errorBody(error.status, error.message));
  res.writeHead(error.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    connection: 'close',
  });
  res.write(text);
  const close = () => {
    clearTimeout(timer);
    req.off('end', close).off('close', close);
    if (!res.writableEnded) res.end();
  };
  const timer = setTimeout(close, LINGER_MS);
  timer.unref();
  req.once('end', close).once('close', close);
  req.resume();
}

export function createHttpFront<TContext extends BaseContext>(opts: HttpFrontOptions<TContext>): Server {
  const { apollo, logger } = opts;
  const metrics = new HttpMetrics(opts.service);
  const bodyBuffers = new BodyBuffers();

  const graphql = async (req: IncomingMessage, res: ServerResponse, url: URL, method: string, scope: RequestScope) => {
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    let body: unknown;
    if (method === 'POST') {
      const text = await readBody(req);
      const type = headers.get('content-type') ?? '';
      if (/^application\/(graphql-response\+)?json/i.test(type) && text !== '') {
        try {
          body = JSON.parse(text);
        } catch (err) {
          throw new HttpError(400, `request body is not JSON: ${(err as Error).message}`);
        }
        const forwarded = opts.forward ? await opts.forward({ body, text, headers, scope }) : undefined;
        if (forwarded !== undefined) {
          metrics.countErrors(forwarded.body);
          res.writeHead(forwarded.status, { 'content-type': forwarded.contentType, 'content-length': forwarded.body.byteLength });
          res.end(forwarded.body);
          return;
        }
      } else {
        body = text;
      }
    }
    // The answer's bytes live in a lent buffer until the response closes (encoded-body.ts).
    const encoded = new EncodedBody(bodyBuffers);
    res.once('close', () => encoded.release());
    const response = await withEncodedBody(encoded, () =>
      apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method, headers, search: url.search, body },
        context: () => opts.context(req, scope),
      }),
    );
    await sendGraphQLResponse(res, response, metrics, encoded);
  };

  const route = async (req: IncomingMessage, res: ServerResponse, url: URL, method: string, scope: RequestScope) => {
    const allowed = ROUTES[url.pathname];
    if (allowed === undefined) throw new HttpError(404, `no route for ${method} ${url.pathname}; GraphQL is served at POST /graphql`);
    if (!allowed.includes(method)) {
      throw new HttpError(405, `${method} is not allowed on ${url.pathname}; use ${allowed.join(' or ')}`, { allow: allowed.join(', ') });
    }
    switch (url.pathname) {
      case '/graphql':
        return graphql(req, res, url, method, scope);
      case '/metrics':
        return metrics.send(res);
      case '/healthz':
        return sendJson(res, 200, { status: 'ok' });
      default:
        try {
          return sendJson(res, 200, { status: 'ready', ...(await opts.ready()) });
        } catch (err) {
          const details = err instanceof NotReady ? err.details : {};
          return sendJson(res, 503, { status: 'unavailable', ...details, error: (err as Error).message });
        }
    }
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const incoming = req.headers['x-request-id'];
    const reqId = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const log = logger.child({ reqId });
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    const started = performance.now();
    res.setHeader('x-request-id', reqId);
    res.once('finish', () => {
      const known = ROUTES[url.pathname] === undefined ? 'other' : url.pathname;
      const seconds = (performance.now() - started) / 1000;
      metrics.observe(known, res.statusCode, known === '/graphql' ? seconds : null);
      log.debug({ method, path: url.pathname, status: res.statusCode, ms: Math.round(seconds * 10_000) / 10 }, 'request done');
    });
    route(req, res, url, method, { reqId, log }).catch((error: unknown) => {
      if (res.headersSent || res.destroyed || req.socket.destroyed) {
        if (req.socket.destroyed && !res.headersSent) log.info({ error: (error as Error).message }, 'client went away');
        else log.error({ err: error }, 'request failed after the response started');
        res.destroy();
        return;
      }
      if (error instanceof HttpError) {
        log.info({ status: error.status, error: error.message }, 'request refused');
        if (error.status === 413) refuseBody(req, res, error);
        else sendJson(res, error.status, errorBody(error.status, error.message), error.headers);
        return;
      }
      log.error({ err: error }, 'request failed');
      sendJson(res, 500, errorBody(500, 'internal error'));
    });
  };
  const server = createServer(handle);
  // `Expect: 100-continue` (curl sends it for bodies over 1 MiB): a body declared over the limit gets
  // its 413 instead of the go-ahead, so it is never sent.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (!(Number(req.headers['content-length']) > MAX_BODY_BYTES)) res.writeContinue();
    handle(req, res);
  });
  // Keep-alive sockets must not outlive a restart by minutes; a request (≤ 1 MiB) arrives within 30 s.
  server.keepAliveTimeout = 5_000;
  server.requestTimeout = 30_000;
  return server;
}

/** Writes Apollo's answer to a node:http response, counting the GraphQL errors it carries. */
async function sendGraphQLResponse(res: ServerResponse, response: HTTPGraphQLResponse, metrics: HttpMetrics, encoded: EncodedBody): Promise<void> {
  for (const [key, value] of response.headers) res.setHeader(key, value);
  res.statusCode = response.status ?? 200;
  if (response.body.kind === 'complete') {
    const body = response.body.string === ENCODED_BODY ? encoded.bytes() : response.body.string;
    if (body === undefined) throw new Error('Apollo answered with an encoded body that is gone');
    metrics.countErrors(body);
    res.setHeader('content-length', Buffer.byteLength(body));
    res.end(body);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

/** Listens and resolves with the bound port. */
export async function listen(server: Server, host: string, port: number): Promise<RunningHttpServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return { server, port: bound, url: `http://${shownHost}:${bound}/graphql` };
}

/** Stops accepting connections, lets running requests finish (up to `graceMs`), closes keep-alive sockets. */
export function closeServer(server: Server, graceMs = 5000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}

