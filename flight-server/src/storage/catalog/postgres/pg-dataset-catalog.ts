/**
 * One dataset's catalog in PostgreSQL. A commit is one transaction: insert version V+1 (the
 * primary key (dataset, version) lets exactly one of two racing writers have it), mark the files
 * it removed with `removed_in = V+1`, insert the files it added with `added_in = V+1`, and
 * `pg_notify` the other replicas. Any version's files are the rows added at or before it and not
 * removed by then; catching up reads only the rows of the versions since the one held.
 */
import type { Pool, PoolClient } from 'pg';
import { StorageError } from '../../errors.js';
import { PromiseLru } from '../../io/promise-lru.js';
import type { FileEntry, Manifest, RowGroupStats } from '../../manifest.js';
import { CommitConflict, type CatalogAdvance, type DatasetCatalogHandle } from '../catalog-backend.js';
import { compareFiles, nextManifest, recordOf, type Change, type VersionRecord } from '../version-record.js';
import { CATALOG_SCHEMA as S } from './migrate.js';
import { catalogError } from './pg-errors.js';
import { checkout } from './pg-connection.js';

/** Past versions kept in memory for time travel and for tickets pinned to a version just replaced. */
const PAST_VERSIONS_KEPT = 16;

type Meta = NonNullable<VersionRecord['meta']>;

interface FileRow {
  path: string;
  added_in: string;
  partition: string;
  row_count: string;
  byte_count: string;
  min_time_ns: string;
  max_time_ns: string;
  min_key: string | null;
  max_key: string | null;
  columns: string[];
  row_groups: RowGroupStats[];
  ipc_path: string | null;
  ipc_bytes: string | null;
  removed_in: string | null;
}

const FILE_COLUMNS = 'path, added_in, partition, row_count, byte_count, min_time_ns, max_time_ns, min_key, max_key, columns, row_groups, ipc_path, ipc_bytes, removed_in';

function fileOf(r: FileRow): FileEntry {
  return {
    path: r.path,
    partition: r.partition,
    rows: Number(r.row_count),
    bytes: Number(r.byte_count),
    minTimeNs: r.min_time_ns,
    maxTimeNs: r.max_time_ns,
    minKey: r.min_key,
    maxKey: r.max_key,
    columns: r.columns,
    rowGroups: r.row_groups,
    ipc: r.ipc_path === null ? null : { path: r.ipc_path, bytes: Number(r.ipc_bytes) },
    addedIn: Number(r.added_in),
  };
}

function metaOf(m: Manifest): Meta {
  return recordOf(null, m, new Set()).meta!;
}

function manifestOf(meta: Meta, version: { version: number; committedAt: string; operation: Manifest['operation'] }, files: FileEntry[]): Manifest {
  return { format: 1, ...meta, ...version, files: files.sort(compareFiles) } as Manifest;
}

/** What the catalog connection does for a handle: transactions that map faults to storage errors. */
export interface PgAccess {
  readonly pool: Pool;
  readonly description: string;
  readonly channel: string;
  /** This process's id in notifications, so it skips its own. */
  readonly origin: string;
  /** Runs `fn` in a REPEATABLE READ, read-only transaction: one snapshot of the catalog. */
  snapshot<T>(fn: (c: PoolClient) => Promise<T>): Promise<T>;
  forget(handle: PgDatasetCatalog): void;
}

interface VersionRow {
  version: string;
  committed_at: string;
  operation: Manifest['operation'];
  meta: Meta | null;
}

