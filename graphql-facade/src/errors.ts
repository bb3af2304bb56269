/**
 * Client-facing errors. Every error a resolver raises passes through {@link toGraphQLError}: Flight
 * errors keep their message and get Apollo's `extensions.code` from the one table below; the
 * facade's own faults are built with {@link facadeError}.
 */
import { FlightError, type FlightErrorCode } from '@flightdeck/proto';
import { GraphQLError } from 'graphql';
import { isClientFault as isSharedClientFault } from '@flightdeck/graphql-http';

export type FacadeErrorCode =
  | 'BAD_USER_INPUT'
  | 'BAD_REQUEST'
  | 'NOT_FOUND'
  | 'ROW_LIMIT_EXCEEDED'
  | 'SUBSCRIBER_TOO_SLOW'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR';

/** The one table from Flight status to GraphQL error code. */
const codeByFlightCode = {
  INVALID_ARGUMENT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  ALREADY_EXISTS: 'BAD_USER_INPUT',
  RESOURCE_EXHAUSTED: 'ROW_LIMIT_EXCEEDED',
  UNAUTHENTICATED: 'INTERNAL_SERVER_ERROR',
  PERMISSION_DENIED: 'INTERNAL_SERVER_ERROR',
  FAILED_PRECONDITION: 'BAD_USER_INPUT',
  ABORTED: 'SERVICE_UNAVAILABLE',
  UNIMPLEMENTED: 'INTERNAL_SERVER_ERROR',
  UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  DEADLINE_EXCEEDED: 'SERVICE_UNAVAILABLE',
  CANCELLED: 'SERVICE_UNAVAILABLE',
  INTERNAL: 'INTERNAL_SERVER_ERROR',
} as const satisfies Record<FlightErrorCode, FacadeErrorCode>;

/** The one way this service builds a client-facing error. */
export function facadeError(code: FacadeErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { ...extensions, code } });
}

/** Maps anything a resolver caught to a GraphQLError with `extensions.code`. */
export function toGraphQLError(err: unknown): GraphQLError {
  if (err instanceof GraphQLError) return err;
  if (err instanceof FlightError) {
    const code = codeByFlightCode[err.code];
    const message =
      code === 'SERVICE_UNAVAILABLE'
        ? `the Flight server is unavailable: ${err.message}`
        : code === 'INTERNAL_SERVER_ERROR'
          ? `Flight call failed (${err.code}): ${err.message}`
          : err.message;
    return new GraphQLError(message, { extensions: { code, flightCode: err.code }, originalError: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new GraphQLError(message, {
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
    ...(err instanceof Error ? { originalError: err } : {}),
  });
}

/** Codes a client caused (logged at info): graphql-http's, plus the row budget. */
export function isClientFault(code: unknown): boolean {
  return isSharedClientFault(code, ['ROW_LIMIT_EXCEEDED', 'SUBSCRIBER_TOO_SLOW']);
}
