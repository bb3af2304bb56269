/**
 * Flight reads that follow replicas (README, "Run several replicas"). Replicas started with
 * FLIGHT_ADVERTISE_URL are listed by GetFlightInfo as endpoint locations; the facade learns that
 * list in the background (one cheap GetFlightInfo, a `limit: 1` query on the dataset it read last,
 * every `refreshMs` and at once after a failover), never on a request's path. A read is the query
 * JSON as a DoGet ticket, as before, sent to one known location (rotated, so reads spread), and on
 * UNAVAILABLE (or a CANCELLED this facade did not cause: a replica cutting its streams as it stops)
 * sent again to each other known location, then to `FLIGHT_URL` itself when it is not one of them,
 * through the proto package's LocationReader. A read is whole (its rows are collected before the
 * resolver sees them), so a retry from the start is exact. The facade's other calls are read-only
 * (`describe_dataset`, `list_keys`, `health`, ListFlights) and fail over the same way. A location
 * that failed is tried last until a refresh lists it again after `refreshMs`. Without advertised
 * locations (local mode) every call goes to `FLIGHT_URL` exactly as before.
 */
import { RecordBatch, Schema, Table } from 'apache-arrow';
import { cmdDescriptor, FlightClient, FlightError, LocationReader, type ClientFlightInfo, type FailoverEvent, type Ticket } from '@flightdeck/proto';
import type { Logger } from 'pino';
import type { FlightPort } from './flight-port.js';

/** Flight's URI meaning "the server the client asked" (the LocationReader reads it through the home client). */
const REUSE_CONNECTION = 'arrow-flight-reuse-connection://?';

export interface ReplicaReadsOptions {
  /** How often the known locations are refreshed, in ms (> 0). */
  refreshMs: number;
  log: Logger;
}

type TicketInput = Uint8Array | string | Ticket;

export class ReplicaReads {
  readonly #home: FlightClient;
  readonly #homeUrl: string;
  readonly #refreshMs: number;
  readonly #log: Logger;
  /** The live replicas' URLs as GetFlightInfo last listed them. */
  #known: string[] = [];
  /** Locations that failed a read, with when: tried last until a refresh after `refreshMs` lists them again. */
  readonly #failed = new Map<string, number>();
  #next = 0;
  /** The dataset of the last read: what the background GetFlightInfo asks about. */
  #dataset: string | undefined;
  #refreshing: Promise<void> | null = null;
  readonly #timer: NodeJS.Timeout;
  /** The reader (and its clients of the other replicas) for the home client's current token. */
  #reader: { token: string | undefined; reader: LocationReader } | null = null;
  /** Clients of the known locations other than FLIGHT_URL, for calls other than DoGet, with the token they carry. */
  #clients: { token: string | undefined; byUrl: Map<string, FlightClient> } = { token: undefined, byUrl: new Map() };
  #closed = false;

  constructor(home: FlightClient, homeUrl: string, opts: ReplicaReadsOptions) {
    this.#home = home;
    this.#homeUrl = homeUrl;
    this.#refreshMs = opts.refreshMs;
    this.#log = opts.log;
    this.#timer = setInterval(() => void this.refresh(), this.#refreshMs);
    this.#timer.unref();
  }

  /** The locations known now (empty: local mode, or not learned yet). */
  locations(): readonly string[] {
    return this.#known;
  }

  /** One whole read: through `FLIGHT_URL` when no location is known, else failing over across them. */
  async readTable(ticket: TicketInput, direct: (ticket: TicketInput) => Promise<Table>): Promise<Table> {
    const first = this.#dataset === undefined;
    this.#noteDataset(ticket);
    if (this.#known.length === 0) {
      if (first) void this.refresh();
      return direct(ticket);
    }
    const raw = typeof ticket === 'string' || ticket instanceof Uint8Array ? ticket : ticket.ticket;
    const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    // FLIGHT_URL among the replicas: read it through the home client's own connection.
    const order = this.#order().map((u) => (u === this.#homeUrl ? REUSE_CONNECTION : u));
    const batches: RecordBatch[] = [];
    for await (const b of this.#locationReader().batches({ endpoint: [{ ticket: { ticket: bytes }, location: order.map((uri) => ({ uri })), expirationTime: null, appMetadata: new Uint8Array(0) }] })) {
      batches.push(b);
    }
    return batches.length === 0 ? new Table(new Schema([])) : new Table(batches);
  }

