/**
 * HTTP/2 receive windows of the server's connections. grpc-js leaves them at node:http2's default,
 * 64 KiB per stream and per connection, so a DoPut client may have 64 KiB in flight: it sends, then
 * waits a round trip for each WINDOW_UPDATE, and sits idle whenever the server's main thread is
 * busy. A 10M-row pyarrow DoPut (65,536-row batches of ~3.4 MB; write-ahead ingest, 2-core VM) took
 * 7.0–12.0 s with the default and 5.4–7.5 s with 4 MiB stream windows, alternating twice
 * (FLIGHT_RECEIVE_WINDOW_BYTES, docs/configuration.md).
 *
 * What it costs is bounded: a stream holds at most its window beyond the message grpc-js is
 * delivering (grpc-js pauses the stream after each message until the handler reads it), and a
 * connection at most four windows in all.
 */
import type { ServerHttp2Session } from 'node:http2';
import type * as grpc from '@grpc/grpc-js';
import { grpcHttp2Servers } from './grpc-http2-servers.js';

/** A connection's window: this many streams' worth. */
const CONNECTION_WINDOWS = 4;

/**
 * Gives every connection of `server` (bound already) receive windows of `streamBytes` per stream
 * and four times that per connection. False (nothing changed) when grpc-js's HTTP/2 servers are not
 * where this version expects them.
 */
export function widenReceiveWindows(server: grpc.Server, streamBytes: number): boolean {
  const servers = grpcHttp2Servers(server);
  if (servers === null) return false;
  for (const h2server of servers) {
    h2server.on('session', (session: ServerHttp2Session) => widen(session, streamBytes));
  }
  return true;
}

function widen(session: ServerHttp2Session, streamBytes: number): void {
  if (session.destroyed) return;
  try {
    // The new initial window applies to every stream of the connection, open ones included (RFC 9113, 6.9.2).
    session.settings({ initialWindowSize: streamBytes });
    session.setLocalWindowSize(streamBytes * CONNECTION_WINDOWS);
  } catch {
    // A session closing as it opens: nothing to widen.
  }
}
