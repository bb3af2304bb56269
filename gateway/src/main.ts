/** Entry point: read config, listen; SIGINT/SIGTERM stop it cleanly. */
import { loadConfig } from './config.js';
import { startGateway } from './gateway.js';
import { createLogger } from './logger.js';

const config = loadConfig();
const logger = createLogger(config.logLevel);

let stopping = false;
let stop: (() => Promise<void>) | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'gateway stopping');
    (stop ?? (async () => undefined))().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'gateway failed to stop cleanly');
        process.exit(1);
      },
    );
  });
}

try {
  const gateway = await startGateway(config, { logger });
  stop = gateway.close;
  if (stopping) await gateway.close();
} catch (err) {
  logger.fatal({ err }, `gateway failed to start: ${(err as Error).message}`);
  process.exit(1);
}
