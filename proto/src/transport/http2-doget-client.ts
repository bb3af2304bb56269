/**
 * DoGet on node:http2 directly, the client-side twin of flight-server's http2-doget transport.
 * grpc-js joins every received message into a new Buffer and keeps 64 KiB-ish flow-control
 * windows; here each message is copied at most once (see grpc-frames.ts), streams and the
 * connection get large windows, and FlightData is decoded into views of the received bytes.
 *
 * The call speaks plain gRPC over HTTP/2 (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md),
 * so it works with any Flight server. Statuses map as grpc-js maps them, so a caller sees the same
 * FlightError whichever transport carried the call.
 */
import {
  connect,
  constants as h2,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
  type IncomingHttpStatusHeader,
  type OutgoingHttpHeaders,
  type SecureClientSessionOptions,
} from 'node:http2';
import { status } from '@grpc/grpc-js';
import { fromServiceError, type FlightError } from '../errors.js';
import type { FlightData } from '../messages.js';
import { deserializeFlightData } from '../wire/flight-data.js';
import { GrpcFrameReader } from './grpc-frames.js';

const DO_GET_PATH = '/arrow.flight.protocol.FlightService/DoGet';

/** Received messages held for a consumer that does not pull: past this the stream is paused. */
const HIGH_WATER_BYTES = 8 * 1024 * 1024;
const HIGH_WATER_MESSAGES = 256;

export interface Http2DoGetTarget {
  /** `http://host:port` or `https://host:port`. */
  origin: string;
  /** Sent as `:authority` (the TLS name override when one is set). */
  authority: string;
  /** TLS settings for an https origin. */
  tls?: SecureClientSessionOptions;
  /** HTTP/2 receive window of each stream; the connection gets four times as much. */
  windowBytes: number;
  maxMessageBytes: number;
}

export interface Http2DoGetCallOptions {
  /** Extra request headers (auth metadata). */
  headers?: OutgoingHttpHeaders;
  /** When the call fails with DEADLINE_EXCEEDED: a Date or ms since the epoch. */
  deadline?: Date | number;
  /** Aborting cancels the call (CANCELLED). */
  signal?: AbortSignal;
}

/** A DoGet in flight: its FlightData messages, then return (OK) or throw (any other status). */
export interface Http2DoGetCall {
  messages: AsyncGenerator<FlightData, void, undefined>;
  /** Sends RST_STREAM(CANCEL) so the server stops; the messages end with CANCELLED. */
  cancel(): void;
}

interface CallStatus {
  code: status;
  details: string;
}

/** One HTTP/2 connection per FlightClient, opened on first use and again after it closed. */
export class Http2DoGetClient {
  readonly #target: Http2DoGetTarget;
  #session: ClientHttp2Session | undefined;
  /** Calls in flight per session: a session with none does not keep the process alive. */
  readonly #active = new WeakMap<ClientHttp2Session, number>();
  #closed = false;

  constructor(target: Http2DoGetTarget) {
    this.#target = target;
  }

  /** Starts a DoGet with the serialized Ticket `request`. */
  doGet(request: Buffer, opts: Http2DoGetCallOptions = {}): Http2DoGetCall {
    return startCall(this, request, opts);
  }

  /** Lets calls in flight finish, then closes the connection; later calls open none. */
  close(): void {
    this.#closed = true;
    this.#session?.close();
    this.#session = undefined;
  }

  /** @internal */
  get maxMessageBytes(): number {
    return this.#target.maxMessageBytes;
  }

  /** @internal */
  get authority(): string {
    return this.#target.authority;
  }

