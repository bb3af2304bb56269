/**
 * FlightClient: an Arrow Flight client for Node, speaking to any Flight server (flightdeck's or
 * another implementation) over grpc-js with the hand-written FlightData codec. DoGet, the bulk
 * read, goes over node:http2 directly (transport/http2-doget-client.ts): grpc-js's copies held it
 * to a quarter of pyarrow's speed.
 */
import {
  Client,
  credentials as grpcCredentials,
  Metadata,
  status,
  type ChannelCredentials,
  type ChannelOptions,
  type MethodDefinition,
  type StatusObject,
} from '@grpc/grpc-js';
import type { SecureClientSessionOptions } from 'node:http2';
import type { RecordBatch, Schema, Table } from 'apache-arrow';
import { FlightError, fromServiceError } from './errors.js';
import { toBuffer } from './wire/flight-descriptor.js';
import { decodeFlightData, type FlightRecordBatchStream } from './decode.js';
import { DEFAULT_MAX_MESSAGE_BYTES, encodeFlightData } from './encode.js';
import { decodeSchema } from './wire/ipc-message.js';
import { responseStream } from './response-stream.js';
import type { ActionType, FlightData, FlightDescriptor, FlightInfo, PutResult, Ticket } from './messages.js';
import { flightServiceDefinition } from './service-definition.js';
import { Http2DoGetClient } from './transport/http2-doget-client.js';

/** A FlightData whose IPC header is not a flatbuffer Message: sent to make a server drop a DoPut. */
const ABORT_MESSAGE: FlightData = {
  dataHeader: Uint8Array.of(0xff, 0xff, 0xff, 0xff),
  dataBody: new Uint8Array(0),
  appMetadata: new Uint8Array(0),
};

/** Receive limit: pyarrow and other clients send one unsplit message per batch. */
export const DEFAULT_CLIENT_MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

/**
 * HTTP/2 flow-control window of the client's connection and streams. grpc-js otherwise keeps
 * 64 KiB, which halves DoGet throughput; grpc-js has no BDP probing to grow it.
 */
export const CLIENT_FLOW_CONTROL_WINDOW = 4 * 1024 * 1024;

/**
 * Receive window of each DoGet stream on the HTTP/2 path (the connection gets four times as much):
 * also the most a consumer that stops pulling leaves buffered in the connection, besides the few
 * MB of received messages the call holds.
 */
export const DOGET_FLOW_CONTROL_WINDOW = 16 * 1024 * 1024;

/**
 * Channel options the HTTP/2 DoGet path honours (the window) or may ignore (reconnect backoff:
 * it connects on demand). Any other option sends DoGet through grpc-js too.
 */
const HTTP2_DOGET_CHANNEL_OPTIONS = new Set([
  'grpc-node.flow_control_window',
  'grpc.max_receive_message_length',
  'grpc.max_send_message_length',
  'grpc.initial_reconnect_backoff_ms',
  'grpc.max_reconnect_backoff_ms',
]);

export interface FlightClientOptions {
  /**
   * DoGet over node:http2 directly ('http2', the default: no copy of each message as grpc-js makes,
   * a third less client CPU per hot full scan, measured) or over grpc-js
   * like every other call. Channel options other than the flow-control window, message limits and
   * reconnect backoff imply 'grpc-js'.
   */
  doGetTransport?: 'http2' | 'grpc-js';
  /** Bearer token sent as `authorization: Bearer <token>` on every call (or obtain one with handshake). */
  token?: string;
  /** Largest message received or sent. Default 256 MiB. */
  maxMessageBytes?: number;
  /** DoPut splits record batches into messages of at most this size. Default 2 MiB. */
  putMessageBytes?: number;
  /** Extra grpc-js channel options, applied last. */
  channelOptions?: Partial<ChannelOptions>;
  /** TLS settings for `grpc+tls://` URLs (refused with a plaintext URL). */
  tls?: FlightClientTlsOptions;
}

export interface FlightClientTlsOptions {
  /** PEM certificates of the CAs to trust; default: Node's bundled root CAs. */
  rootCerts?: Buffer | string;
  /** PEM client certificate chain, for servers that verify clients (with `privateKey`). */
  certChain?: Buffer | string;
  /** PEM private key of `certChain`. */
  privateKey?: Buffer | string;
  /** Host name to verify the server certificate against, when it differs from the URL's host. */
  serverName?: string;
}

/** A FlightInfo whose schema is decoded; the encapsulated bytes stay in `schemaBytes`. */
export interface ClientFlightInfo extends Omit<FlightInfo, 'schema'> {
  schema: Schema;
  schemaBytes: Uint8Array;
}

