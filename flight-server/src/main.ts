/** Entry point: read config, open the store, listen; SIGINT/SIGTERM stop it cleanly. */
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { DatasetStore } from './storage/dataset-store.js';
import { startFlightServer } from './service/flight-server.js';

const config = loadConfig();
const logger = createLogger(config.logLevel);
const store = await DatasetStore.open(config, logger);
const server = await startFlightServer({ config, store, logger });
logger.info({ port: server.port, url: server.url, dataDir: config.dataDir }, 'flight server listening');

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'flight server stopping');
    server.close().then(() => process.exit(0));
  });
}
