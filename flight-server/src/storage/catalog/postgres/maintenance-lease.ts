/**
 * Maintenance on one replica at a time: background compaction and retention run only in the
 * process holding one PostgreSQL session advisory lock, taken on a dedicated connection. The lock
 * is released by PostgreSQL when that session ends (the process exits, is killed, or its
 * connection breaks), and a waiting replica takes it at its next try.
 *
 * One global lock rather than one per dataset: each process already runs its maintenance one job
 * at a time (its cores belong to the calls), so per-dataset locks would spread work over replicas
 * only by also running merges in parallel on several machines against one object store; one lock
 * needs one connection and one key (no dataset name hashed into the advisory key space, no
 * collisions), and the holder is easy to name in logs. Correctness never rests on the lock: a
 * compaction is an ordinary versioned commit, so a job still running on a replica that just lost
 * the lease at worst loses its commit race and is dropped.
 */
import pg from 'pg';
import type { MaintenanceLease } from '../catalog-backend.js';
import type { CatalogLog } from './pg-connection.js';

/** pg_advisory_lock key of the maintenance lease ("fldm"; migrations hold "fldc"). */
export const MAINTENANCE_LOCK = 0x666c646d;

export interface LeaseOptions {
  /** How often a replica without the lease tries to take it, and the holder checks its session (ms). */
  retryMs: number;
  /** Connection timeout (ms). */
  timeoutMs: number;
}

export class PgMaintenanceLease implements MaintenanceLease {
  private client: pg.Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private listeners: ((held: boolean) => void)[] = [];
  private closed = false;
  private heldNow = false;
  private ticking: Promise<void> | null = null;
  private waitingSaid = false;

  constructor(
    private readonly url: string,
    private readonly description: string,
    private readonly log: CatalogLog,
    private readonly opts: LeaseOptions,
  ) {}

  get held(): boolean {
    return this.heldNow;
  }

  onChange(listener: (held: boolean) => void): void {
    this.listeners.push(listener);
  }

  /** Tries at once, then every `retryMs`. */
  start(): void {
    this.schedule(0);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    const client = this.client;
    this.client = null;
    this.set(false, 'maintenance lease given up (shutdown)');
    // Ending the session releases the lock.
    await client?.end().catch(() => undefined);
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick().finally(() => {
        this.ticking = null;
        this.schedule(this.opts.retryMs);
      });
    }, ms);
    this.timer.unref();
  }

  private set(held: boolean, msg: string, err?: unknown): void {
    if (held === this.heldNow) return;
    this.heldNow = held;
    if (held) this.log.info({ catalog: this.description, lock: MAINTENANCE_LOCK }, msg);
    else this.log.warn({ err, catalog: this.description, lock: MAINTENANCE_LOCK }, msg);
    for (const l of this.listeners) l(held);
  }

  private async tick(): Promise<void> {
    try {
      const client = this.client ?? (await this.connect());
      if (this.heldNow) {
        // The session is the lease: a query that fails means it may be gone.
        await client.query('SELECT 1');
        return;
      }
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [MAINTENANCE_LOCK]);
      if (rows[0]?.ok) this.set(true, 'maintenance lease acquired: this replica runs background compaction and retention');
      else if (!this.waitingSaid) {
        this.waitingSaid = true;
        this.log.info({ catalog: this.description, lock: MAINTENANCE_LOCK }, 'maintenance lease held by another replica; this one takes it over when that one goes');
      }
    } catch (err) {
      this.drop(err);
    }
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.url,
      connectionTimeoutMillis: this.opts.timeoutMs,
      query_timeout: this.opts.timeoutMs,
      keepAlive: true,
      application_name: 'flightdeck-maintenance',
    });
    client.on('error', (err) => this.drop(err, client));
    client.on('end', () => this.drop(undefined, client));
    await client.connect();
    // A holder cut off without a FIN (its machine gone) must not keep the lock for the kernel's
    // default two hours: PostgreSQL probes this session and ends it within about 25 s.
    await client.query('SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3');
    if (this.closed) {
      await client.end().catch(() => undefined);
      throw new Error('maintenance lease closed');
    }
    this.client = client;
    return client;
  }

  /** The session is gone (or unusable): so is the lock. */
  private drop(err: unknown, client: pg.Client | null = this.client): void {
    if (client !== this.client) return; // an earlier session, already replaced
    if (client !== null) {
      this.client = null;
      void client.end().catch(() => undefined);
    }
    if (this.closed) return;
    this.set(false, 'maintenance lease lost with its catalog session; another replica may take it over', err);
  }
}
