/**
 * Entry point: read config, open the store, listen. SIGINT/SIGTERM shut down gracefully: no new
 * calls, DoPuts still receiving are aborted, running calls get FLIGHT_SHUTDOWN_GRACE_MS to finish;
 * a second signal cuts them at once. The process exits 0 after a clean shutdown.
 * With FLIGHT_ADVERTISE_URL the process registers as a replica once it listens (GetFlightInfo then
 * lists the live replicas as endpoint locations) and deregisters first thing on shutdown.
 */
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { DatasetStore } from './storage/dataset-store.js';
import { startFlightServer } from './server/server.js';
import type { ReplicaRegistration } from './storage/catalog/catalog-backend.js';

const config = loadConfig();
const logger = createLogger(config.logLevel);
const store = await DatasetStore.open(config, logger);
let registration: ReplicaRegistration | null = null;
const server = await startFlightServer({ config, store, logger, liveReplicaUrls: config.advertiseUrl ? () => registration?.liveUrls() ?? [] : undefined });
if (config.advertiseUrl) registration = await store.registerReplica(config.advertiseUrl);
logger.info(
  {
    port: server.port,
    url: server.url,
    advertiseUrl: config.advertiseUrl,
    dataDir: config.dataDir,
    catalog: store.catalogDescription,
    data: store.dataDescription,
    metricsPort: server.metricsPort,
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
