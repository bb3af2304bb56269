/**
 * Reading a FlightInfo the way its endpoints say: each endpoint from its first location (a server
 * that lists replicas spreads endpoints over them), or from the client's own server when it has
 * none (Flight: "if the list is empty, the ticket can only be redeemed on the current service"),
 * several endpoints at once (bounded), and an endpoint whose location answers UNAVAILABLE
 * (a replica stopped, killed or unreachable) read again at the next location. A stream the
 * server reset (a replica cutting its calls at the end of its shutdown grace) reaches grpc-js as
 * CANCELLED "Call cancelled" although this client cancelled nothing: it fails over too.
 *
 * Exactly once, by a clean restart: the rows of an endpoint are delivered as they arrive; when its
 * stream breaks, the endpoint is requested again from its start at the next location and the rows
 * already delivered are skipped (counted, not compared). That is sound because a ticket names one
 * committed version and each DoGet stream is in key/time order with unique keys (the contract), so
 * every replica answers a ticket with the same rows in the same order. Not for `follow` streams,
 * whose rows are in commit order. Endpoints are delivered in the FlightInfo's order; the ones read
 * ahead hold at most `bufferBatches` batches each until their turn (HTTP/2 flow control holds the
 * rest on the server), so memory stays bounded whatever an endpoint's size.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import { Table } from 'apache-arrow';
import { FlightClient, type FlightClientOptions } from './client.js';
import { FlightError } from './errors.js';
import type { FlightEndpoint, FlightInfo } from './messages.js';

/** The location, not the request, failed: try the endpoint at the next one. */
function locationFailed(error: FlightError): boolean {
  return error.code === 'UNAVAILABLE' || error.code === 'CANCELLED';
}

/** Flight's URI meaning "this same server, this same connection" (arrow-flight's constant). */
const REUSE_CONNECTION = 'arrow-flight-reuse-connection://?';

export interface LocationReaderOptions {
  /** Endpoints read at once (default 4). */
  concurrency?: number;
  /** Batches an endpoint read ahead of its turn may hold (default 16). */
  bufferBatches?: number;
  /**
   * Options of the clients opened for locations other than the home client's server (token, TLS,
   * message size). Default: the home client's bearer token.
   */
  clientOptions?: FlightClientOptions;
  /** Told of each failover: the endpoint's index, the location that failed, why, and the rows of it already delivered. */
  onFailover?: (event: FailoverEvent) => void;
}

export interface FailoverEvent {
  endpoint: number;
  location: string;
  error: FlightError;
  /** Rows of the endpoint delivered before its stream broke: skipped when it is read again from its start. */
  deliveredRows: number;
}

/** What a FlightInfo must have to be read: its endpoints (and, for a table, its schema). */
export type ReadableInfo = Pick<FlightInfo, 'endpoint'> & { schema?: Schema | Uint8Array };

export class LocationReader {
  readonly #home: FlightClient;
  readonly #clients = new Map<string, FlightClient>();
  readonly #concurrency: number;
  readonly #bufferBatches: number;
  readonly #clientOptions: FlightClientOptions;
  readonly #onFailover: LocationReaderOptions['onFailover'];

  /** `home`: the client that got the FlightInfo; endpoints without a location are read through it. */
  constructor(home: FlightClient, opts: LocationReaderOptions = {}) {
    const concurrency = opts.concurrency ?? 4;
    const bufferBatches = opts.bufferBatches ?? 16;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new FlightError('INVALID_ARGUMENT', `concurrency must be an integer >= 1, not ${concurrency}`);
    if (!Number.isInteger(bufferBatches) || bufferBatches < 1) throw new FlightError('INVALID_ARGUMENT', `bufferBatches must be an integer >= 1, not ${bufferBatches}`);
    this.#home = home;
    this.#concurrency = concurrency;
    this.#bufferBatches = bufferBatches;
    this.#clientOptions = { ...(home.token === undefined ? {} : { token: home.token }), ...opts.clientOptions };
    this.#onFailover = opts.onFailover;
  }

