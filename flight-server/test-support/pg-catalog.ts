/**
 * For tests of the PostgreSQL catalog: a database of its own per test on the server CI runs
 * (`DATABASE_URL`, else postgres://postgres@127.0.0.1:5432/test), dropped afterwards. With
 * DATABASE_URL set, an unreachable server fails the tests; without it, they are skipped (and say
 * so) on a machine with no PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import pg from 'pg';

export const ADMIN_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

async function reachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Whether the PostgreSQL tests run; throws when DATABASE_URL names a server that does not answer. */
export async function postgresForTests(): Promise<boolean> {
  if (await reachable()) return true;
  if (process.env.DATABASE_URL) throw new Error(`PostgreSQL at DATABASE_URL is not reachable; the PostgreSQL catalog tests need it`);
  return false;
}

export const PG_AVAILABLE = await postgresForTests();

export interface TestDatabase {
  url: string;
  name: string;
  /** The same database through another host:port (a proxy in front of it). */
  urlVia(port: number): string;
  drop(): Promise<void>;
}

/** Creates a fresh database; drop() removes it, closing whatever connections are left. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `fd_catalog_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const at = (port?: number) => {
    const u = new URL(ADMIN_URL);
    u.pathname = `/${name}`;
    if (port !== undefined) {
      u.hostname = '127.0.0.1';
      u.port = String(port);
    }
    return u.toString();
  };
  return {
    url: at(),
    name,
    urlVia: (port) => at(port),
    async drop() {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/**
 * A TCP proxy between the server and PostgreSQL that a test can cut (`close`: refuses new
 * connections and resets open ones) and bring back on the same port (`open`).
 */
export class TcpProxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  /** Armed by cutOnCommit: the connection to cut, once it has inserted a version. */
  private cutArmed = false;
  port = 0;

  /**
   * Cuts the next connection that commits a version (it sent `INSERT INTO flightdeck.versions`)
   * right after its COMMIT reaches PostgreSQL, before the answer gets back: the client cannot
   * know whether the commit happened.
   */
  cutOnCommit(): void {
    this.cutArmed = true;
  }

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  static forUrl(url: string): TcpProxy {
    const u = new URL(url);
    return new TcpProxy(u.hostname, Number(u.port || 5432));
  }

  async open(): Promise<number> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      this.sockets.add(client);
      this.sockets.add(upstream);
      let cut = false;
      const end = () => {
        client.destroy();
        if (!cut) upstream.destroy(); // a cut connection's COMMIT is still on its way up
        upstream.resume();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
      let insertedVersion = false;
      client.on('data', (chunk: Buffer) => {
        const text = chunk.toString('latin1');
        if (this.cutArmed && text.includes('INSERT INTO flightdeck.versions')) insertedVersion = true;
        if (this.cutArmed && insertedVersion && text.includes('COMMIT')) {
          this.cutArmed = false;
          cut = true;
          // The COMMIT goes on to PostgreSQL; its answer never comes back.
          upstream.unpipe(client);
          upstream.end(chunk);
          client.destroy();
          return;
        }
        if (!upstream.write(chunk)) {
          client.pause();
          upstream.once('drain', () => client.resume());
        }
      });
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
    return this.port;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
