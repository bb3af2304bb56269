/**
 * Prometheus metrics of the Flight server (prom-client, one registry per server) and the HTTP
 * endpoint that serves them on METRICS_PORT: `GET /metrics` (text format 0.0.4) and `GET /healthz`
 * (200 while serving, 503 once shutdown begins). Calls are counted where they end (CallLog.finish).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../../logger.js';
import type { CacheStats } from '../../storage/io/ipc-cache.js';
import type { DiskCacheStats } from '../../storage/object-store/disk-cache.js';
import type { ReadWindowStats } from '../../storage/read/read-window.js';
import { ACTION_ROLES } from '../auth/access-rules.js';
import type { StreamMemoryStats } from '../transport/stream-memory.js';

export interface MetricsSource {
  cacheStats(): CacheStats;
  listDatasets(): readonly unknown[];
  readWindowStats?(): ReadWindowStats;
  /** The disk tier of object-store files (DATA_URL); null without one. */
  diskCacheStats?(): DiskCacheStats | null;
  /** Commit listeners: one per open DoGet `follow` stream. */
  commits?: { listenerCount(): number };
  /** Whether this process runs background maintenance (always in local mode; the lease holder among replicas). */
  readonly maintains?: boolean;
}

/** What one finished call reports. */
export interface FinishedCall {
  rpc: string;
  action: string | undefined;
  /** gRPC status name, e.g. OK, INVALID_ARGUMENT. */
  status: string;
  seconds: number;
  rows: number;
  bytes: number;
}

const DIRECTION: Record<string, 'in' | 'out' | undefined> = { DoPut: 'in', DoGet: 'out', DoExchange: 'in' };

export class FlightMetrics {
  readonly registry = new Registry();
  readonly #calls: Counter<'call' | 'status'>;
  readonly #actions: Counter<'action' | 'status'>;
  readonly #duration: Histogram<'call'>;
  readonly #rows: Counter<'direction'>;
  readonly #bytes: Counter<'direction'>;
  readonly #commit: Histogram<'operation'>;
  readonly #open: Gauge<'call'>;
  #streamMemory: () => StreamMemoryStats = () => ({ reservedBytes: 0, limitBytes: 0, waiting: 0 });

