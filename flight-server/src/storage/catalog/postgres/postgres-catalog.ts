/**
 * The PostgreSQL catalog (`CATALOG_URL=postgres://…`): every dataset's versions and files in one
 * database that any number of flight-server processes share. Start-up applies the schema
 * migrations (migrate.ts). Every commit notifies a channel with (dataset, version); each process
 * LISTENs on one dedicated connection and catches up at once. While that connection is down the
 * catalog is polled every `pollMs` (and once more when it is back), and every 30 s in any case,
 * so no change is missed.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Manifest } from '../../manifest.js';
import { StorageError } from '../../errors.js';
import type { CatalogBackend, CatalogEvent, DatasetCatalogHandle, MaintenanceLease, ReplicaRegistration } from '../catalog-backend.js';
import { PgMaintenanceLease } from './maintenance-lease.js';
import { DEFAULT_REGISTRY_OPTIONS, PgReplicaRegistration, type RegistryOptions } from './replica-registry.js';
import { CATALOG_SCHEMA as S, migrate } from './migrate.js';
import { catalogError } from './pg-errors.js';
import { checkout, type CatalogLog } from './pg-connection.js';
import { PgDatasetCatalog, type PgAccess } from './pg-dataset-catalog.js';

export interface PostgresCatalogOptions {
  /** How often the catalog is polled while the LISTEN connection is down (ms). */
  pollMs?: number;
  /** Connection and statement timeouts (ms): a catalog that does not answer is UNAVAILABLE after this. */
  timeoutMs?: number;
  /** Connections the pool may open. */
  poolSize?: number;
  /** How often a replica without the maintenance lease tries to take it (ms). */
  leaseRetryMs?: number;
  /** Replica heartbeat and liveness window (ms). */
  registry?: RegistryOptions;
}


const CHANNEL = 'flightdeck_catalog';
const SAFETY_POLL_MS = 30_000;

/** `PostgreSQL catalog at host:port/database`, never the password. */
export function describeCatalogUrl(url: string): string {
  try {
    const u = new URL(url);
    return `PostgreSQL catalog at ${u.hostname}:${u.port || '5432'}${u.pathname || '/'}`;
  } catch {
    return 'PostgreSQL catalog';
  }
}

export class PostgresCatalog implements CatalogBackend, PgAccess {
  readonly shared = true;
  readonly channel = CHANNEL;
  readonly origin = randomUUID();
  private readonly handles = new Map<string, PgDatasetCatalog>();
  private listeners: ((e: CatalogEvent) => void)[] = [];
  private listenClient: pg.Client | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  /** A slow poll even while LISTEN is up: a connection can die without telling (half-open TCP). */
  private safetyTimer: NodeJS.Timeout | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private reconnectDelayMs = 250;
  private closed = false;
  private lease: PgMaintenanceLease | null = null;
  private readonly registrations = new Set<PgReplicaRegistration>();

  private constructor(
    private readonly url: string,
    readonly pool: pg.Pool,
    readonly description: string,
    private readonly log: CatalogLog,
    private readonly opts: Required<Omit<PostgresCatalogOptions, 'registry'>> & { registry: RegistryOptions },
  ) {}

  /** Connects, migrates the schema and starts listening; UNAVAILABLE naming the catalog when it cannot be reached. */
  static async connect(url: string, log: CatalogLog, options: PostgresCatalogOptions = {}): Promise<PostgresCatalog> {
    const opts = {
      pollMs: options.pollMs ?? 1000,
      timeoutMs: options.timeoutMs ?? 10_000,
      poolSize: options.poolSize ?? 8,
      leaseRetryMs: options.leaseRetryMs ?? 1000,
      registry: options.registry ?? DEFAULT_REGISTRY_OPTIONS,
    };
    const description = describeCatalogUrl(url);
    const pool = new pg.Pool({
      connectionString: url,
      max: opts.poolSize,
      connectionTimeoutMillis: opts.timeoutMs,
      query_timeout: opts.timeoutMs,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: 'flightdeck',
    });
    // An idle connection that breaks is dropped from the pool; the next call opens another.
    pool.on('error', (err) => log.warn({ err, catalog: description }, 'catalog connection lost'));
    const catalog = new PostgresCatalog(url, pool, description, log, opts);
    try {
      const applied = await migrate(pool, description);
      if (applied.length > 0) log.info({ catalog: description, migrations: applied }, 'catalog schema migrated');
      await catalog.listen();
      catalog.safetyTimer = setInterval(() => void catalog.poll(), SAFETY_POLL_MS);
      catalog.safetyTimer.unref();
    } catch (e) {
      await catalog.close();
      throw catalogError(e, description);
    }
    return catalog;
  }

