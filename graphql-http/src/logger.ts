import { pino, type Logger } from 'pino';

const REDACTED = ['password', 'token', 'authorization', 'req.headers.authorization', 'req.headers.cookie'];

/**
 * The root logger of a GraphQL process: pino JSON lines on stdout tagged with the service, secrets
 * redacted (at the top level and one level down). `secrets` names more fields to redact, e.g. a
 * database URL that may carry a password.
 */
export function createLogger(service: string, level: string, secrets: readonly string[] = []): Logger {
  const names = [...REDACTED.filter((p) => !p.includes('.')), ...secrets];
  return pino({
    level,
    base: { service },
    redact: { paths: [...names, ...names.map((n) => `*.${n}`), ...REDACTED.filter((p) => p.includes('.'))], censor: '[redacted]' },
  });
}
export type { Logger };
