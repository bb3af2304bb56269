/**
 * The HTTP front of the three GraphQL processes (facade, user service, gateway), byte by byte on
 * keep-alive connections: a body over the 1 MiB limit is refused at once with 413 and
 * `connection: close`, and the connection is then closed cleanly (FIN after the answer, no reset),
 * so the client reads the 413 and its next request goes out on a fresh connection. Also the
 * behaviour the three share: 405, 404, bad JSON, request ids.
 */
import { request as httpRequest, Agent, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig as loadGatewayConfig, startGateway, type RunningGateway } from '@flightdeck/gateway';
import { loadConfig as loadFacadeConfig, startFacade, type RunningFacade } from '@flightdeck/graphql-facade';
import { loadConfig as loadUsersConfig, startUserService, type RunningUserService } from '@flightdeck/user-service';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const LIMIT = 1024 * 1024;
const BIG = 5 * 1024 * 1024;
/** Well under the ~6 s a stuck connection took to fail. */
const PROMPT_MS = 2000;

let dir: string;
let facade: RunningFacade;
let users: RunningUserService;
let gateway: RunningGateway;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fd-http-front-'));
  // Nothing here reaches Flight: an address where nothing listens will do.
  facade = await startFacade(loadFacadeConfig({ FACADE_PORT: '0', FLIGHT_URL: 'grpc://127.0.0.1:1', LOG_LEVEL: 'silent' }));
  users = await startUserService(loadUsersConfig({ USERS_PORT: '0', USERS_DATA_DIR: join(dir, 'users'), LOG_LEVEL: 'silent' }));
  gateway = await startGateway(loadGatewayConfig({ GATEWAY_PORT: '0', FACADE_URL: facade.url, USERS_URL: users.url, LOG_LEVEL: 'silent' }));
});

afterAll(async () => {
  await gateway?.close();
  await facade?.close();
  await users?.close();
  await rm(dir, { recursive: true, force: true });
});

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  ms: number;
}

