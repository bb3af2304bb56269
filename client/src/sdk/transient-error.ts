/**
 * Which failures are worth retrying: the server was unreachable, restarting, overloaded or
 * timed out, or the connection broke mid-call. Writes are upserts by primary key, so sending a
 * chunk again after such a failure cannot duplicate rows, even if the first attempt committed.
 */

const TRANSIENT_CODES = new Set(['UNAVAILABLE', 'DEADLINE_EXCEEDED', 'ABORTED', 'CANCELLED']);

/** Transport faults that surface with another code (or none) when a connection breaks. */
const BROKEN_CONNECTION = /ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|socket hang up|RST_STREAM|GOAWAY|connection (?:dropped|reset|closed)|stream removed|no connection established/i;

export function isTransientError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : '';
  if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
  if (code === undefined || code === 'INTERNAL' || code === 'UNKNOWN' || (typeof code === 'string' && code.startsWith('E'))) {
    return BROKEN_CONNECTION.test(message) || (typeof code === 'string' && BROKEN_CONNECTION.test(code));
  }
  return false;
}
