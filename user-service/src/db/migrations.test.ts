/**
 * Migrations: the committed SQL applies to an empty database, re-applying is a no-op across restarts,
 * concurrent starts against one PostgreSQL do not trip over each other, and schema.ts has no change
 * that drizzle-kit has not turned into a migration yet.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { UserServiceConfig } from '../config.js';
import { captureLogs } from '../testing/log-capture.js';
import { testBackends } from '../testing/backends.js';
import { graphql } from '../testing/graphql-client.js';
import { startUserService } from '../user-service.js';
import { MIGRATIONS_FOLDER, openDatabase, type Database } from './connect.js';

const packageDir = fileURLToPath(new URL('../..', import.meta.url));

interface Journal {
  entries: Array<{ idx: number; tag: string; when: number }>;
}
const journal = JSON.parse(await readFile(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as Journal;

async function rows(database: Database, query: ReturnType<typeof sql>): Promise<Array<Record<string, unknown>>> {
  return ((await database.db.execute(query)) as unknown as { rows: Array<Record<string, unknown>> }).rows;
}

async function appliedMigrations(database: Database): Promise<number> {
  const [row] = await rows(database, sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
  return Number(row?.n);
}

describe('committed migrations', () => {
  it('has one SQL file per journal entry', async () => {
    expect(journal.entries.length).toBeGreaterThan(0);
    const files = (await readdir(MIGRATIONS_FOLDER)).filter((f) => f.endsWith('.sql')).sort();
    expect(files).toEqual(journal.entries.map((e) => `${e.tag}.sql`).sort());
  });

  it('match schema.ts (drizzle-kit generate finds nothing new)', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'user-service-drift-'));
    try {
      await cp(MIGRATIONS_FOLDER, scratch, { recursive: true });
      const bin = join(dirname(createRequire(import.meta.url).resolve('drizzle-kit')), 'bin.cjs');
      // drizzle-kit takes --out relative to the working directory.
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [bin, 'generate', '--dialect', 'postgresql', '--schema', './src/db/schema.ts', '--out', relative(packageDir, scratch)],
        { cwd: packageDir },
      );
      expect(stdout).toContain('No schema changes');
      expect((await readdir(scratch)).filter((f) => f.endsWith('.sql')).length).toBe(journal.entries.length);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }, 60_000);
});

describe.each(testBackends)('migrations on $name', (backend) => {
  it('apply from empty at start-up and are idempotent on restart', async () => {
    const provisioned = await backend.provision();
    const { logger, lines } = captureLogs('info');
    const config: UserServiceConfig = {
      host: '127.0.0.1',
      port: 0,
      databaseUrl: provisioned.databaseUrl,
      dataDir: provisioned.dataDir,
      logLevel: 'info',
    };
    try {
      const first = await startUserService(config, { logger });
      const created = await graphql(first.url, 'mutation { createUser(email: "keep@example.com", name: "Keep") { id } }');
      expect(created.errors).toBeUndefined();
      await first.close();
      expect(lines.find((l) => l.msg === 'user service listening')).toMatchObject({ port: first.port, url: first.url });

      const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, logger });
      try {
        expect(await appliedMigrations(database)).toBe(journal.entries.length);
        await database.migrate();
        await database.migrate();
        expect(await appliedMigrations(database)).toBe(journal.entries.length);
        const tables = await rows(
          database,
          sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
        );
        expect(tables.map((t) => t.table_name)).toEqual(['users', 'watchlist_symbols', 'watchlists']);
      } finally {
        await database.close();
      }

      const second = await startUserService(config, { logger });
      try {
        const users = await graphql(second.url, '{ users { email } }');
        expect(users.data).toEqual({ users: [{ email: 'keep@example.com' }] });
      } finally {
        await second.close();
      }
    } finally {
      await provisioned.drop();
    }
  }, 60_000);

  if (backend.name === 'postgres') {
    it('serialises instances that migrate the same database at once', async () => {
      const provisioned = await backend.provision();
      const { logger } = captureLogs('silent');
      const open = () => openDatabase({ databaseUrl: provisioned.databaseUrl, dataDir: provisioned.dataDir, logger });
      const instances = await Promise.all([open(), open(), open()]);
      try {
        await Promise.all(instances.map((d) => d.migrate()));
        expect(await appliedMigrations(instances[0]!)).toBe(journal.entries.length);
      } finally {
        await Promise.all(instances.map((d) => d.close()));
        await provisioned.drop();
      }
    }, 60_000);
  }

  if (backend.name === 'pglite') {
    it('refuses a second open of one data directory, and frees it on close', async () => {
      const provisioned = await backend.provision();
      const { logger } = captureLogs('silent');
      const open = () => openDatabase({ databaseUrl: undefined, dataDir: provisioned.dataDir, logger });
      try {
        const first = await open();
        await expect(open()).rejects.toThrow(/USERS_DATA_DIR .* is in use by process/);
        await first.ping();
        await first.close();
        await expect(first.ping()).rejects.toThrow();
        const again = await open();
        await again.ping();
        await again.close();
      } finally {
        await provisioned.drop();
      }
    }, 60_000);
  }
});
