/**
 * Entry point of `npm run migrate -w user-service`: applies the committed Drizzle migrations to the
 * configured database and exits (0 done, 1 failed). Deployments run it once per release (the
 * Kubernetes Job, compose's `users-migrate`) before the service starts; the service migrates on
 * start too, under the same advisory lock, so running both is safe.
 */
import { loadConfig } from './config.js';
import { openDatabase } from './db/connect.js';
import { createLogger } from './logger.js';

const config = loadConfig();
const logger = createLogger(config.logLevel);
const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, logger });
try {
  await database.migrate();
  logger.info({ backend: database.backend }, 'user database migrated');
} catch (error) {
  logger.error({ err: error }, 'user database migration failed');
  process.exitCode = 1;
} finally {
  await database.close();
}
