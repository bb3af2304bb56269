/**
 * The backends every integration suite runs against: PGlite always, PostgreSQL when DATABASE_URL is
 * set. Each `provision()` gives a database of its own (a fresh PGlite directory, or a uniquely named
 * PostgreSQL database created through the server's `postgres` database and dropped afterwards), so
 * concurrent runs never collide.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../config.js';

export interface ProvisionedDatabase {
  /** What `DATABASE_URL` would be for this database (undefined: PGlite). */
  databaseUrl: string | undefined;
  /** PGlite's data directory (also set for PostgreSQL, unused there). */
  dataDir: string;
  /** Removes the database or directory. */
  drop(): Promise<void>;
}

export interface TestBackend {
  name: 'pglite' | 'postgres';
  provision(): Promise<ProvisionedDatabase>;
}

const pglite: TestBackend = {
  name: 'pglite',
  async provision() {
    const root = await mkdtemp(join(tmpdir(), 'user-service-test-'));
    return {
      databaseUrl: undefined,
      dataDir: join(root, 'users'),
      drop: () => rm(root, { recursive: true, force: true }),
    };
  },
};

async function withAdmin<T>(serverUrl: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const admin = new URL(serverUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

function postgres(serverUrl: string): TestBackend {
  return {
    name: 'postgres',
    async provision() {
      const name = `user_service_test_${process.pid}_${randomBytes(4).toString('hex')}`;
      await withAdmin(serverUrl, (c) => c.query(`create database "${name}"`));
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      return {
        databaseUrl: url.toString(),
        dataDir: join(tmpdir(), 'unused-by-postgres'),
        drop: () => withAdmin(serverUrl, (c) => c.query(`drop database if exists "${name}" with (force)`)).then(() => undefined),
      };
    },
  };
}

const serverUrl = loadConfig().databaseUrl;

/** PGlite, plus PostgreSQL when DATABASE_URL is set (CI sets it). */
export const testBackends: TestBackend[] = serverUrl === undefined ? [pglite] : [pglite, postgres(serverUrl)];
