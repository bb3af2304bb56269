/**
 * Client-facing errors. Every fault the caller can fix becomes a GraphQLError with Apollo's
 * `extensions.code` through `userError`; anything else is an internal error, logged and masked.
 */
import { GraphQLError } from 'graphql';

export type UserErrorCode = 'BAD_USER_INPUT' | 'NOT_FOUND';

/** The one way this service reports a client fault. `field` names the argument at fault. */
export function userError(code: UserErrorCode, message: string, field?: string): GraphQLError {
  return new GraphQLError(message, { extensions: field === undefined ? { code } : { code, field } });
}

export { isClientFault } from '@flightdeck/graphql-http';

/** PostgreSQL's SQLSTATE and constraint of a driver error, looking through Drizzle's wrapper. */
export function pgErrorOf(error: unknown): { code: string; constraint: string | undefined } | undefined {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const { code, constraint } = e as { code?: unknown; constraint?: unknown };
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
      return { code, constraint: typeof constraint === 'string' ? constraint : undefined };
    }
  }
  return undefined;
}

export const UNIQUE_VIOLATION = '23505';
export const FOREIGN_KEY_VIOLATION = '23503';
