import { pino, type Logger } from 'pino';

/** The root logger: pino JSON lines on stdout, secrets (and database URLs, which may hold one) redacted. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'user-service' },
    redact: {
      paths: ['password', 'token', 'authorization', 'databaseUrl', '*.password', '*.token', '*.authorization', '*.databaseUrl', 'req.headers.authorization', 'req.headers.cookie'],
      censor: '[redacted]',
    },
  });
}
export type { Logger };