  async snapshot<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await checkout(this.pool, this.description);
    let broken: Error | undefined;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (e) {
      await client.query('ROLLBACK').catch((err: Error) => (broken = err));
      throw catalogError(e, this.description);
    } finally {
      client.release(broken);
    }
  }

  async listDatasets(): Promise<string[]> {
    const rows = await this.snapshot((c) => c.query<{ name: string }>(`SELECT name FROM ${S}.datasets ORDER BY name`));
    return rows.rows.map((r) => r.name);
  }

  async openDataset(name: string): Promise<DatasetCatalogHandle | null> {
    const handle = await PgDatasetCatalog.open(this, name);
    if (handle && !this.handles.has(name)) this.handles.set(name, handle);
    return handle;
  }

  async createDataset(first: Manifest): Promise<DatasetCatalogHandle> {
    const handle = await PgDatasetCatalog.create(this, first);
    this.handles.set(first.name, handle);
    return handle;
  }

  async dropDataset(name: string, handle: DatasetCatalogHandle): Promise<void> {
    const id = (handle as PgDatasetCatalog).id;
    const client = await checkout(this.pool, this.description);
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const del = await client.query(`DELETE FROM ${S}.datasets WHERE dataset_id = $1`, [id]);
      if (del.rowCount === 0) throw new StorageError('NOT_FOUND', `dataset "${name}" does not exist (dropped by another writer)`);
      await client.query('SELECT pg_notify($1, $2)', [this.channel, JSON.stringify({ dataset: name, version: null, origin: this.origin })]);
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch((err: Error) => (broken = err));
      throw catalogError(e, this.description);
    } finally {
      client.release(broken);
    }
    await handle.close();
  }

  forget(handle: PgDatasetCatalog): void {
    const name = handle.current.name;
    if (this.handles.get(name) === handle) this.handles.delete(name);
  }

  watch(listener: (event: CatalogEvent) => void): void {
    this.listeners.push(listener);
  }

  /** One session advisory lock among all replicas (maintenance-lease.ts); tried at once, then every second. */
  maintenanceLease(): MaintenanceLease {
    if (!this.lease) {
      this.lease = new PgMaintenanceLease(this.url, this.description, this.log, { retryMs: this.opts.leaseRetryMs, timeoutMs: this.opts.timeoutMs });
      this.lease.start();
    }
    return this.lease;
  }

  async registerReplica(url: string): Promise<ReplicaRegistration> {
    const r = await PgReplicaRegistration.start(this.pool, this.description, url, this.log, this.opts.registry);
    this.registrations.add(r);
    return r;
  }

  /** True while the LISTEN connection is up (changes arrive at once rather than by polling). */
  get listening(): boolean {
    return this.listenClient !== null;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.registrations].map((r) => r.close()));
    await this.lease?.close();
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.safetyTimer) clearInterval(this.safetyTimer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const client = this.listenClient;
    this.listenClient = null;
    await client?.end().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }

  private emit(event: CatalogEvent): void {
    for (const l of this.listeners) l(event);
  }

  /** Opens the LISTEN connection; on its loss, polls until it is back. */
  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: this.opts.timeoutMs, keepAlive: true, application_name: 'flightdeck-listen' });
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (this.listenClient === client) this.listenClient = null;
      void client.end().catch(() => undefined);
      if (this.closed) return;
      this.log.warn({ err, catalog: this.description }, 'catalog LISTEN connection lost; polling until it is back');
      this.startPolling();
      this.scheduleReconnect();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (msg) => {
      if (msg.channel !== this.channel || !msg.payload) return;
      try {
        const { dataset, version, origin } = JSON.parse(msg.payload) as { dataset: string; version: number | null; origin: string };
        if (origin !== this.origin && typeof dataset === 'string') this.emit({ dataset, version });
      } catch (err) {
        this.log.warn({ err, payload: msg.payload }, 'unreadable catalog notification ignored');
      }
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
    } catch (e) {
      lost = true;
      await client.end().catch(() => undefined);
      throw e;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.listenClient = client;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.listen().then(
        () => {
          this.reconnectDelayMs = 250;
          this.stopPolling();
          this.log.info({ catalog: this.description }, 'catalog LISTEN connection back');
          // Whatever was committed while it was down.
          void this.poll();
        },
        () => {
          this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, 5000);
          this.scheduleReconnect();
        },
      );
    }, this.reconnectDelayMs);
    this.reconnectTimer.unref();
  }

  private startPolling(): void {
    if (this.pollTimer || this.closed) return;
    this.pollTimer = setInterval(() => void this.poll(), this.opts.pollMs);
    this.pollTimer.unref();
  }

  private stopPolling(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
  }

  /** Compares every dataset's newest version and horizon with the handles held; emits an event for each difference. */
  async poll(): Promise<void> {
    let rows: { name: string; dataset_id: string; oldest_version: string; head: string | null }[];
    try {
      rows = (
        await this.snapshot((c) =>
          c.query<{ name: string; dataset_id: string; oldest_version: string; head: string | null }>(
            `SELECT name, dataset_id, oldest_version, (SELECT max(version) FROM ${S}.versions v WHERE v.dataset_id = d.dataset_id) AS head FROM ${S}.datasets d`,
          ),
        )
      ).rows;
    } catch {
      return; // unreachable: the next poll tries again
    }
    const seen = new Set<string>();
    for (const r of rows) {
      seen.add(r.name);
      const h = this.handles.get(r.name);
      if (!h || h.id !== r.dataset_id || String(h.current.version) !== r.head || String(h.oldestVersion) !== r.oldest_version) {
        this.emit({ dataset: r.name, version: r.head === null ? null : Number(r.head) });
      }
    }
    for (const name of this.handles.keys()) if (!seen.has(name)) this.emit({ dataset: name, version: null });
  }
}