  /** Asks for the live locations (coalesced); failures keep the list it had. */
  refresh(): Promise<void> {
    if (this.#closed || this.#dataset === undefined) return Promise.resolve();
    this.#refreshing ??= this.#doRefresh(this.#dataset).finally(() => (this.#refreshing = null));
    return this.#refreshing;
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#reader?.reader.close();
    this.#reader = null;
    for (const c of this.#clients.byUrl.values()) c.close();
    this.#clients.byUrl.clear();
  }

  /** The facade's Flight port: DoGet through {@link readTable}, its read-only calls through {@link call}. */
  port(): FlightPort {
    const home = this.#home;
    return {
      readTable: (ticket) => this.readTable(ticket, (t) => home.readTable(t)),
      doActionJson: <T>(type: string, body?: object | string) => this.call((c) => c.doActionJson<T>(type, body)),
      // Collected whole, so a retry on another replica repeats nothing.
      listFlights: (expression) => {
        const all = () =>
          this.call(async (c) => {
            const infos: ClientFlightInfo[] = [];
            for await (const info of c.listFlights(expression)) infos.push(info);
            return infos;
          });
        return (async function* () {
          yield* await all();
        })();
      },
    };
  }

  /** A read-only call: on FLIGHT_URL when no location is known, else on each known location in turn until one is available. */
  async call<T>(run: (client: FlightClient) => Promise<T>): Promise<T> {
    if (this.#known.length === 0) return run(this.#home);
    const failures: string[] = [];
    let last: FlightError | undefined;
    for (const uri of this.#order()) {
      try {
        return await run(uri === REUSE_CONNECTION ? this.#home : this.#clientFor(uri));
      } catch (err) {
        if (!(err instanceof FlightError) || (err.code !== 'UNAVAILABLE' && err.code !== 'CANCELLED')) throw err;
        const where = uri === REUSE_CONNECTION ? this.#homeUrl : uri;
        failures.push(`${where}: ${err.message}`);
        last = err;
        this.#onFailover({ endpoint: 0, location: where, error: err, deliveredRows: 0 });
      }
    }
    throw failures.length === 1 ? last! : new FlightError('UNAVAILABLE', `every location failed (${failures.join('; ')})`);
  }

  /** Known locations rotated by one per read, those that failed lately last, then FLIGHT_URL itself if not among them. */
  #order(): string[] {
    const n = this.#known.length;
    const start = this.#next++ % n;
    const rotated = [...this.#known.slice(start), ...this.#known.slice(0, start)];
    const ok = rotated.filter((u) => !this.#failed.has(u));
    const failed = rotated.filter((u) => this.#failed.has(u));
    const order = [...ok, ...failed];
    if (!this.#known.includes(this.#homeUrl)) order.push(REUSE_CONNECTION);
    return order;
  }

  #locationReader(): LocationReader {
    const token = this.#home.token;
    if (this.#reader === null || this.#reader.token !== token) {
      this.#reader?.reader.close();
      this.#reader = { token, reader: new LocationReader(this.#home, { concurrency: 1, onFailover: (e) => this.#onFailover(e) }) };
    }
    return this.#reader.reader;
  }

  #onFailover(e: FailoverEvent): void {
    // The LocationReader names the home client's server by a phrase, not its URL.
    const location = e.location.includes('://') ? e.location : this.#homeUrl;
    this.#failed.set(location, Date.now());
    this.#log.warn({ location, flightCode: e.error.code, error: e.error.message }, 'flight read failed over to the next replica');
    void this.refresh();
  }

  #noteDataset(ticket: TicketInput): void {
    if (typeof ticket !== 'string') return;
    try {
      const dataset = (JSON.parse(ticket) as { dataset?: unknown }).dataset;
      if (typeof dataset === 'string') this.#dataset = dataset;
    } catch {
      // not a query ticket: keep the dataset known
    }
  }

  async #doRefresh(dataset: string): Promise<void> {
    const descriptor = cmdDescriptor({ dataset, limit: 1 });
    const askers = [this.#home, ...this.#known.filter((u) => u !== this.#homeUrl).map((u) => this.#clientFor(u))];
    for (const client of askers) {
      try {
        const info = await client.getFlightInfo(descriptor);
        const urls = [...new Set(info.endpoint.flatMap((e) => e.location.map((l) => l.uri)).filter((u) => u !== REUSE_CONNECTION))].sort();
        this.#learn(urls);
        return;
      } catch (err) {
        this.#log.debug({ err, dataset }, 'endpoint locations not refreshed from this server');
      }
    }
  }

  #learn(urls: string[]): void {
    if (urls.join() !== this.#known.join()) this.#log.info({ locations: urls }, 'flight endpoint locations');
    const now = Date.now();
    for (const [u, at] of this.#failed) if (!urls.includes(u) || now - at >= this.#refreshMs) this.#failed.delete(u);
    for (const [u, c] of this.#clients.byUrl) {
      if (!urls.includes(u)) {
        c.close();
        this.#clients.byUrl.delete(u);
      }
    }
    this.#known = urls;
  }

  #clientFor(url: string): FlightClient {
    if (url === this.#homeUrl) return this.#home;
    const token = this.#home.token;
    if (this.#clients.token !== token) {
      for (const c of this.#clients.byUrl.values()) c.close();
      this.#clients = { token, byUrl: new Map() };
    }
    let c = this.#clients.byUrl.get(url);
    if (c === undefined) {
      c = new FlightClient(url, token === undefined ? {} : { token });
      this.#clients.byUrl.set(url, c);
    }
    return c;
  }
}