export interface DoGetOptions {
  /** The call fails with DEADLINE_EXCEEDED at this time (a Date or ms since the epoch). */
  deadline?: Date | number;
  /** Aborting it cancels the call: the server stops, iteration ends with CANCELLED. */
  signal?: AbortSignal;
}

export interface DoPutOptions {
  /** The stream schema; required to put zero batches. Defaults to the first batch's. */
  schema?: Schema;
}

export interface DoPutResult {
  /** app_metadata of the last PutResult (empty if the server sent none). */
  appMetadata: Uint8Array;
  /** app_metadata of every PutResult, in order. */
  results: Uint8Array[];
}

export class FlightClient {
  readonly #client: Client;
  readonly #doGetClient: Http2DoGetClient | undefined;
  readonly #putMessageBytes: number;
  #token: string | undefined;

  /** `url`: `grpc://host:port`, `grpc+tcp://host:port` or `grpc+tls://host[:port]`. */
  constructor(url: string, opts: FlightClientOptions = {}) {
    const { address, credentials, origin, tls } = parseFlightUrl(url, opts.tls);
    const maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_CLIENT_MAX_MESSAGE_BYTES;
    const serverName = opts.tls?.serverName;
    const channelOptions: Partial<ChannelOptions> = opts.channelOptions ?? {};
    const http2DoGet =
      (opts.doGetTransport ?? 'http2') === 'http2' && Object.keys(channelOptions).every((key) => HTTP2_DOGET_CHANNEL_OPTIONS.has(key));
    if (http2DoGet) {
      const window = channelOptions['grpc-node.flow_control_window'];
      const maxReceive = channelOptions['grpc.max_receive_message_length'];
      this.#doGetClient = new Http2DoGetClient({
        origin,
        authority: serverName ?? address,
        ...(tls === undefined ? {} : { tls }),
        windowBytes: typeof window === 'number' ? window : DOGET_FLOW_CONTROL_WINDOW,
        maxMessageBytes: typeof maxReceive === 'number' && maxReceive >= 0 ? maxReceive : maxMessageBytes,
      });
    }
    this.#client = new Client(address, credentials, {
      'grpc.max_receive_message_length': maxMessageBytes,
      'grpc.max_send_message_length': maxMessageBytes,
      'grpc-node.flow_control_window': CLIENT_FLOW_CONTROL_WINDOW,
      ...(serverName === undefined ? {} : { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName }),
      ...opts.channelOptions,
    });
    this.#putMessageBytes = opts.putMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#token = opts.token === undefined ? undefined : stripBearer(opts.token);
  }

  /** The bearer token sent with each call, if any. */
  get token(): string | undefined {
    return this.#token;
  }

  /**
   * Basic-auth Handshake as pyarrow's `authenticate_basic_token` does it: `authorization: Basic …`,
   * no request message, half-close; the token comes from the `authorization: Bearer …` trailer,
   * else the response header. Stores and returns it ('' if the server sent none).
   */
  async handshake(user: string, password: string): Promise<string> {
    const method = flightServiceDefinition.Handshake;
    const metadata = new Metadata();
    metadata.set('authorization', `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`);
    const call = this.#client.makeBidiStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      metadata,
    );
    let headerToken: string | undefined;
    const trailers = new Promise<Metadata>((resolve, reject) => {
      call.on('metadata', (headers: Metadata) => {
        headerToken = bearerOf(headers);
      });
      call.on('data', () => undefined);
      call.on('status', (s: StatusObject) => (s.code === status.OK ? resolve(s.metadata) : reject(fromServiceError(s))));
      call.on('error', () => undefined); // 'status' carries it
    });
    call.end();
    const token = bearerOf(await trailers) ?? headerToken;
    if (token !== undefined) this.#token = token;
    return token ?? '';
  }

  /** One FlightInfo per flight the server lists (flightdeck: per dataset). */
  async *listFlights(expression?: Uint8Array | string | object): AsyncGenerator<ClientFlightInfo, void, undefined> {
    const method = flightServiceDefinition.ListFlights;
    const request = { expression: expression === undefined ? Buffer.alloc(0) : toBuffer(expression) };
    const call = this.#client.makeServerStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      this.#metadata(),
    );
    for await (const info of responseStream(call)) yield withSchema(info);
  }

  async getFlightInfo(descriptor: FlightDescriptor): Promise<ClientFlightInfo> {
    return withSchema(await this.#unary(flightServiceDefinition.GetFlightInfo, descriptor));
  }

  async getSchema(descriptor: FlightDescriptor): Promise<Schema> {
    const result = await this.#unary(flightServiceDefinition.GetSchema, descriptor);
    return decodeSchema(result.schema);
  }

  /** Streams a ticket's record batches; the call starts at once. */
  doGet(ticket: Uint8Array | string | Ticket, opts: DoGetOptions = {}): FlightRecordBatchStream {
    const method = flightServiceDefinition.DoGet;
    const request = { ticket: ticketBytes(ticket) };
    if (this.#doGetClient !== undefined) {
      const headers = this.#token !== undefined && this.#token !== '' ? { authorization: `Bearer ${this.#token}` } : {};
      const call = this.#doGetClient.doGet(method.requestSerialize(request), { ...opts, headers });
      return decodeFlightData(call.messages, { onCancel: () => call.cancel() });
    }
    const call = this.#client.makeServerStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      this.#metadata(),
      opts.deadline === undefined ? {} : { deadline: opts.deadline },
    );
    const { signal } = opts;
    if (signal !== undefined) {
      const onAbort = (): void => call.cancel();
      if (signal.aborted) call.cancel();
      else signal.addEventListener('abort', onAbort, { once: true });
      call.on('status', () => signal.removeEventListener('abort', onAbort));
    }
    return decodeFlightData(responseStream(call), { onCancel: () => call.cancel() });
  }

  /** A ticket's rows as one Table (empty, with the schema, for zero batches). */
  async readTable(ticket: Uint8Array | string | Ticket): Promise<Table> {
    return this.doGet(ticket).readTable();
  }

  /**
   * Uploads batches under `descriptor` (sent with the first message, which carries the schema),
   * honouring backpressure; resolves with the server's PutResult metadata once the call ends OK,
   * rejects with the server's status as FlightError.
   */
  async doPut(
    descriptor: FlightDescriptor,
    batches: Iterable<RecordBatch> | AsyncIterable<RecordBatch>,
    opts: DoPutOptions = {},
  ): Promise<DoPutResult> {
    const method = flightServiceDefinition.DoPut;
    const call = this.#client.makeBidiStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      this.#metadata(),
    );
    const results: Uint8Array[] = [];
    let closed = false;
    let failure: FlightError | undefined;
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (result: PutResult) => results.push(result.appMetadata));
      call.on('status', (s: StatusObject) => {
        closed = true;
        if (s.code === status.OK) {
          resolve();
        } else {
          failure = fromServiceError(s);
          reject(failure);
        }
      });
      call.on('error', () => undefined); // 'status' carries it
    });
    done.catch(() => undefined);

    try {
      const messages = encodeFlightData(batches, {
        descriptor,
        maxMessageBytes: this.#putMessageBytes,
        ...(opts.schema === undefined ? {} : { schema: opts.schema }),
      });
      // A refusal (or shutdown) surfaces at once, even while the producer is between batches.
      const iterator = messages[Symbol.asyncIterator]();
      const stopped = done.then(() => ({ done: true as const, value: undefined }));
      for (;;) {
        const next = await Promise.race([iterator.next(), stopped]);
        if (next.done || closed) {
          if (closed) void iterator.return(undefined).catch(() => undefined);
          break;
        }
        if (!call.write(next.value)) {
          await Promise.race([new Promise<void>((resolve) => call.once('drain', resolve)), done]);
        }
      }
    } catch (err) {
      if (closed) {
        call.end();
      } else {
        // Node's HTTP/2 ends the request body (END_STREAM) before it sends RST_STREAM, so a server
        // can take a cancelled stream for a complete one and commit it. A message no decoder
        // accepts, sent first, makes any Flight server refuse the stream whatever follows.
        call.write(ABORT_MESSAGE);
        call.cancel();
      }
      throw failure ?? err;
    }
    call.end();
    await done;
    return { appMetadata: results.at(-1) ?? new Uint8Array(0), results };
  }

  /** Runs an action; yields each result body. The call starts at once. */
  doAction(type: string, body: Uint8Array | string | object = new Uint8Array(0)): AsyncGenerator<Uint8Array, void, undefined> {
    const method = flightServiceDefinition.DoAction;
    const call = this.#client.makeServerStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      { type, body: toBuffer(body) },
      this.#metadata(),
    );
    return (async function* bodies() {
      for await (const result of responseStream(call)) yield result.body;
    })();
  }

  /** Runs an action whose body and first result are UTF-8 JSON. */
  async doActionJson<T = unknown>(type: string, body: object | string = {}): Promise<T> {
    const results: Uint8Array[] = [];
    for await (const result of this.doAction(type, body)) results.push(result);
    const first = results[0];
    if (first === undefined) throw new FlightError('INTERNAL', `action '${type}' returned no result`);
    const text = Buffer.from(first.buffer, first.byteOffset, first.byteLength).toString('utf8');
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new FlightError('INTERNAL', `action '${type}' returned a result that is not JSON: ${text.slice(0, 200)}`, {
        cause: err,
      });
    }
  }

  async listActions(): Promise<ActionType[]> {
    const method = flightServiceDefinition.ListActions;
    const call = this.#client.makeServerStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      {},
      this.#metadata(),
    );
    const actions: ActionType[] = [];
    for await (const action of responseStream(call)) actions.push(action);
    return actions;
  }

  close(): void {
    this.#client.close();
    this.#doGetClient?.close();
  }

  #metadata(): Metadata {
    const metadata = new Metadata();
    if (this.#token !== undefined && this.#token !== '') metadata.set('authorization', `Bearer ${this.#token}`);
    return metadata;
  }

  #unary<Req, Res>(method: MethodDefinition<Req, Res>, request: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.#client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        this.#metadata(),
        (err, value) => (err || value === undefined ? reject(fromServiceError(err)) : resolve(value)),
      );
    });
  }
}

