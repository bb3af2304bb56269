/** Entry point: read config, start the user service; SIGINT/SIGTERM stop it cleanly. */
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { startUserService } from './user-service.js';

const config = loadConfig();
const logger = createLogger(config.logLevel);
const service = await startUserService(config, { logger });

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'user service stopping');
    service.close().then(
      () => {
        logger.info('user service stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'user service failed to stop cleanly');
        process.exit(1);
      },
    );
  });
}
