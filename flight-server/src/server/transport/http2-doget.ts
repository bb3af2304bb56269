/**
 * DoGet served straight on node:http2, beside grpc-js on the same port. grpc-js copies every
 * message twice (it serializes to one buffer, then copies that behind the 5-byte gRPC prefix),
 * which caps a stream near 0.5 GB/s; here each FlightData goes out as a small framed head plus
 * views of its body, which HTTP/2 sends without a copy in JavaScript.
 *
 * The DoGet handler itself is unchanged: it receives an object with the members of grpc-js's
 * ServerWritableStream that handlers use. Every other call, and any DoGet this route does not
 * take (compressed requests), still goes to grpc-js.
 */
import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';

import * as grpc from '@grpc/grpc-js';
import { grpcFramedFlightData, type FlightData, type Ticket } from '@flightdeck/proto';
import { grpcHttp2Servers } from './grpc-http2-servers.js';

const DO_GET_PATH = '/arrow.flight.protocol.FlightService/DoGet';

type StreamHandler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) => void;

/**
 * Takes DoGet calls off grpc-js's HTTP/2 servers. Returns false (and changes nothing) when the
 * grpc-js internals it relies on are not there, so DoGet simply stays on grpc-js.
 */
export interface DoGetRoute {
  doGet: grpc.handleServerStreamingCall<Ticket, FlightData>;
  /** The receive limit grpc-js applies to every other call. */
  maxMessageBytes: number;
  /** DoGet's request deserializer as registered with grpc-js. */
  deserialize: (bytes: Buffer) => Ticket;
}

/** The DoGet streams this route serves, for a shutdown that must end the ones still open. */
export interface RoutedDoGets {
  /**
   * Ends every open DoGet with UNAVAILABLE and `message` (after the bytes already handed to
   * HTTP/2, which are flow-controlled as the trailers are not). Resolves once all are closed, or
   * `lastWordMs` later: a client that stalled then loses its connection when the server forces
   * the shutdown, which gRPC clients report as UNAVAILABLE.
   */
  cut(message: string, lastWordMs: number): Promise<void>;
}

export function routeDoGetOverHttp2(server: grpc.Server, route: DoGetRoute): RoutedDoGets | null {
  const servers = grpcHttp2Servers(server);
  if (servers === null) return null;
  const targets = servers.map((h2server) => ({ h2server, listeners: h2server.listeners('stream') as StreamHandler[] }));
  if (targets.some((t) => t.listeners.length !== 1)) return null;
  const open = new Set<Http2DoGetCall>();
  for (const { h2server, listeners } of targets) {
    const grpcJs = listeners[0]!;
    h2server.removeListener('stream', grpcJs);
    h2server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number) => {
      if (headers[':path'] === DO_GET_PATH && headers[':method'] === 'POST' && takes(headers)) {
        serveDoGet(stream, headers, route, open);
      } else {
        grpcJs.call(h2server, stream, headers, flags);
      }
    });
  }
  return {
    // The open DoGets: handler running, or the client still taking the last bytes.
    cut: async (message, lastWordMs) => {
      const calls = [...open];
      await Promise.all(calls.map((call) => call.cutForShutdown(message, lastWordMs)));
    },
  };
}

function takes(headers: IncomingHttpHeaders): boolean {
  const type = headers['content-type'];
  const encoding = headers['grpc-encoding'];
  return typeof type === 'string' && type.startsWith('application/grpc') && (encoding === undefined || encoding === 'identity');
}

/**
 * Reads the one request message. Malformed framing gets the statuses grpc-js gives it, so a client
 * sees one server: a length over the receive limit is RESOURCE_EXHAUSTED, a stream that ends
 * before a whole message (or carries two) is UNIMPLEMENTED, and the compressed flag under the
 * identity encoding is read as uncompressed.
 */
function serveDoGet(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, route: DoGetRoute, open: Set<Http2DoGetCall>): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let refused = false;
  const refuse = (code: grpc.status, message: string) => {
    refused = true;
    trailersOnly(stream, code, message);
  };
  stream.on('data', (chunk: Buffer) => {
    if (refused) return;
    chunks.push(chunk);
    size += chunk.length;
    if (size >= 5 && chunks.length > 0) {
      const head = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      const declared = head.readUInt32BE(1);
      if (declared > route.maxMessageBytes) {
        refuse(grpc.status.RESOURCE_EXHAUSTED, `Received message larger than max (${declared} vs ${route.maxMessageBytes})`);
      } else if (size > 5 + declared) {
        refuse(grpc.status.UNIMPLEMENTED, 'Received a second request message for server streaming method DoGet');
      }
    }
  });
  stream.on('error', () => undefined);
  stream.once('end', () => {
    if (refused || stream.headersSent || stream.destroyed) return;
    const body = Buffer.concat(chunks);
    if (body.length < 5 || body.readUInt32BE(1) !== body.length - 5) {
      trailersOnly(stream, grpc.status.UNIMPLEMENTED, 'Received no request message for DoGet');
      return;
    }
    // The service's own deserializer: a malformed Ticket reaches the handler as such and is
    // refused after authentication, exactly as on grpc-js.
    const request = route.deserialize(body.subarray(5));
    const call = new Http2DoGetCall(stream, headers, request);
    open.add(call);
    call.once('close', () => open.delete(call));
    route.doGet(call as unknown as grpc.ServerWritableStream<Ticket, FlightData>);
  });
}