function pem(value: Buffer | string | undefined): Buffer | null {
  if (value === undefined) return null;
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

interface ParsedFlightUrl {
  /** host:port for grpc-js. */
  address: string;
  credentials: ChannelCredentials;
  /** http:// or https:// origin for node:http2. */
  origin: string;
  /** node:http2's TLS options, for grpc+tls://. */
  tls: SecureClientSessionOptions | undefined;
}

function parseFlightUrl(url: string, tls: FlightClientTlsOptions | undefined): ParsedFlightUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new FlightError('INVALID_ARGUMENT', `invalid Flight URL '${url}': expected grpc://host:port`);
  }
  let credentials: ChannelCredentials;
  let defaultPort = '';
  let http2Tls: SecureClientSessionOptions | undefined;
  switch (parsed.protocol) {
    case 'grpc:':
    case 'grpc+tcp:':
      if (tls !== undefined) {
        throw new FlightError('INVALID_ARGUMENT', `TLS options were given for the plaintext Flight URL '${url}': use grpc+tls://`);
      }
      credentials = grpcCredentials.createInsecure();
      break;
    case 'grpc+tls:':
      if ((tls?.certChain === undefined) !== (tls?.privateKey === undefined)) {
        throw new FlightError('INVALID_ARGUMENT', 'a TLS client certificate needs both certChain and privateKey');
      }
      credentials = grpcCredentials.createSsl(pem(tls?.rootCerts), pem(tls?.privateKey), pem(tls?.certChain));
      defaultPort = '443';
      http2Tls = {
        ...(tls?.rootCerts === undefined ? {} : { ca: tls.rootCerts }),
        ...(tls?.certChain === undefined ? {} : { cert: tls.certChain }),
        ...(tls?.privateKey === undefined ? {} : { key: tls.privateKey }),
        ...(tls?.serverName === undefined ? {} : { servername: tls.serverName }),
      };
      break;
    default:
      throw new FlightError(
        'INVALID_ARGUMENT',
        `unsupported Flight URL scheme '${parsed.protocol}' in '${url}': use grpc://, grpc+tcp:// or grpc+tls://`,
      );
  }
  const port = parsed.port === '' ? defaultPort : parsed.port;
  if (parsed.hostname === '' || port === '') {
    throw new FlightError('INVALID_ARGUMENT', `Flight URL '${url}' needs a host and a port`);
  }
  const address = `${parsed.hostname}:${port}`;
  return { address, credentials, origin: `${http2Tls === undefined ? 'http' : 'https'}://${address}`, tls: http2Tls };
}

function withSchema(info: FlightInfo): ClientFlightInfo {
  return { ...info, schema: decodeSchema(info.schema), schemaBytes: info.schema };
}

function ticketBytes(ticket: Uint8Array | string | Ticket): Buffer {
  if (typeof ticket === 'string' || ticket instanceof Uint8Array) return toBuffer(ticket);
  return toBuffer(ticket.ticket);
}

/** The token of an `authorization: Bearer <token>` entry, if present. */
function bearerOf(metadata: Metadata): string | undefined {
  for (const value of metadata.get('authorization')) {
    const text = typeof value === 'string' ? value : value.toString('utf8');
    if (/^bearer /i.test(text)) return text.slice(7).trim();
  }
  return undefined;
}

function stripBearer(token: string): string {
  return /^bearer /i.test(token) ? token.slice(7).trim() : token;
}
