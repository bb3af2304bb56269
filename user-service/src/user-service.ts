/**
 * The user subgraph as a server. `createUserService` serves a database someone else opened (tests,
 * or an embedding process); `startUserService` opens and migrates the configured database first and
 * closes it again on `close()`. `main.ts` only reads config and calls the latter.
 */
import { closeServer, createHttpFront, listen, NotReady } from '@flightdeck/graphql-http';
import type { UserServiceConfig } from './config.js';
import { openDatabase, type Backend, type Database } from './db/connect.js';
import { createApollo } from './graphql/apollo.js';
import type { UserContext } from './graphql/context.js';
import { createLoaders } from './graphql/loaders.js';
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

export async function createUserService(deps: UserServiceDeps): Promise<RunningUserService> {
  const { database, logger } = deps;
  const host = deps.host ?? '127.0.0.1';
  const store = new UserStore(database.db);
  const apollo = createApollo(logger);
  await apollo.start();
  // The HTTP front the three GraphQL processes share (graphql-http): routes, request ids, body limit.
  const http = createHttpFront<UserContext>({
    service: 'user-service',
    apollo,
    logger,
    context: async (_req, { reqId, log }) => ({ store, loaders: createLoaders(store), logger: log, reqId }),
    ready: async () => {
      try {
        await database.ping();
      } catch (error) {
        logger.warn({ err: error }, 'database unreachable');
        // The cause stays in the log: driver errors may name hosts and users.
        throw new NotReady('database unreachable', { database: database.backend });
      }
      return { database: database.backend };
    },
  });

  let port: number;
  let url: string;
  try {
    ({ port, url } = await listen(http, host, deps.port ?? 0));
  } catch (error) {
    await apollo.stop();
    throw error;
  }

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    host,
    backend: database.backend,
    close(graceMs = 10_000) {
      closing ??= (async () => {
        try {
          await closeServer(http, graceMs);
        } finally {
          await apollo.stop();
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