function trailersOnly(stream: ServerHttp2Stream, code: grpc.status, message: string): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.respond(
    { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(message) },
    { endStream: true },
  );
}

/** grpc-message is percent-encoded only outside printable ASCII, and '%' itself (gRPC over HTTP/2 spec). */
function encodeGrpcMessage(message: string): string {
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** `grpc-timeout`: an integer and a unit (H M S m u n). */
function parseDeadline(value: string | string[] | undefined): Date | number {
  if (typeof value !== 'string') return Infinity;
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!m) return Infinity;
  const ms = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 }[m[2] as 'H'] * Number(m[1]);
  return new Date(Date.now() + ms);
}

/** The members of grpc-js's ServerWritableStream that our handlers use, over a raw HTTP/2 stream. */
class Http2DoGetCall extends EventEmitter {
  readonly metadata: grpc.Metadata;
  cancelled = false;
  /** Ended by the server's shutdown rather than by the client (see cutForShutdown). */
  cut = false;
  private readonly deadline: Date | number;
  private ended = false;

  constructor(
    private readonly stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    readonly request: Ticket,
  ) {
    super();
    this.metadata = grpc.Metadata.fromHttp2Headers(headers);
    this.deadline = parseDeadline(headers['grpc-timeout']);
    const timer = typeof this.deadline === 'number' ? undefined : setTimeout(() => this.cancel(grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded'), this.deadline.getTime() - Date.now());
    timer?.unref();
    stream.on('drain', () => this.emit('drain'));
    stream.on('close', () => {
      clearTimeout(timer);
      if (!this.ended) this.markCancelled();
      this.emit('close');
    });
    stream.on('aborted', () => this.markCancelled());
    // A handler reports failure by emitting 'error' with a status, as on grpc-js.
    this.on('error', (err: { code?: number; details?: string; message?: string }) => {
      this.finish(typeof err.code === 'number' ? err.code : grpc.status.INTERNAL, err.details ?? err.message ?? 'internal error');
    });
  }

  get destroyed(): boolean {
    return this.stream.destroyed;
  }

  getDeadline(): Date | number {
    return this.deadline;
  }

  getPeer(): string {
    const socket = this.stream.session?.socket;
    return socket ? `${socket.remoteAddress}:${socket.remotePort}` : 'unknown';
  }

  getPath(): string {
    return DO_GET_PATH;
  }

  sendMetadata(): void {
    this.respond();
  }

  get writableNeedDrain(): boolean {
    return this.stream.writableNeedDrain;
  }

  get writableEnded(): boolean {
    return this.ended;
  }

  /** Writes one message; `flushed` runs once HTTP/2 has taken all of it, as on a Writable. */
  write(message: FlightData, flushed?: (error?: Error | null) => void): boolean {
    if (this.ended || this.stream.destroyed) {
      flushed?.(new Error('the DoGet stream has ended'));
      return false;
    }
    this.respond();
    const chunks = grpcFramedFlightData(message);
    let ok = true;
    chunks.forEach((chunk, i) => {
      ok = i === chunks.length - 1 && flushed ? this.stream.write(chunk, flushed) : this.stream.write(chunk);
    });
    return ok;
  }

  end(): void {
    this.finish(grpc.status.OK, '');
  }

  private respond(): void {
    if (this.stream.headersSent || this.stream.destroyed) return;
    this.stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-accept-encoding': 'identity' }, { waitForTrailers: true });
  }

  private finish(code: grpc.status, message: string): void {
    if (this.ended || this.stream.destroyed) return;
    this.ended = true;
    if (!this.stream.headersSent) {
      trailersOnly(this.stream, code, message);
      return;
    }
    this.stream.once('wantTrailers', () => {
      this.stream.sendTrailers({ 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(message) });
    });
    this.stream.end();
  }

  /** See RoutedDoGets.cut. The handler sees the call cancelled and stops writing. */
  cutForShutdown(message: string, lastWordMs: number): Promise<void> {
    if (this.stream.closed || this.stream.destroyed) return Promise.resolve();
    const closed = new Promise<void>((resolve) => this.stream.once('close', () => resolve()));
    this.cut = true;
    this.cancel(grpc.status.UNAVAILABLE, message);
    // A client that has not taken the status by then is left to the connection's close (the
    // caller forces it): no RST_STREAM of our own. CANCEL reaches pyarrow as KeyboardInterrupt
    // (Arrow's Cancelled status), REFUSED_STREAM as "never ran"; a dropped connection is UNAVAILABLE.
    let timer: NodeJS.Timeout | undefined;
    const lastWord = new Promise<void>((resolve) => (timer = setTimeout(resolve, lastWordMs)));
    return Promise.race([closed, lastWord]).finally(() => clearTimeout(timer));
  }

  private cancel(code: grpc.status, message: string): void {
    this.markCancelled();
    this.finish(code, message);
  }

  private markCancelled(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.emit('cancelled');
  }
}

