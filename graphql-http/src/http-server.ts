/**
 * A small node:http front for Apollo Server: `POST|GET /graphql`, `GET /healthz` (liveness) and
 * `GET /readyz` (readiness, 503 while a dependency is down). Apollo Server 5 ships no HTTP
 * framework integration in core; this is its standalone server minus Express, plus the probes.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeaderMap, type ApolloServer, type BaseContext, type HTTPGraphQLResponse } from '@apollo/server';
import type { Logger } from 'pino';
import { HttpMetrics } from './http-metrics.js';

const MAX_BODY_BYTES = 1024 * 1024;

export interface HttpFrontOptions<TContext extends BaseContext> {
  apollo: ApolloServer<TContext>;
  context: (req: IncomingMessage) => Promise<TContext>;
  /** Readiness: resolves with details, rejects when not ready. */
  ready: () => Promise<Record<string, unknown>>;
  logger: Logger;
  /** Labels the process's metrics (`service` label) at `GET /metrics`. */
  service: string;
}

export interface RunningHttpServer {
  server: Server;
  port: number;
  url: string;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw Object.assign(new Error(`request body exceeds ${MAX_BODY_BYTES} bytes`), { status: 413 });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function createHttpFront<TContext extends BaseContext>(opts: HttpFrontOptions<TContext>): Server {
  const { apollo, logger } = opts;
  const metrics = new HttpMetrics(opts.service);
  const handleGraphQL = async (req: IncomingMessage, res: ServerResponse, search: string) => {
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    let body: unknown;
    if (req.method === 'POST') {
      const text = await readBody(req);
      const type = headers.get('content-type') ?? '';
      if (/^application\/(graphql-response\+)?json/i.test(type) && text !== '') {
        try {
          body = JSON.parse(text);
        } catch (err) {
          sendJson(res, 400, { errors: [{ message: `request body is not JSON: ${(err as Error).message}`, extensions: { code: 'BAD_REQUEST' } }] });
          return;
        }
      } else {
        body = text;
      }
    }
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search, body },
      context: () => opts.context(req),
    });
    await sendGraphQLResponse(res, response, metrics);
  };

  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const started = performance.now();
    res.once('finish', () => {
      const graphql = url.pathname === '/graphql';
      metrics.observe(graphql ? '/graphql' : url.pathname === '/metrics' || url.pathname === '/healthz' || url.pathname === '/readyz' ? url.pathname : 'other', res.statusCode, graphql ? (performance.now() - started) / 1000 : null);
    });
    const route = async () => {
      if (url.pathname === '/graphql') return handleGraphQL(req, res, url.search);
      if (req.method === 'GET' && url.pathname === '/metrics') return metrics.send(res);
      if (req.method === 'GET' && url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
      if (req.method === 'GET' && url.pathname === '/readyz') {
        try {
          return sendJson(res, 200, { status: 'ready', ...(await opts.ready()) });
        } catch (err) {
          return sendJson(res, 503, { status: 'unavailable', error: (err as Error).message });
        }
      }
      return sendJson(res, 404, { error: `no route ${req.method} ${url.pathname}; GraphQL is served at /graphql` });
    };
    route().catch((err: unknown) => {
      const status = (err as { status?: number }).status ?? 500;
      if (status >= 500) logger.error({ err }, 'http request failed');
      if (!res.headersSent) sendJson(res, status, { errors: [{ message: (err as Error).message }] });
      else res.destroy();
    });
  });
}

/** Writes Apollo's answer to a node:http response, counting the GraphQL errors it carries. */
export async function sendGraphQLResponse(res: ServerResponse, response: HTTPGraphQLResponse, metrics: HttpMetrics): Promise<void> {
  for (const [key, value] of response.headers) res.setHeader(key, value);
  res.statusCode = response.status ?? 200;
  if (response.body.kind === 'complete') {
    metrics.countErrors(response.body.string);
    res.end(response.body.string);
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

export { HttpMetrics } from './http-metrics.js';
