/**
 * Storage faults carry one of the contract's error codes; the transport maps codes to its own
 * statuses in one place, so storage never imports gRPC.
 */
import { ContractError, type ErrorCode } from '@flightdeck/contract';

/** The codes storage raises: a subset of the contract's. UNAVAILABLE: the object store cannot be reached. */
export type StorageErrorCode = Extract<
  ErrorCode,
  'INVALID_ARGUMENT' | 'NOT_FOUND' | 'ALREADY_EXISTS' | 'RESOURCE_EXHAUSTED' | 'FAILED_PRECONDITION' | 'ABORTED' | 'INTERNAL' | 'UNAVAILABLE'
>;

export class StorageError extends ContractError {
  override name = 'StorageError';

  constructor(
    override readonly code: StorageErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}
