import { createLogger as createServiceLogger, type Logger } from '@flightdeck/graphql-http';

/** The user service's root logger; database URLs, which may hold a password, are redacted too. */
export function createLogger(level: string): Logger {
  return createServiceLogger('user-service', level, ['databaseUrl']);
}
export type { Logger };
