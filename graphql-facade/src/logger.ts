import { createLogger as createServiceLogger, type Logger } from '@flightdeck/graphql-http';

/** The graphql-facade root logger (pino JSON lines on stdout, secrets redacted). */
export function createLogger(level: string): Logger {
  return createServiceLogger('graphql-facade', level);
}
export type { Logger };
