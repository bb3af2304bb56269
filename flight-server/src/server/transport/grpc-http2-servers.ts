/**
 * The node:http2 servers behind a bound grpc-js Server. grpc-js does not expose them; the DoGet
 * route and the receive windows reach them through its `http2Servers` map, and this is the one
 * place that knows where that map is.
 */
import type { Http2Server } from 'node:http2';
import type * as grpc from '@grpc/grpc-js';

/** The HTTP/2 servers of a bound grpc-js server; null when they are not where this version keeps them. */
export function grpcHttp2Servers(server: grpc.Server): Http2Server[] | null {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map) || servers.size === 0) return null;
  return [...(servers as Map<Http2Server, unknown>).keys()];
}