/** One TCP connection, spoken to in raw HTTP/1.1; remembers how it ended. */
class RawConnection {
  private buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  ended = false;
  closed = false;
  error: Error | undefined;
  readonly done: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.waiter?.();
    });
    socket.on('end', () => {
      this.ended = true;
      this.waiter?.();
    });
    socket.on('error', (err) => {
      this.error = err;
      this.waiter?.();
    });
    this.done = new Promise((resolve) =>
      socket.on('close', () => {
        this.closed = true;
        this.waiter?.();
        resolve();
      }),
    );
  }

  static async open(port: number): Promise<RawConnection> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new RawConnection(socket);
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Reads one response with a content-length body. */
  async read(timeoutMs = 5000): Promise<RawResponse> {
    const started = performance.now();
    const deadline = started + timeoutMs;
    for (;;) {
      const head = this.buffer.indexOf('\r\n\r\n');
      if (head >= 0) {
        const lines = this.buffer.subarray(0, head).toString('latin1').split('\r\n');
        const status = Number(lines[0]!.split(' ')[1]);
        const headers: Record<string, string> = {};
        for (const line of lines.slice(1)) {
          const colon = line.indexOf(':');
          headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        const length = Number(headers['content-length'] ?? 0);
        if (this.buffer.length >= head + 4 + length) {
          const body = this.buffer.subarray(head + 4, head + 4 + length).toString('utf8');
          this.buffer = this.buffer.subarray(head + 4 + length);
          return { status, headers, body, ms: performance.now() - started };
        }
      }
      if (this.error) throw this.error;
      if (this.ended || this.closed) throw new Error(`connection ended before a whole response (${this.buffer.length} bytes read)`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`no response within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }

  /** Resolves once the server closed the connection, or rejects after `timeoutMs`. */
  async closedWithin(timeoutMs: number): Promise<number> {
    const started = performance.now();
    await Promise.race([
      this.done,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs)),
    ]);
    return performance.now() - started;
  }
}

const processes = () =>
  [
    ['graphql-facade', facade.port],
    ['user-service', users.port],
    ['gateway', gateway.port],
  ] as const;

function postHead(length: number | 'chunked'): string {
  return (
    'POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nConnection: keep-alive\r\n' +
    (length === 'chunked' ? 'Transfer-Encoding: chunked\r\n' : `Content-Length: ${length}\r\n`) +
    '\r\n'
  );
}

function expectPayloadTooLarge(r: RawResponse): void {
  expect(r.status).toBe(413);
  expect(r.ms).toBeLessThan(PROMPT_MS);
  expect(r.headers.connection).toBe('close');
  expect(JSON.parse(r.body)).toEqual({
    errors: [{ message: `request body over ${LIMIT} bytes`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }],
  });
}

/** Node's own client on a keep-alive agent of one socket: what a gateway or a script would use. */
function agentRequest(
  agent: Agent,
  port: number,
  opts: { method: string; path: string; body?: Buffer; headers?: Record<string, string> },
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string; socketId: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, agent, method: opts.method, path: opts.path, headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          socketId: socketIds.get(res.socket) ?? -1,
          ms: performance.now() - started,
        }),
      );
      res.on('error', reject);
    });
    req.on('socket', (socket) => {
      if (!socketIds.has(socket)) socketIds.set(socket, socketIds.size + 1);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
const socketIds = new Map<object, number>();

describe.each(['graphql-facade', 'user-service', 'gateway'] as const)('HTTP front of %s', (service) => {
  const port = () => processes().find(([name]) => name === service)![1];

  it('refuses a 5 MB body with a Content-Length at once: 413, connection: close, then a clean close (no reset)', async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const conn = await RawConnection.open(port());
      conn.write(postHead(BIG));
      conn.write(Buffer.alloc(BIG, 'x'));
      expectPayloadTooLarge(await conn.read());
      expect(await conn.closedWithin(PROMPT_MS)).toBeLessThan(PROMPT_MS);
      expect(conn.ended, 'server closed with FIN').toBe(true);
      expect(conn.error, 'no reset or write error').toBeUndefined();
    }
  });

  it('refuses a chunked body once it passes the limit, the same way', async () => {
    const conn = await RawConnection.open(port());
    conn.write(postHead('chunked'));
    const chunk = Buffer.alloc(256 * 1024, 'x');
    for (let i = 0; i < BIG / chunk.length; i++) conn.write(Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]));
    conn.write('0\r\n\r\n');
    expectPayloadTooLarge(await conn.read());
    await conn.closedWithin(PROMPT_MS);
    expect(conn.ended).toBe(true);
    expect(conn.error).toBeUndefined();
  });

  it('answers `Expect: 100-continue` with a Content-Length over the limit by 413 instead of the go-ahead', async () => {
    const conn = await RawConnection.open(port());
    conn.write(postHead(BIG).replace('\r\n\r\n', '\r\nExpect: 100-continue\r\n\r\n'));
    expectPayloadTooLarge(await conn.read()); // not "100 Continue": the body is never sent
    conn.socket.end();
    await conn.closedWithin(PROMPT_MS);
    expect(conn.error).toBeUndefined();
  });

  it('on a keep-alive agent of one socket, the request after a 413 succeeds promptly on a new connection', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        const big = await agentRequest(agent, port(), {
          method: 'POST',
          path: '/graphql',
          headers: { 'content-type': 'application/json' },
          body: Buffer.alloc(BIG, 'x'),
        });
        expect(big.status).toBe(413);
        expect(big.headers.connection).toBe('close');
        expect(big.ms).toBeLessThan(PROMPT_MS);
        const next = await agentRequest(agent, port(), { method: 'GET', path: '/healthz' });
        expect(next.status).toBe(200);
        expect(next.ms).toBeLessThan(PROMPT_MS);
        expect(next.socketId).not.toBe(big.socketId);
      }
    } finally {
      agent.destroy();
    }
  });

  it('keeps a connection alive across ordinary requests', async () => {
    const conn = await RawConnection.open(port());
    const query = JSON.stringify({ query: '{ __typename }' });
    conn.write(postHead(Buffer.byteLength(query)) + query);
    const first = await conn.read();
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body)).toEqual({ data: { __typename: 'Query' } });
    expect(first.headers.connection).toBe('keep-alive');
    conn.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const second = await conn.read();
    expect(second.status).toBe(200);
    conn.socket.destroy();
  });

  it('answers transport faults with GraphQL-shaped errors and echoes request ids', async () => {
    const base = `http://127.0.0.1:${port()}`;
    const put = await fetch(`${base}/graphql`, { method: 'PUT', body: '{}' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST');
    expect(((await put.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('METHOD_NOT_ALLOWED');

    const probe = await fetch(`${base}/healthz`, { method: 'POST' });
    expect(probe.status).toBe(405);
    expect(probe.headers.get('allow')).toBe('GET, HEAD');
    await probe.body?.cancel();

    const missing = await fetch(`${base}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      errors: [{ message: 'no route for GET /nope; GraphQL is served at POST /graphql', extensions: { code: 'NOT_FOUND' } }],
    });

    const notJson = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":' });
    expect(notJson.status).toBe(400);
    const notJsonBody = (await notJson.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(notJsonBody.errors).toHaveLength(1);
    expect(notJsonBody.errors[0]!.extensions.code).toBe('BAD_REQUEST');

    const traced = await fetch(`${base}/healthz`, { headers: { 'x-request-id': 'trace-me-456' } });
    expect(traced.headers.get('x-request-id')).toBe('trace-me-456');
    await traced.body?.cancel();
    const untraced = await fetch(`${base}/healthz`, { headers: { 'x-request-id': 'not ok\u00e9' } });
    expect(untraced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    await untraced.body?.cancel();
  });
});
