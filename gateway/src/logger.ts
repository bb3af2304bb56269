import { pino, type Logger } from 'pino';

/** The root logger: pino JSON lines on stdout, secrets redacted. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'gateway' },
    redact: {
      paths: ['password', 'token', 'authorization', '*.password', '*.token', '*.authorization', 'req.headers.authorization', 'req.headers.cookie'],
      censor: '[redacted]',
    },
  });
}
export type { Logger };