export class PgDatasetCatalog implements DatasetCatalogHandle {
  private readonly past = new PromiseLru<Manifest>(PAST_VERSIONS_KEPT);
  /** Commits and refreshes of this handle, one at a time. */
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly db: PgAccess,
    /** The dataset's row id: a dataset dropped and created again has a new one. */
    readonly id: string,
    private state: Manifest,
    private oldest: number,
  ) {}

  get current(): Manifest {
    return this.state;
  }

  get oldestVersion(): number {
    return this.oldest;
  }

  /** Opens the newest version of `name`; null when the catalog has no such dataset. */
  static async open(db: PgAccess, name: string): Promise<PgDatasetCatalog | null> {
    return db.snapshot(async (c) => {
      const d = await c.query<{ dataset_id: string; oldest_version: string; head: string | null }>(
        `SELECT dataset_id, oldest_version, (SELECT max(version) FROM ${S}.versions v WHERE v.dataset_id = d.dataset_id) AS head FROM ${S}.datasets d WHERE name = $1`,
        [name],
      );
      const row = d.rows[0];
      if (!row || row.head === null) return null;
      const m = await loadVersion(c, row.dataset_id, Number(row.head), name);
      return new PgDatasetCatalog(db, row.dataset_id, m, Number(row.oldest_version));
    });
  }

  /** Commits version 0 of a new dataset; ALREADY_EXISTS when the name is taken. */
  static async create(db: PgAccess, first: Manifest): Promise<PgDatasetCatalog> {
    const client = await connect(db);
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const ins = await client.query<{ dataset_id: string }>(
        `INSERT INTO ${S}.datasets (name, oldest_version) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING dataset_id`,
        [first.name, first.version],
      );
      const id = ins.rows[0]?.dataset_id;
      if (id === undefined) throw new StorageError('ALREADY_EXISTS', `dataset "${first.name}" already exists`);
      await client.query(`INSERT INTO ${S}.versions (dataset_id, version, committed_at, operation, meta) VALUES ($1, $2, $3, $4, $5)`, [
        id,
        first.version,
        first.committedAt,
        first.operation,
        JSON.stringify(metaOf(first)),
      ]);
      await insertFiles(client, id, first.files.map((f) => ({ ...f, addedIn: first.version })));
      await notify(client, db, first.name, first.version);
      await commitTransaction(client, db.description);
      return new PgDatasetCatalog(db, id, first, first.version);
    } catch (e) {
      broken = await rollback(client);
      throw catalogError(e, db.description);
    } finally {
      client.release(broken);
    }
  }

  commit(change: Change, baseVersion: number): Promise<Manifest> {
    return this.exclusive(async () => {
      const base = this.state;
      const name = base.name;
      if (base.version !== baseVersion) throw new CommitConflict(`version ${baseVersion + 1} of "${name}" was committed by another writer`);
      const next = nextManifest(base, change, new Date().toISOString());
      const record = recordOf(base, next, change.removed ?? new Set());
      const client = await connect(this.db);
      let confirming = false;
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        try {
          await client.query(`INSERT INTO ${S}.versions (dataset_id, version, committed_at, operation, meta) VALUES ($1, $2, $3, $4, $5)`, [
            this.id,
            next.version,
            next.committedAt,
            next.operation,
            record.meta ? JSON.stringify(record.meta) : null,
          ]);
        } catch (e) {
          const code = (e as { code?: string }).code;
          if (code === '23505') throw new CommitConflict(`version ${next.version} of "${name}" was committed by another writer`);
          if (code === '23503') throw new StorageError('NOT_FOUND', `dataset "${name}" was dropped by another writer`);
          throw e;
        }
        if (record.removed.length > 0) {
          const upd = await client.query(`UPDATE ${S}.data_files SET removed_in = $3 WHERE dataset_id = $1 AND path = ANY($2::text[]) AND removed_in IS NULL`, [
            this.id,
            record.removed,
            next.version,
          ]);
          if (upd.rowCount !== record.removed.length) {
            throw new CommitConflict(`version ${next.version} of "${name}" removes files another writer already removed`);
          }
        }
        await insertFiles(client, this.id, record.added);
        await notify(client, this.db, name, next.version);
        confirming = true;
        await commitTransaction(client, this.db.description);
      } catch (e) {
        broken = confirming ? (e as Error) : await rollback(client);
        throw catalogError(e, this.db.description, confirming);
      } finally {
        client.release(broken);
      }
      void this.past.get(String(base.version), () => Promise.resolve(base));
      this.state = next;
      return next;
    });
  }

  async manifestAt(version: number): Promise<Manifest> {
    const current = this.state;
    if (version === current.version) return current;
    if (version < this.oldest) {
      throw new StorageError('NOT_FOUND', `version ${version} of dataset "${current.name}" does not exist (vacuumed; the oldest kept is ${this.oldest})`);
    }
    return this.past.get(String(version), () => this.db.snapshot((c) => loadVersion(c, this.id, version, current.name, current.version)));
  }

  refresh(): Promise<CatalogAdvance | null> {
    return this.exclusive(() =>
      this.db.snapshot(async (c) => {
        const d = await c.query<{ dataset_id: string; oldest_version: string; head: string | null }>(
          `SELECT dataset_id, oldest_version, (SELECT max(version) FROM ${S}.versions v WHERE v.dataset_id = d.dataset_id) AS head FROM ${S}.datasets d WHERE name = $1`,
          [this.state.name],
        );
        const row = d.rows[0];
        if (!row || row.dataset_id !== this.id || row.head === null) return { dropped: true, removed: [], released: [] };
        const head = Number(row.head);
        const oldest = Number(row.oldest_version);
        const from = this.state.version;
        if (head === from && oldest === this.oldest) return null;
        this.oldest = oldest;
        if (head <= from) return { dropped: false, removed: [], released: [] };
        const versions = await c.query<VersionRow>(
          `SELECT version, committed_at, operation, meta FROM ${S}.versions WHERE dataset_id = $1 AND version > $2 ORDER BY version`,
          [this.id, from],
        );
        const changed = await c.query<FileRow>(
          `SELECT ${FILE_COLUMNS} FROM ${S}.data_files WHERE dataset_id = $1 AND (added_in > $2 OR removed_in > $2)`,
          [this.id, from],
        );
        const removed = new Set(changed.rows.filter((r) => r.removed_in !== null && Number(r.added_in) <= from).map((r) => r.path));
        const added = changed.rows.filter((r) => Number(r.added_in) > from && r.removed_in === null).map(fileOf);
        const meta = versions.rows.reduce<Meta>((m, v) => v.meta ?? m, metaOf(this.state));
        const last = versions.rows.at(-1)!;
        const prev = this.state;
        const next = manifestOf(meta, { version: Number(last.version), committedAt: last.committed_at, operation: last.operation }, [
          ...prev.files.filter((f) => !removed.has(f.path)),
          ...added,
        ]);
        void this.past.get(String(prev.version), () => Promise.resolve(prev));
        this.state = next;
        return { dropped: false, removed: [...removed], released: [] };
      }),
    );
  }

  async referencedPaths(): Promise<Set<string>> {
    // Vacuum deletes the rows of files no retained version names: every row left is referenced.
    const rows = await this.db.snapshot((c) => c.query<{ path: string; ipc_path: string | null }>(`SELECT path, ipc_path FROM ${S}.data_files WHERE dataset_id = $1`, [this.id]));
    const out = new Set<string>();
    for (const r of rows.rows) {
      out.add(r.path);
      if (r.ipc_path !== null) out.add(r.ipc_path);
    }
    return out;
  }

  /**
   * Keeps the newest `retain` versions in one transaction: the oldest kept version gets the
   * schema and settings written out, older versions and the rows of files removed by then go,
   * and the horizon moves. Returns the stored paths of those files for the caller to delete.
   */
  vacuum(retain: number): Promise<{ oldest: number; released: string[] }> {
    return this.exclusive(async () => {
      const client = await connect(this.db);
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const d = await client.query<{ oldest_version: string }>(`SELECT oldest_version FROM ${S}.datasets WHERE dataset_id = $1 FOR UPDATE`, [this.id]);
        if (!d.rows[0]) throw new StorageError('NOT_FOUND', `dataset "${this.state.name}" was dropped by another writer`);
        const oldest = Number(d.rows[0].oldest_version);
        const head = await client.query<{ head: string }>(`SELECT max(version) AS head FROM ${S}.versions WHERE dataset_id = $1`, [this.id]);
        const keep = Math.max(oldest, Number(head.rows[0]!.head) - retain + 1);
        if (keep <= oldest) {
          await client.query('ROLLBACK');
          this.oldest = oldest;
          return { oldest, released: [] };
        }
        const meta = await client.query<{ meta: Meta }>(
          `SELECT meta FROM ${S}.versions WHERE dataset_id = $1 AND version <= $2 AND meta IS NOT NULL ORDER BY version DESC LIMIT 1`,
          [this.id, keep],
        );
        await client.query(`UPDATE ${S}.versions SET meta = $3 WHERE dataset_id = $1 AND version = $2 AND meta IS NULL`, [this.id, keep, JSON.stringify(meta.rows[0]!.meta)]);
        await client.query(`DELETE FROM ${S}.versions WHERE dataset_id = $1 AND version < $2`, [this.id, keep]);
        const gone = await client.query<{ path: string; ipc_path: string | null }>(
          `DELETE FROM ${S}.data_files WHERE dataset_id = $1 AND removed_in IS NOT NULL AND removed_in <= $2 RETURNING path, ipc_path`,
          [this.id, keep],
        );
        await client.query(`UPDATE ${S}.datasets SET oldest_version = $2 WHERE dataset_id = $1`, [this.id, keep]);
        await notify(client, this.db, this.state.name, Number(head.rows[0]!.head));
        await commitTransaction(client, this.db.description);
        this.oldest = keep;
        return { oldest: keep, released: gone.rows.flatMap((r) => (r.ipc_path === null ? [r.path] : [r.path, r.ipc_path])) };
      } catch (e) {
        broken = await rollback(client);
        throw catalogError(e, this.db.description);
      } finally {
        client.release(broken);
      }
    });
  }

  async close(): Promise<void> {
    await this.chain.catch(() => undefined);
    this.db.forget(this);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}

