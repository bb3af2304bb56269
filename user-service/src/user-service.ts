/**
 * The user subgraph as a server. `createUserService` serves a database someone else opened (tests,
 * or an embedding process); `startUserService` opens and migrates the configured database first and
 * closes it again on `close()`. `main.ts` only reads config and calls the latter.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { UserServiceConfig } from './config.js';
import { openDatabase, type Backend, type Database } from './db/connect.js';
import { createApollo } from './graphql/apollo.js';
import { createRequestHandler } from './http/request-handler.js';
import { createLogger, type Logger } from './logger.js';
import { UserStore } from './user-store.js';

export interface UserServiceDeps {
  /** An open database with migrations applied. */
  database: Database;
  logger: Logger;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
}

export interface RunningUserService {
  /** The GraphQL endpoint, e.g. `http://127.0.0.1:4002/graphql`. */
  url: string;
  port: number;
  host: string;
  backend: Backend;
  /** Stops accepting requests, lets running ones finish (up to `graceMs`), then forces the rest. Idempotent. */
  close(graceMs?: number): Promise<void>;
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

async function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}

export async function createUserService(deps: UserServiceDeps): Promise<RunningUserService> {
  const { database, logger } = deps;
  const host = deps.host ?? '127.0.0.1';
  const store = new UserStore(database.db);
  const server = createServer();
  // Keep-alive sockets from the gateway must not outlive a restart by minutes.
  server.keepAliveTimeout = 5_000;
  server.requestTimeout = 30_000;
  const apollo = createApollo(server, logger);
  await apollo.start();
  server.on('request', createRequestHandler({ apollo, database, store, logger }));

  let address: AddressInfo;
  try {
    address = await listen(server, host, deps.port ?? 0);
  } catch (error) {
    await apollo.stop();
    throw error;
  }
  const url = `http://${formatHost(host)}:${address.port}/graphql`;

  let closing: Promise<void> | undefined;
  return {
    url,
    port: address.port,
    host,
    backend: database.backend,
    close(graceMs = 10_000) {
      closing ??= (async () => {
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        force.unref();
        try {
          // The drain plugin closes the server and waits for in-flight requests.
          await apollo.stop();
        } finally {
          clearTimeout(force);
        }
      })();
      return closing;
    },
  };
}

export interface StartOptions {
  /** Default: a root logger at `config.logLevel`. */
  logger?: Logger;
}

export async function startUserService(config: UserServiceConfig, options: StartOptions = {}): Promise<RunningUserService> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, logger });
  let service: RunningUserService;
  try {
    await database.migrate();
    logger.info({ backend: database.backend, ...(database.backend === 'pglite' ? { dataDir: config.dataDir } : {}) }, 'user database ready');
    service = await createUserService({ database, logger, host: config.host, port: config.port });
  } catch (error) {
    await database.close();
    throw error;
  }
  logger.info({ port: service.port, url: service.url, backend: database.backend }, 'user service listening');
  let closing: Promise<void> | undefined;
  return {
    ...service,
    close(graceMs?: number) {
      closing ??= service.close(graceMs).finally(() => database.close());
      return closing;
    },
  };
}
