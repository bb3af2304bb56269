/**
 * Replicas clients can find: each process with FLIGHT_ADVERTISE_URL keeps a row in
 * `flightdeck.replicas` (migration 0002) and beats its heartbeat every `heartbeatMs`; a replica is
 * live while its heartbeat is younger than `livenessMs`, judged by PostgreSQL's clock (`now()`), so
 * the replicas' own clocks may differ. Each beat also reads the live list, which GetFlightInfo
 * answers from memory. A graceful shutdown deletes the row; a killed replica drops out of the list
 * once its heartbeat is older than `livenessMs` (and its row is deleted an hour later).
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { ReplicaRegistration } from '../catalog-backend.js';
import { CATALOG_SCHEMA as S } from './migrate.js';
import { catalogError } from './pg-errors.js';
import type { CatalogLog } from './pg-connection.js';

export interface RegistryOptions {
  heartbeatMs: number;
  livenessMs: number;
}

export const DEFAULT_REGISTRY_OPTIONS: RegistryOptions = { heartbeatMs: 2000, livenessMs: 10_000 };

/** Rows of replicas gone this long are deleted by whichever replica beats next. */
const FORGET_AFTER = '1 hour';

export class PgReplicaRegistration implements ReplicaRegistration {
  private readonly id = randomUUID();
  private live: readonly string[];
  /** performance.now() of the last beat that reached the catalog. */
  private beatAt: number;
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  private closed = false;
  private failing = false;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly description: string,
    readonly url: string,
    private readonly log: CatalogLog,
    private readonly opts: RegistryOptions,
  ) {
    this.live = [url];
    this.beatAt = performance.now();
  }

  /** Registers at once (UNAVAILABLE naming the catalog when it cannot be reached), then beats. */
  static async start(pool: pg.Pool, description: string, url: string, log: CatalogLog, opts: RegistryOptions): Promise<PgReplicaRegistration> {
    const r = new PgReplicaRegistration(pool, description, url, log, opts);
    await r.beat();
    r.log.info({ catalog: description, url, replicas: r.live }, 'replica registered');
    r.schedule();
    return r;
  }

  /**
   * The live replicas' URLs, sorted. While the catalog cannot be reached for longer than the
   * liveness window, only this replica: the others' state is unknown, and this one answers.
   */
  liveUrls(): readonly string[] {
    if (performance.now() - this.beatAt > this.opts.livenessMs) return [this.url];
    return this.live;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.beating;
    try {
      await this.pool.query(`DELETE FROM ${S}.replicas WHERE replica_id = $1`, [this.id]);
      this.log.info({ catalog: this.description, url: this.url }, 'replica deregistered');
    } catch (err) {
      this.log.warn({ err: catalogError(err, this.description), url: this.url }, 'replica not deregistered; it drops out of the list when its heartbeat ages');
    }
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.beating = this.beat().then(
        () => {
          if (this.failing) this.log.info({ catalog: this.description, replicas: this.live }, 'replica heartbeat reaches the catalog again');
          this.failing = false;
        },
        (err: unknown) => {
          if (!this.failing) this.log.warn({ err, catalog: this.description }, 'replica heartbeat failed; retried');
          this.failing = true;
        },
      ).finally(() => {
        this.beating = null;
        this.schedule();
      });
    }, this.opts.heartbeatMs);
    this.timer.unref();
  }

  /** Upserts this replica's heartbeat and reads the live list, in one round trip of statements. */
  private async beat(): Promise<void> {
    const livenessSeconds = this.opts.livenessMs / 1000;
    try {
      await this.pool.query(
        `INSERT INTO ${S}.replicas (replica_id, url) VALUES ($1, $2)
         ON CONFLICT (replica_id) DO UPDATE SET url = EXCLUDED.url, heartbeat_at = now()`,
        [this.id, this.url],
      );
      const { rows } = await this.pool.query<{ url: string }>(
        `SELECT DISTINCT url FROM ${S}.replicas WHERE heartbeat_at > now() - make_interval(secs => $1) ORDER BY url`,
        [livenessSeconds],
      );
      await this.pool.query(`DELETE FROM ${S}.replicas WHERE heartbeat_at < now() - interval '${FORGET_AFTER}'`);
      if (this.closed) return;
      this.live = rows.map((r) => r.url);
      this.beatAt = performance.now();
    } catch (e) {
      throw catalogError(e, this.description);
    }
  }
}
