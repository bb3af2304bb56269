/** Entry point: read config, listen; SIGINT/SIGTERM stop it cleanly. */
import { loadConfig } from './config.js';
import { startFacade } from './facade.js';
import { createLogger } from './logger.js';

const config = loadConfig();
const logger = createLogger(config.logLevel);
const facade = await startFacade(config, { logger });

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'graphql facade stopping');
    facade.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'graphql facade failed to stop cleanly');
        process.exit(1);
      },
    );
  });
}