function connect(db: PgAccess): Promise<PoolClient> {
  return checkout(db.pool, db.description);
}

/** Rolls back; a connection that cannot even do that is released broken. */
async function rollback(client: PoolClient): Promise<Error | undefined> {
  try {
    await client.query('ROLLBACK');
    return undefined;
  } catch (e) {
    return e as Error;
  }
}

async function commitTransaction(client: PoolClient, description: string): Promise<void> {
  const result = await client.query('COMMIT');
  // A COMMIT of a failed transaction answers ROLLBACK instead of raising.
  if (result.command !== 'COMMIT') throw new StorageError('INTERNAL', `${description}: the commit was rolled back`);
}

function notify(client: PoolClient, db: PgAccess, dataset: string, version: number | null): Promise<unknown> {
  return client.query('SELECT pg_notify($1, $2)', [db.channel, JSON.stringify({ dataset, version, origin: db.origin })]);
}

/** Inserts file rows in one statement (arrays unnested), whatever their number. */
async function insertFiles(client: PoolClient, id: string, files: readonly FileEntry[]): Promise<void> {
  if (files.length === 0) return;
  await client.query(
    `INSERT INTO ${S}.data_files (dataset_id, path, added_in, partition, row_count, byte_count, min_time_ns, max_time_ns, min_key, max_key, columns, row_groups, ipc_path, ipc_bytes)
     SELECT $1, t.path, t.added_in, t.partition, t.row_count, t.byte_count, t.min_time_ns, t.max_time_ns, t.min_key, t.max_key, t.columns::jsonb, t.row_groups::jsonb, t.ipc_path, t.ipc_bytes
     FROM unnest($2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::bigint[])
       AS t(path, added_in, partition, row_count, byte_count, min_time_ns, max_time_ns, min_key, max_key, columns, row_groups, ipc_path, ipc_bytes)`,
    [
      id,
      files.map((f) => f.path),
      files.map((f) => f.addedIn),
      files.map((f) => f.partition),
      files.map((f) => f.rows),
      files.map((f) => f.bytes),
      files.map((f) => f.minTimeNs),
      files.map((f) => f.maxTimeNs),
      files.map((f) => f.minKey),
      files.map((f) => f.maxKey),
      files.map((f) => JSON.stringify(f.columns)),
      files.map((f) => JSON.stringify(f.rowGroups)),
      files.map((f) => f.ipc?.path ?? null),
      files.map((f) => f.ipc?.bytes ?? null),
    ],
  );
}

