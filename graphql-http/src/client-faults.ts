/** Codes a client caused: logged at info, shown to the client; everything else is logged at error. */
const CLIENT_FAULTS = new Set([
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

/** Whether `code` is a client's fault; `extra` names a subgraph's own client codes (e.g. a limit). */
export function isClientFault(code: unknown, extra: readonly string[] = []): boolean {
  return typeof code === 'string' && (CLIENT_FAULTS.has(code) || extra.includes(code));
}

/** pino's levels, as every GraphQL process's LOG_LEVEL accepts them. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
