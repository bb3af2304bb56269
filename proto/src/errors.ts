/**
 * Flight errors and their one mapping to gRPC status codes.
 *
 * Any layer may throw an error carrying a string `code` from {@link FlightErrorCode} (duck-typed, so
 * storage code needs neither this class nor gRPC); {@link toServiceError} turns it into the status
 * the client sees, and {@link fromServiceError} turns a received status back into a FlightError.
 */
import { ContractError, ERROR_CODES, isErrorCode, type ErrorCode } from '@flightdeck/contract';
import { Metadata, status } from '@grpc/grpc-js';

/** The contract's error codes, as Flight calls carry them. */
export type FlightErrorCode = ErrorCode;

/** The one table from error code to gRPC status. */
const grpcStatusByCode = {
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  NOT_FOUND: status.NOT_FOUND,
  ALREADY_EXISTS: status.ALREADY_EXISTS,
  RESOURCE_EXHAUSTED: status.RESOURCE_EXHAUSTED,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  ABORTED: status.ABORTED,
  UNIMPLEMENTED: status.UNIMPLEMENTED,
  UNAVAILABLE: status.UNAVAILABLE,
  DEADLINE_EXCEEDED: status.DEADLINE_EXCEEDED,
  CANCELLED: status.CANCELLED,
  INTERNAL: status.INTERNAL,
} as const satisfies Record<FlightErrorCode, status>;

const codeByGrpcStatus = new Map<number, FlightErrorCode>(
  Object.entries(grpcStatusByCode).map(([code, grpcStatus]) => [grpcStatus, code as FlightErrorCode]),
);

export const flightErrorCodes: readonly FlightErrorCode[] = ERROR_CODES;

export const isFlightErrorCode: (value: unknown) => value is FlightErrorCode = isErrorCode;

/** The gRPC status a Flight error code is sent as. */
export function grpcStatusOf(code: FlightErrorCode): status {
  return grpcStatusByCode[code];
}

/** A failed Flight call, on either side: a contract error that crossed (or will cross) the wire. */
export class FlightError extends ContractError {
  override name = 'FlightError';
}

/** What a grpc-js handler passes to `callback(err)` or `call.destroy(err)`. */
export interface FlightServiceError extends Error {
  code: status;
  details: string;
  metadata: Metadata;
  /** True when `err` carried no known code: the caller should log it at error level. */
  unexpected: boolean;
}

/**
 * Maps anything thrown by a handler to a gRPC status error. Objects with a string `code` in
 * {@link FlightErrorCode} keep their code and message; everything else becomes INTERNAL and is
 * flagged `unexpected`.
 */
export function toServiceError(err: unknown): FlightServiceError {
  const code = codeOf(err);
  const message = messageOf(err);
  if (code !== undefined) return serviceError(grpcStatusByCode[code], message, false);
  return serviceError(status.INTERNAL, message === '' ? 'internal error' : message, true);
}

/** Client side: the FlightError for a failed call, carrying the server's details. */
export function fromServiceError(err: unknown): FlightError {
  if (err instanceof FlightError) return err;
  if (isObject(err) && typeof err.code === 'number') {
    const code = codeByGrpcStatus.get(err.code) ?? 'INTERNAL';
    const details = typeof err.details === 'string' ? err.details : messageOf(err);
    return new FlightError(code, details, { cause: err });
  }
  const code = codeOf(err);
  return new FlightError(code ?? 'INTERNAL', messageOf(err), { cause: err });
}

function serviceError(grpcStatus: status, details: string, unexpected: boolean): FlightServiceError {
  return Object.assign(new Error(details), { code: grpcStatus, details, metadata: new Metadata(), unexpected });
}

function codeOf(err: unknown): FlightErrorCode | undefined {
  return isObject(err) && isFlightErrorCode(err.code) ? err.code : undefined;
}

function messageOf(err: unknown): string {
  if (isObject(err) && typeof err.message === 'string') return err.message;
  if (typeof err === 'string') return err;
  return '';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
