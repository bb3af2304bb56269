import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { HeaderMap } from '@apollo/server';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { passThrough, type PassThrough } from './pass-through.js';

const ANSWER = '{"data":{"ok":true}}';
const log = pino({ level: 'silent' });

/**
 * A subgraph on a raw TCP server: answers each request with keep-alive, except that the requests
 * listed in `resetOn` (1-based, counted over all connections) get the connection reset instead,
 * as when a subgraph closes an idle kept-alive connection just as the gateway reuses it.
 */
async function subgraph(resetOn: number[]): Promise<{ url: string; requests: () => number; connections: () => number; close: () => Promise<void> }> {
  let requests = 0;
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    let pending = '';
    socket.on('data', (chunk) => {
      pending += chunk.toString('latin1');
      for (;;) {
        const head = pending.indexOf('\r\n\r\n');
        if (head < 0) return;
        const length = Number(/content-length: *(\d+)/i.exec(pending.slice(0, head))?.[1] ?? 0);
        if (pending.length < head + 4 + length) return;
        pending = pending.slice(head + 4 + length);
        requests++;
        if (resetOn.includes(requests)) {
          socket.resetAndDestroy();
          return;
        }
        socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${ANSWER.length}\r\nconnection: keep-alive\r\n\r\n${ANSWER}`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    requests: () => requests,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

let open: { pass?: PassThrough; close?: () => Promise<void> } = {};
afterEach(async () => {
  open.pass?.close();
  await open.close?.();
  open = {};
});

function forward(pass: PassThrough, reqId: string) {
  const body = { query: '{ ok }' };
  return pass.forward({ body, text: JSON.stringify(body), headers: new HeaderMap(), scope: { reqId, log } });
}

describe('passThrough', () => {
  it('answers over one kept-alive connection', async () => {
    const sub = await subgraph([]);
    const pass = passThrough({ routeOf: () => 'financial', urlOf: () => sub.url });
    open = { pass, close: sub.close };
    for (let i = 0; i < 3; i++) {
      const answer = await forward(pass, `r${i}`);
      expect(answer?.status).toBe(200);
      expect(Buffer.from(answer!.body).toString()).toBe(ANSWER);
    }
    expect(sub.requests()).toBe(3);
    expect(sub.connections()).toBe(1);
  });

  it('asks once more on a new connection when a reused one is reset, and only once', async () => {
    const sub = await subgraph([2]);
    const pass = passThrough({ routeOf: () => 'financial', urlOf: () => sub.url });
    open = { pass, close: sub.close };
    expect((await forward(pass, 'a'))?.status).toBe(200);
    const again = await forward(pass, 'b');
    expect(again?.status).toBe(200);
    expect(Buffer.from(again!.body).toString()).toBe(ANSWER);
    expect(sub.requests()).toBe(3);
    expect(sub.connections()).toBe(2);
  });

  it('reports a subgraph that resets a fresh connection as unreachable: 502, SERVICE_UNAVAILABLE, no retry', async () => {
    const sub = await subgraph([1, 2]);
    const pass = passThrough({ routeOf: () => 'financial', urlOf: () => sub.url });
    open = { pass, close: sub.close };
    const answer = await forward(pass, 'c');
    expect(answer?.status).toBe(502);
    const body = JSON.parse(Buffer.from(answer!.body).toString()) as { errors: { message: string; extensions: { code: string; serviceName: string } }[] };
    expect(body.errors[0]!.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', serviceName: 'financial' });
    expect(body.errors[0]!.message).toMatch(/^subgraph "financial" could not be reached: .*ECONNRESET|socket hang up/);
    expect(sub.requests()).toBe(1);
  });
});