  constructor(source: MetricsSource) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.#calls = new Counter({ name: 'flightdeck_flight_calls_total', help: 'Flight calls finished, by call and gRPC status', labelNames: ['call', 'status'], registers });
    this.#actions = new Counter({ name: 'flightdeck_flight_actions_total', help: 'DoAction calls finished, by action type and gRPC status', labelNames: ['action', 'status'], registers });
    this.#duration = new Histogram({
      name: 'flightdeck_flight_call_duration_seconds',
      help: 'Flight call durations, from arrival to the status',
      labelNames: ['call'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.#rows = new Counter({ name: 'flightdeck_flight_rows_total', help: 'Rows received by DoPut (in) and sent by DoGet (out)', labelNames: ['direction'], registers });
    this.#bytes = new Counter({ name: 'flightdeck_flight_bytes_total', help: 'Arrow IPC bytes (header + body) received by DoPut (in) and sent by DoGet (out)', labelNames: ['direction'], registers });
    this.#commit = new Histogram({
      name: 'flightdeck_commit_duration_seconds',
      help: 'Commit latency: for DoPut from the last message received to the version committed; for write actions the whole action',
      labelNames: ['operation'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.#open = new Gauge({ name: 'flightdeck_flight_open_calls', help: 'Flight calls (streams) in progress, by call', labelNames: ['call'], registers });
    for (const d of ['in', 'out'] as const) {
      this.#rows.inc({ direction: d }, 0);
      this.#bytes.inc({ direction: d }, 0);
    }
    const cacheCounter = (name: string, help: string, pick: (s: CacheStats) => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(pick(source.cacheStats()));
        },
      });
    cacheCounter('flightdeck_cache_hits_total', 'Partition reads served by the hot IPC cache', (s) => s.hits);
    cacheCounter('flightdeck_cache_misses_total', 'Partition reads that missed the hot IPC cache', (s) => s.misses);
    cacheCounter('flightdeck_cache_evictions_total', 'Entries evicted from the hot IPC cache', (s) => s.evictions);
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    gauge('flightdeck_cache_bytes', 'Bytes held by the hot IPC cache', () => source.cacheStats().bytes);
    gauge('flightdeck_cache_capacity_bytes', 'Capacity of the hot IPC cache (CACHE_MB)', () => source.cacheStats().capacityBytes);
    gauge('flightdeck_cache_entries', 'Entries in the hot IPC cache', () => source.cacheStats().entries);
    // The disk tier of object-store files, when the server has one (DATA_URL).
    if (source.diskCacheStats?.()) {
      const diskStats = () => source.diskCacheStats!()!;
      const diskCounter = (name: string, help: string, pick: (s: DiskCacheStats) => number) =>
        new Counter({
          name,
          help,
          registers,
          collect() {
            this.reset();
            this.inc(pick(diskStats()));
          },
        });
      gauge('flightdeck_disk_cache_bytes', 'Bytes of object-store file blocks in the disk tier (CACHE_DIR)', () => diskStats().bytes);
      gauge('flightdeck_disk_cache_capacity_bytes', 'Capacity of the disk tier (CACHE_DISK_MB)', () => diskStats().capacityBytes);
      diskCounter('flightdeck_disk_cache_hits_total', 'Blocks read from the disk tier', (s) => s.hits);
      diskCounter('flightdeck_disk_cache_misses_total', 'Blocks fetched from the object store', (s) => s.misses);
      diskCounter('flightdeck_disk_cache_fetched_bytes_total', 'Bytes fetched from the object store by ranged GETs', (s) => s.bytesFetched);
      diskCounter('flightdeck_disk_cache_corrupt_total', 'Disk tier blocks found torn or corrupt and fetched again', (s) => s.corrupt);
      diskCounter('flightdeck_disk_cache_evictions_total', 'Blocks evicted from the disk tier', (s) => s.evictions);
    }
    gauge('flightdeck_datasets', 'Datasets the server holds', () => source.listDatasets().length);
    gauge('flightdeck_maintenance_lease_held', 'Whether this server runs background compaction and retention (1); among replicas one holds the lease', () =>
      source.maintains === false ? 0 : 1,
    );
    gauge('flightdeck_doget_memory_bytes', 'Bytes reserved by open DoGet streams (read windows and unflushed messages)', () => this.#streamMemory().reservedBytes);
    gauge('flightdeck_doget_memory_limit_bytes', 'What open DoGet streams may reserve together (FLIGHT_STREAM_MEMORY_MB; 0 = unlimited)', () => this.#streamMemory().limitBytes);
    gauge('flightdeck_doget_memory_waiting', 'DoGet streams waiting for memory', () => this.#streamMemory().waiting);
    gauge('flightdeck_flight_followers', 'Open DoGet follow streams (listeners of commit notifications)', () => source.commits?.listenerCount() ?? 0);
    gauge('flightdeck_read_window_bytes', 'Decoded bytes held in the file windows of reads in progress', () => source.readWindowStats?.().heldBytes ?? 0);
  }

  /** Where the DoGet memory gauges read from (the CallGate's budget). */
  observeStreamMemory(read: () => StreamMemoryStats): void {
    this.#streamMemory = read;
  }

  callStarted(rpc: string): void {
    this.#open.inc({ call: rpc });
  }

  callFinished(c: FinishedCall): void {
    this.#open.dec({ call: c.rpc });
    this.#calls.inc({ call: c.rpc, status: c.status });
    this.#duration.observe({ call: c.rpc }, c.seconds);
    if (c.action !== undefined) {
      // Only known action types become label values: clients choose the type string.
      const known = Object.hasOwn(ACTION_ROLES, c.action);
      this.#actions.inc({ action: known ? c.action : 'unknown', status: c.status });
      if (known && c.status === 'OK' && ACTION_ROLES[c.action as keyof typeof ACTION_ROLES] !== 'read') {
        this.#commit.observe({ operation: c.action }, c.seconds);
      }
    }
    const direction = DIRECTION[c.rpc];
    if (direction !== undefined) {
      this.#rows.inc({ direction }, c.rows);
      this.#bytes.inc({ direction }, c.bytes);
    }
  }

  observeCommit(operation: string, seconds: number): void {
    this.#commit.observe({ operation }, seconds);
  }
}

export interface RunningMetricsServer {
  port: number;
  close(): Promise<void>;
}

/** Serves `/metrics` and `/healthz` on host:port (0 = a free port). */
export async function startMetricsServer(
  metrics: FlightMetrics,
  opts: { host: string; port: number; serving: () => boolean; logger: Logger },
): Promise<RunningMetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
        (err: unknown) => {
          opts.logger.error({ err }, 'metrics collection failed');
          res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
        },
      );
    } else if (path === '/healthz') {
      const up = opts.serving();
      res.writeHead(up ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: up ? 'ok' : 'shutting_down' }));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
    }
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