/** Rebuilds one version from the catalog: its row, the schema in force, and the files live at it. */
async function loadVersion(c: PoolClient, id: string, version: number, name: string, current?: number): Promise<Manifest> {
  const v = await c.query<VersionRow>(`SELECT version, committed_at, operation, meta FROM ${S}.versions WHERE dataset_id = $1 AND version = $2`, [id, version]);
  const row = v.rows[0];
  if (!row) {
    const d = await c.query<{ oldest_version: string }>(`SELECT oldest_version FROM ${S}.datasets WHERE dataset_id = $1`, [id]);
    const oldest = d.rows[0] ? Number(d.rows[0].oldest_version) : null;
    const why = oldest !== null && version < oldest ? `vacuumed; the oldest kept is ${oldest}` : `current is ${current ?? 'unknown'}`;
    throw new StorageError('NOT_FOUND', `version ${version} of dataset "${name}" does not exist (${why})`);
  }
  const meta =
    row.meta ??
    (
      await c.query<{ meta: Meta }>(
        `SELECT meta FROM ${S}.versions WHERE dataset_id = $1 AND version < $2 AND meta IS NOT NULL ORDER BY version DESC LIMIT 1`,
        [id, version],
      )
    ).rows[0]?.meta;
  if (!meta) throw new StorageError('INTERNAL', `catalog of dataset "${name}" has no schema at or before version ${version}`);
  const files = await c.query<FileRow>(
    `SELECT ${FILE_COLUMNS} FROM ${S}.data_files WHERE dataset_id = $1 AND added_in <= $2 AND (removed_in IS NULL OR removed_in > $2)`,
    [id, version],
  );
  return manifestOf(meta, { version, committedAt: row.committed_at, operation: row.operation }, files.rows.map(fileOf));
}