  /** @internal The live session (a new one if needed), ref'd while it carries calls. */
  acquire(): ClientHttp2Session {
    if (this.#closed) throw new Error('the FlightClient was closed');
    let session = this.#session;
    if (session === undefined || session.closed || session.destroyed) {
      session = this.#connect();
      this.#session = session;
    }
    const active = this.#active.get(session) ?? 0;
    this.#active.set(session, active + 1);
    if (active === 0) session.ref();
    return session;
  }

  /** @internal */
  release(session: ClientHttp2Session): void {
    const active = (this.#active.get(session) ?? 1) - 1;
    this.#active.set(session, active);
    if (active === 0 && !session.destroyed) session.unref();
  }

  #connect(): ClientHttp2Session {
    const { origin, tls, windowBytes } = this.#target;
    const session = connect(origin, {
      ...tls,
      settings: { enablePush: false, initialWindowSize: windowBytes },
      // Node refuses new streams once a session holds this much (buffered inbound data counts).
      maxSessionMemory: Math.max(64, Math.ceil((windowBytes * 8) / (1024 * 1024))),
    });
    const connectionWindow = windowBytes * 4;
    session.once('connect', () => {
      if (!session.destroyed) session.setLocalWindowSize(connectionWindow);
    });
    session.on('error', () => undefined); // each call reports it through its stream
    // A server going away takes no new streams on this session; the next call opens another.
    session.on('goaway', () => {
      if (this.#session === session) this.#session = undefined;
    });
    session.on('close', () => {
      if (this.#session === session) this.#session = undefined;
    });
    session.unref();
    return session;
  }
}

function startCall(client: Http2DoGetClient, request: Buffer, opts: Http2DoGetCallOptions): Http2DoGetCall {
  const queue: FlightData[] = [];
  const sizes: number[] = [];
  let head = 0;
  let queuedBytes = 0;
  let callStatus: CallStatus | undefined;
  let finished = false; // 'end' or 'close' seen: nothing more will arrive
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  const deadline = opts.deadline === undefined ? Infinity : typeof opts.deadline === 'number' ? opts.deadline : opts.deadline.getTime();
  if (opts.signal?.aborted) {
    return failedCall({ code: status.CANCELLED, details: 'Cancelled on client' });
  }
  if (deadline <= Date.now()) {
    return failedCall({ code: status.DEADLINE_EXCEEDED, details: 'Deadline exceeded before the call started' });
  }

  let session: ClientHttp2Session;
  try {
    session = client.acquire();
  } catch (err) {
    return failedCall({ code: status.UNAVAILABLE, details: err instanceof Error ? err.message : String(err) });
  }
  const headers: OutgoingHttpHeaders = {
    ...opts.headers,
    [h2.HTTP2_HEADER_METHOD]: 'POST',
    [h2.HTTP2_HEADER_PATH]: DO_GET_PATH,
    [h2.HTTP2_HEADER_AUTHORITY]: client.authority,
    'content-type': 'application/grpc',
    te: 'trailers',
    'grpc-accept-encoding': 'identity',
    'user-agent': 'flightdeck-proto-http2',
  };
  if (Number.isFinite(deadline)) headers['grpc-timeout'] = grpcTimeout(deadline - Date.now());

  let stream: ClientHttp2Stream;
  try {
    stream = session.request(headers, { endStream: false });
  } catch (err) {
    client.release(session);
    return failedCall({ code: status.UNAVAILABLE, details: err instanceof Error ? err.message : String(err) });
  }

  let httpStatus: number | undefined;
  let internalError: (Error & { code?: string }) | undefined;
  let connectionDropped = false;
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    session.off('close', onSessionClose);
    client.release(session);
  };
  const setStatus = (s: CallStatus): void => {
    callStatus ??= s;
    notify();
  };
  /** Ends the call from our side with `s`: RST_STREAM(CANCEL), so the server frees the stream. */
  const cancelWith = (s: CallStatus): void => {
    setStatus(s);
    if (!stream.destroyed) stream.close(h2.NGHTTP2_CANCEL);
  };
  const onAbort = (): void => cancelWith({ code: status.CANCELLED, details: 'Cancelled on client' });
  const onSessionClose = (): void => {
    connectionDropped = true;
  };
  session.once('close', onSessionClose);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const timer = Number.isFinite(deadline)
    ? setTimeout(() => cancelWith({ code: status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' }), Math.max(0, deadline - Date.now()))
    : undefined;

  const reader = new GrpcFrameReader(client.maxMessageBytes);
  const onMessage = (bytes: Buffer): void => {
    queue.push(deserializeFlightData(bytes));
    sizes.push(bytes.length);
    queuedBytes += bytes.length;
  };
  stream.on('response', (response: IncomingHttpHeaders & IncomingHttpStatusHeader, flags: number) => {
    httpStatus = Number(response[':status']);
    // A trailers-only response: the status is in the one HEADERS frame.
    if (flags & h2.NGHTTP2_FLAG_END_STREAM) setStatus(statusOf(response, httpStatus));
  });
  stream.on('trailers', (trailers: IncomingHttpHeaders) => setStatus(statusOf(trailers, httpStatus)));
  stream.on('data', (chunk: Buffer) => {
    if (callStatus !== undefined && callStatus.code !== status.OK) return;
    const queued = queue.length;
    try {
      reader.push(chunk, onMessage);
    } catch (err) {
      cancelWith(statusOfError(err, httpStatus));
      return;
    }
    if (queue.length === queued) return; // most chunks only carry on a message
    if (queuedBytes >= HIGH_WATER_BYTES || queue.length - head >= HIGH_WATER_MESSAGES) stream.pause();
    notify();
  });
  stream.on('end', () => {
    if (!reader.atBoundary) setStatus({ code: status.INTERNAL, details: 'the DoGet response ended inside a message' });
    finished = true;
    notify();
  });
  stream.on('error', (err: Error & { code?: string }) => {
    // Errors built from a RST_STREAM are handled on 'close' by their code, as grpc-js does.
    if (err.code !== 'ERR_HTTP2_STREAM_ERROR') internalError = err;
  });
  stream.on('close', () => {
    // 'error' may come in the same tick; let it land first.
    process.nextTick(() => {
      if (callStatus === undefined) setStatus(closedStatus(stream.rstCode, httpStatus, connectionDropped, internalError));
      finished = true;
      release();
      notify();
    });
  });
  stream.end(grpcFrame(request));

  async function* messages(): AsyncGenerator<FlightData, void, undefined> {
    let settled = false;
    try {
      for (;;) {
        if (head < queue.length) {
          const message = queue[head]!;
          queue[head] = undefined as unknown as FlightData;
          queuedBytes -= sizes[head++]!;
          if (head === queue.length) {
            queue.length = 0;
            sizes.length = 0;
            head = 0;
            queuedBytes = 0;
          }
          if (stream.isPaused() && queuedBytes <= HIGH_WATER_BYTES / 4 && queue.length - head <= HIGH_WATER_MESSAGES / 4) stream.resume();
          yield message;
          continue;
        }
        if (callStatus !== undefined && finished) {
          settled = true;
          if (callStatus.code === status.OK) return;
          throw toFlightError(callStatus);
        }
        if (callStatus !== undefined && callStatus.code !== status.OK && stream.destroyed) {
          settled = true;
          throw toFlightError(callStatus);
        }
        // Paused with nothing queued (a status arrived first): read on, so 'end' can come.
        if (stream.isPaused()) stream.resume();
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    } finally {
      if (!settled) cancelWith({ code: status.CANCELLED, details: 'Cancelled on client' });
    }
  }

  return { messages: messages(), cancel: () => cancelWith({ code: status.CANCELLED, details: 'Cancelled on client' }) };
}

function failedCall(s: CallStatus): Http2DoGetCall {
  // Thrown on the first pull, as a failed grpc-js call reports itself.
  const messages = (async function* failed(): AsyncGenerator<FlightData, void, undefined> {
    throw toFlightError(s);
  })();
  return { messages, cancel: () => undefined };
}

function toFlightError(s: CallStatus): FlightError {
  return fromServiceError({ code: s.code, details: s.details });
}

/** The 5-byte gRPC prefix (uncompressed) and the message. */
function grpcFrame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

/** `grpc-timeout`: at most 8 digits and a unit, rounded up so the server never cuts earlier than we do. */
function grpcTimeout(ms: number): string {
  const units: [string, number][] = [
    ['m', 1],
    ['S', 1000],
    ['M', 60_000],
    ['H', 3_600_000],
  ];
  for (const [unit, scale] of units) {
    const value = Math.ceil(Math.max(0, ms) / scale);
    if (value < 100_000_000) return `${value}${unit}`;
  }
  return '99999999H';
}

/** The status of a trailers (or trailers-only) block, as grpc-js reads it. */
function statusOf(headers: IncomingHttpHeaders, httpStatus: number | undefined): CallStatus {
  const code = headers['grpc-status'];
  if (typeof code === 'string') {
    const raw = headers['grpc-message'];
    let details = typeof raw === 'string' ? raw : '';
    try {
      details = decodeURI(details);
    } catch {
      // not percent-encoded: kept as sent
    }
    return { code: Number(code), details };
  }
  if (httpStatus !== undefined && httpStatus !== 200) return httpStatusOf(httpStatus);
  return { code: status.UNKNOWN, details: 'No status information received' };
}

/** grpc-js's mapping of a non-200 HTTP status. */
function httpStatusOf(code: number): CallStatus {
  const details = `Received HTTP status code ${code}`;
  switch (code) {
    case 400:
      return { code: status.INTERNAL, details };
    case 401:
      return { code: status.UNAUTHENTICATED, details };
    case 403:
      return { code: status.PERMISSION_DENIED, details };
    case 404:
      return { code: status.UNIMPLEMENTED, details };
    case 429:
    case 502:
    case 503:
    case 504:
      return { code: status.UNAVAILABLE, details };
    default:
      return { code: status.UNKNOWN, details };
  }
}

/** A fault in the received bytes: the statuses grpc-js gives the same faults. */
function statusOfError(err: unknown, httpStatus: number | undefined): CallStatus {
  if (httpStatus !== undefined && httpStatus !== 200) return httpStatusOf(httpStatus);
  const message = err instanceof Error ? err.message : String(err);
  if ((err as { code?: unknown }).code === 'RESOURCE_EXHAUSTED') return { code: status.RESOURCE_EXHAUSTED, details: message };
  return { code: status.INTERNAL, details: `Response message parsing error: ${message}` };
}

/** A stream that closed without a status, mapped by its RST_STREAM code as grpc-js maps it. */
function closedStatus(
  rstCode: number,
  httpStatus: number | undefined,
  connectionDropped: boolean,
  internalError: (Error & { code?: string }) | undefined,
): CallStatus {
  if (internalError !== undefined && (connectionDropped || ['ECONNRESET', 'ETIMEDOUT', 'ECONNREFUSED', 'EPIPE'].includes(internalError.code ?? ''))) {
    return { code: status.UNAVAILABLE, details: internalError.message };
  }
  switch (rstCode) {
    case h2.NGHTTP2_NO_ERROR:
      if (connectionDropped) return { code: status.UNAVAILABLE, details: 'Connection dropped' };
      if (httpStatus !== undefined && httpStatus !== 200) return httpStatusOf(httpStatus);
      return { code: status.INTERNAL, details: `Received RST_STREAM with code ${rstCode} (Call ended without gRPC status)` };
    case h2.NGHTTP2_REFUSED_STREAM:
      return { code: status.UNAVAILABLE, details: 'Stream refused by server' };
    case h2.NGHTTP2_CANCEL:
      return connectionDropped ? { code: status.UNAVAILABLE, details: 'Connection dropped' } : { code: status.CANCELLED, details: 'Call cancelled' };
    case h2.NGHTTP2_ENHANCE_YOUR_CALM:
      return { code: status.RESOURCE_EXHAUSTED, details: 'Bandwidth exhausted or memory limit exceeded' };
    case h2.NGHTTP2_INADEQUATE_SECURITY:
      return { code: status.PERMISSION_DENIED, details: 'Protocol not secure enough' };
    case h2.NGHTTP2_INTERNAL_ERROR:
      if (internalError !== undefined) {
        return { code: status.INTERNAL, details: `Received RST_STREAM with code ${rstCode} triggered by internal client error: ${internalError.message}` };
      }
      return connectionDropped
        ? { code: status.UNAVAILABLE, details: 'Connection dropped' }
        : { code: status.INTERNAL, details: `Received RST_STREAM with code ${rstCode} (Internal server error)` };
    default:
      return connectionDropped ? { code: status.UNAVAILABLE, details: 'Connection dropped' } : { code: status.INTERNAL, details: `Received RST_STREAM with code ${rstCode}` };
  }
}
