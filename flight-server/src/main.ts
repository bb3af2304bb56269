/**
 * Entry point: read config, open the store, listen. SIGINT/SIGTERM shut down gracefully: no new
 * calls, DoPuts still receiving are aborted, running calls get FLIGHT_SHUTDOWN_GRACE_MS to finish;
 * a second signal cuts them at once. The process exits 0 after a clean shutdown.
 * With FLIGHT_ADVERTISE_URL the process registers as a replica once it listens (GetFlightInfo then
 * lists the live replicas as endpoint locations) and deregisters first thing on shutdown.
 */
import { readFileSync } from 'node:fs';
import { loadConfig, type FlightServerConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { lockDataDir } from './storage/data-dir-lock.js';
import { DatasetStore } from './storage/dataset-store.js';
import { startFlightServer } from './server/server.js';
import type { ReplicaRegistration } from './storage/catalog/catalog-backend.js';

/**
 * A start-up fault the operator must fix (a setting, a catalog or object store that does not
 * answer, a port in use) is one log line naming it, exit status 1; only an unexpected error
 * carries its stack.
 */
function startupFailed(log: Logger, err: unknown): never {
  const code = (err as { code?: unknown }).code;
  const message = (err as Error).message ?? String(err);
  // grpc-js reports a port in use as a plain Error naming EADDRINUSE in its message.
  if (typeof code === 'string' || /\b(EADDRINUSE|EADDRNOTAVAIL|EACCES)\b/.test(message)) log.fatal({ code }, `flight server could not start: ${message}`);
  else log.fatal({ err }, `flight server could not start: ${message}`);
  process.exit(1);
}

/**
 * The kernel's transparent huge page mode (`always`, `madvise` or `never`), or null where it cannot
 * be read: with `never`, GLIBC_TUNABLES' `glibc.malloc.hugetlb=1` has no effect.
 */
function transparentHugePagesMode(): string | null {
  try {
    return /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1] ?? null;
  } catch {
    return null;
  }
}

/** How long a stop waits for the store's background work to reach a safe point. */
const STORE_CLOSE_MS = 10_000;

let config: FlightServerConfig;
try {
  config = loadConfig();
} catch (err) {
  process.stderr.write(`flight-server: ${(err as Error).message}\n`);
  process.exit(2);
}
const logger = createLogger(config.logLevel);
let registration: ReplicaRegistration | null = null;
// The file catalog has one writer: a second server on this DATA_DIR is refused (data-dir-lock.ts).
const dataDirLock = config.catalogUrl === null ? await lockDataDir(config.dataDir).catch((err: unknown) => startupFailed(logger, err)) : null;
const { store, server } = await (async () => {
  const store = await DatasetStore.open(config, logger);
  try {
    const server = await startFlightServer({ config, store, logger, liveReplicaUrls: config.advertiseUrl ? () => registration?.liveUrls() ?? [] : undefined });
    return { store, server };
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
})().catch((err: unknown) => startupFailed(logger, err));
if (config.advertiseUrl) registration = await store.registerReplica(config.advertiseUrl).catch((err: unknown) => startupFailed(logger, err));
logger.info(
  {
    port: server.port,
    url: server.url,
    advertiseUrl: config.advertiseUrl,
    dataDir: config.dataDir,
    catalog: store.catalogDescription,
    data: store.dataDescription,
    metricsPort: server.metricsPort,
    mallocHugePages: config.mallocHugePages,
    transparentHugePages: transparentHugePagesMode(),
  },
  'flight server listening',
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: cutting the calls still open');
      void server.close(0);
      return;
    }
    stopping = true;
    logger.info({ signal, graceMs: config.shutdownGraceMs }, 'flight server stopping');
    // Other replicas stop listing this one before it stops taking calls (a catalog that does not
    // answer holds the shutdown up 2 s at most: the row then ages out of the liveness window).
    const deregistered = registration ? Promise.race([registration.close(), new Promise((r) => setTimeout(r, 2000))]) : Promise.resolve();
    deregistered
      .then(() => server.close(config.shutdownGraceMs))
      // Background work (compaction, encoding) stops at a safe point; one that hangs does not hold the exit.
      .then(() => Promise.race([store.close(), new Promise((r) => setTimeout(r, STORE_CLOSE_MS).unref())]))
      .then(() => dataDirLock?.release())
      .then(
        () => {
          logger.info('flight server stopped');
          process.exit(0);
        },
        (err: unknown) => {
          logger.error({ err }, 'flight server shutdown failed');
          process.exit(1);
        },
      );
  });
}
