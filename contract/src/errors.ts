/**
 * The error codes of the contract ("Errors (gRPC status)"), as strings every layer can carry without
 * knowing gRPC. proto maps each to its gRPC status in one table; GraphQL maps them to
 * `extensions.code`.
 */
export const ERROR_CODES = [
  'INVALID_ARGUMENT',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'RESOURCE_EXHAUSTED',
  'UNAUTHENTICATED',
  'PERMISSION_DENIED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'UNIMPLEMENTED',
  'UNAVAILABLE',
  'DEADLINE_EXCEEDED',
  'CANCELLED',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** A fault the contract names: the code says which status, the message names the field or value. */
export class ContractError extends Error {
  override name = 'ContractError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** INVALID_ARGUMENT, the most common fault of input. */
export function invalidArgument(message: string): ContractError {
  return new ContractError('INVALID_ARGUMENT', message);
}
