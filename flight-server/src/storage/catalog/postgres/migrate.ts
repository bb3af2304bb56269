/**
 * Catalog schema migrations: versioned SQL files in `migrations/` (`NNNN_name.sql`), applied in
 * order at start-up, each in its own transaction, under a PostgreSQL advisory lock so replicas
 * starting together apply each once. A catalog migrated by a newer server is refused.
 */
import { readdir, readFile } from 'node:fs/promises';
import type { Pool } from 'pg';
import { StorageError } from '../../errors.js';
import { checkout } from './pg-connection.js';

export const CATALOG_SCHEMA = 'flightdeck';
/** pg_advisory_lock key of catalog migrations (any constant no other tool of ours uses). */
const MIGRATION_LOCK = 0x666c6463; // "fldc"
const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);
const FILE = /^(\d{4})_[a-z0-9_]+\.sql$/;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export async function loadMigrations(): Promise<Migration[]> {
  const names = (await readdir(MIGRATIONS_DIR)).filter((n) => FILE.test(n)).sort();
  return Promise.all(names.map(async (name) => ({ version: Number(FILE.exec(name)![1]), name, sql: await readFile(new URL(name, MIGRATIONS_DIR), 'utf8') })));
}

/** Applies the migrations the catalog lacks; returns the versions applied. */
export async function migrate(pool: Pool, description: string): Promise<number[]> {
  const migrations = await loadMigrations();
  const client = await checkout(pool, description);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${CATALOG_SCHEMA}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${CATALOG_SCHEMA}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const { rows } = await client.query<{ version: number }>(`SELECT version FROM ${CATALOG_SCHEMA}.schema_migrations`);
      const applied = new Set(rows.map((r) => r.version));
      const known = Math.max(0, ...migrations.map((m) => m.version));
      const newest = Math.max(0, ...applied);
      if (newest > known) {
        throw new StorageError('FAILED_PRECONDITION', `${description} has schema version ${newest}, newer than this server knows (${known}): upgrade the server`);
      }
      const done: number[] = [];
      for (const m of migrations) {
        if (applied.has(m.version)) continue;
        await client.query('BEGIN');
        try {
          await client.query(m.sql);
          await client.query(`INSERT INTO ${CATALOG_SCHEMA}.schema_migrations (version, name) VALUES ($1, $2)`, [m.version, m.name]);
          await client.query('COMMIT');
        } catch (e) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw new StorageError('INTERNAL', `${description}: migration ${m.name} failed: ${(e as Error).message}`);
        }
        done.push(m.version);
      }
      return done;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    }
  } finally {
    client.release();
  }
}
