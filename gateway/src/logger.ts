import { createLogger as createServiceLogger, type Logger } from '@flightdeck/graphql-http';

/** The gateway root logger (pino JSON lines on stdout, secrets redacted). */
export function createLogger(level: string): Logger {
  return createServiceLogger('gateway', level);
}
export type { Logger };
