/**
 * PostgreSQL faults as storage errors: a catalog that cannot be reached (refused, reset, timed out,
 * shutting down) is UNAVAILABLE naming the catalog; anything else keeps its message as INTERNAL.
 */
import { StorageError } from '../../errors.js';
import { CatalogUnavailable } from '../catalog-backend.js';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
const UNREACHABLE_MESSAGE = /connection terminated|connection timeout|timeout exceeded when trying to connect|query read timeout|client has encountered a connection error|not queryable|cannot use a pool after calling end/i;

/** True for failures of the connection rather than of the statement. */
export function isConnectionFailure(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return true;
    // SQLSTATE class 08 (connection exception), 57P01-03 (shutdown, cannot connect now), 53300 (too many connections).
    if (/^08/.test(code) || ['57P01', '57P02', '57P03', '53300'].includes(code)) return true;
  }
  return UNREACHABLE_MESSAGE.test(e.message);
}

/** The storage error a failed catalog call becomes. */
export function catalogError(e: unknown, description: string, outcomeUnknown = false): Error {
  if (e instanceof StorageError) return e;
  if (isConnectionFailure(e)) {
    const timedOut = /timeout/i.test((e as Error).message);
    const what = outcomeUnknown
      ? 'the connection failed while the commit was being confirmed; it may or may not have been committed'
      : timedOut
        ? 'did not answer in time'
        : 'unreachable';
    return new CatalogUnavailable(`${description} ${what}: ${(e as Error).message}`, outcomeUnknown);
  }
  return new StorageError('INTERNAL', `${description}: ${(e as Error).message ?? String(e)}`);
}