  /**
   * Every endpoint's batches, endpoint after endpoint in the FlightInfo's order; up to
   * `concurrency` endpoints are read at once. Stopping early cancels the reads still running.
   */
  async *batches(info: ReadableInfo): AsyncGenerator<RecordBatch, void, undefined> {
    const endpoints = info.endpoint;
    const abort = new AbortController();
    const pumps: EndpointPump[] = [];
    const startNext = () => {
      const i = pumps.length;
      if (i < endpoints.length) pumps.push(new EndpointPump(this.#readEndpoint(i, endpoints[i]!, abort.signal), this.#bufferBatches));
    };
    try {
      for (let k = 0; k < this.#concurrency; k++) startNext();
      for (let i = 0; i < endpoints.length; i++) {
        yield* pumps[i]!.drain();
        startNext();
      }
    } finally {
      abort.abort();
      for (const p of pumps) p.stop();
    }
  }

  /** Every endpoint's rows as one Table (with the FlightInfo's schema when it has no rows). */
  async readTable(info: ReadableInfo & { schema: Schema }): Promise<Table> {
    const all: RecordBatch[] = [];
    for await (const b of this.batches(info)) all.push(b);
    return all.length === 0 ? new Table(info.schema) : new Table(all);
  }

  /** Closes the clients opened for locations (not the home client). */
  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }

  /** One endpoint's rows, once each, from the first of its locations that serves it to the end. */
  async *#readEndpoint(index: number, endpoint: FlightEndpoint, signal: AbortSignal): AsyncGenerator<RecordBatch, void, undefined> {
    if (!endpoint.ticket) throw new FlightError('INVALID_ARGUMENT', `endpoint ${index} has no ticket`);
    const ticket = endpoint.ticket;
    const locations = endpoint.location.length === 0 ? [null] : endpoint.location.map((l) => (l.uri === REUSE_CONNECTION ? null : l.uri));
    const failures: string[] = [];
    let delivered = 0;
    for (const [n, uri] of locations.entries()) {
      const where = uri ?? 'the client’s own server';
      const client = uri === null ? this.#home : this.#clientFor(uri);
      const stream = client.doGet(ticket);
      const onAbort = () => void stream.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
      let skip = delivered;
      try {
        for await (const batch of stream) {
          if (skip >= batch.numRows) {
            skip -= batch.numRows;
            continue;
          }
          const fresh = skip > 0 ? batch.slice(skip, batch.numRows) : batch;
          skip = 0;
          delivered += fresh.numRows;
          yield fresh;
        }
        if (skip > 0) {
          throw new FlightError('INTERNAL', `endpoint ${index}: ${where} answered ${delivered - skip} rows, fewer than the ${delivered} already read from a location that failed; its locations disagree`);
        }
        return;
      } catch (e) {
        const error = e instanceof FlightError ? e : new FlightError('INTERNAL', String((e as Error)?.message ?? e));
        if (!locationFailed(error) || signal.aborted) throw error;
        failures.push(`${where}: ${error.message}`);
        if (n < locations.length - 1) this.#onFailover?.({ endpoint: index, location: where, error, deliveredRows: delivered });
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    }
    throw new FlightError('UNAVAILABLE', `endpoint ${index}: every location failed (${failures.join('; ')})`);
  }

  #clientFor(uri: string): FlightClient {
    let c = this.#clients.get(uri);
    if (!c) {
      // TLS settings go to grpc+tls:// locations only (FlightClient refuses them with plaintext).
      const { tls, ...plain } = this.#clientOptions;
      c = new FlightClient(uri, uri.startsWith('grpc+tls:') ? this.#clientOptions : plain);
      void tls;
      this.#clients.set(uri, c);
    }
    return c;
  }
}

/**
 * Pulls one endpoint's batches into a queue of at most `max` while it waits for its turn, so
 * the endpoints after the one being delivered are read meanwhile.
 */
class EndpointPump {
  readonly #queue: RecordBatch[] = [];
  #done = false;
  #failure: { error: unknown } | null = null;
  #stopped = false;
  #wake: (() => void) | null = null;
  #room: (() => void) | null = null;

  constructor(
    source: AsyncGenerator<RecordBatch, void, undefined>,
    private readonly max: number,
  ) {
    void this.#run(source);
  }

  async *drain(): AsyncGenerator<RecordBatch, void, undefined> {
    for (;;) {
      const next = this.#queue.shift();
      if (next !== undefined) {
        this.#signal('room');
        yield next;
        continue;
      }
      if (this.#done) {
        if (this.#failure) throw this.#failure.error;
        return;
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  stop(): void {
    this.#stopped = true;
    this.#signal('room');
  }

  async #run(source: AsyncGenerator<RecordBatch, void, undefined>): Promise<void> {
    try {
      for await (const batch of source) {
        this.#queue.push(batch);
        this.#signal('wake');
        while (this.#queue.length >= this.max && !this.#stopped) await new Promise<void>((resolve) => (this.#room = resolve));
        if (this.#stopped) break;
      }
    } catch (error) {
      this.#failure = { error };
    } finally {
      this.#done = true;
      this.#signal('wake');
    }
  }

  #signal(which: 'wake' | 'room'): void {
    const f = which === 'wake' ? this.#wake : this.#room;
    if (which === 'wake') this.#wake = null;
    else this.#room = null;
    f?.();
  }
}
