/**
 * WebSocket upgrades on the HTTP front's port: `GET /graphql` with `Upgrade: websocket` goes to the
 * GraphQL-over-WebSocket server (graphql-ws) of the process; an upgrade of any other path is
 * answered 404 and its socket closed, as an HTTP request for it would be.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';

/** Takes over an upgrade request's socket (e.g. `WebSocketServer.handleUpgrade`). */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Routes upgrades of `path` to `handle`; returns the function that stops routing them. */
export function routeUpgrades(server: Server, path: string, handle: UpgradeHandler): () => void {
  const listener = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (pathname === path && (req.headers.upgrade ?? '').toLowerCase() === 'websocket') {
      handle(req, socket, head);
      return;
    }
    const body = `no WebSocket route for ${pathname}; GraphQL over WebSocket (graphql-ws) is served at ${path}\n`;
    socket.end(`HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  };
  server.on('upgrade', listener);
  return () => server.off('upgrade', listener);
}

/** The part of a `ws` WebSocketServer that {@link closeWebSocketServer} needs. */
export interface ClosableSocketServer {
  clients: Iterable<{ close(code: number, reason: string): void; terminate(): void }>;
  close(callback: () => void): void;
}

/**
 * Stops a WebSocket server: every client is sent close code 1001 with `reason`; those still open
 * after `graceMs` are terminated; resolves once the server has closed.
 */
export function closeWebSocketServer(wss: ClosableSocketServer, reason: string, graceMs = 2000): Promise<void> {
  for (const ws of wss.clients) ws.close(1001, reason);
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      for (const ws of wss.clients) ws.terminate();
    }, graceMs);
    timer.unref();
    wss.close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
