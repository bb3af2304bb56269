import { pino, type Logger } from 'pino';

/** Fields redacted wherever they appear at the top level or one level down. */
const SECRET_FIELDS = ['password', 'token', 'authorization'];
/** Request headers that carry credentials. */
const SECRET_HEADERS = ['req.headers.authorization', 'req.headers.cookie'];

/**
 * The root logger of a GraphQL process: pino JSON lines on stdout tagged with the service, secrets
 * redacted. `secrets` names more fields to redact, e.g. a database URL that may carry a password.
 */
export function createLogger(service: string, level: string, secrets: readonly string[] = []): Logger {
  const fields = [...SECRET_FIELDS, ...secrets];
  return pino({
    level,
    base: { service },
    redact: { paths: [...fields, ...fields.map((f) => `*.${f}`), ...SECRET_HEADERS], censor: '[redacted]' },
  });
}
export type { Logger };
