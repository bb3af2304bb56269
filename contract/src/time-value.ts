/**
 * Time values in queries and action bodies: ISO-8601 text (nanosecond fractions kept) or integer
 * epoch nanoseconds (a number, or digits as text so they stay exact).
 */
import { invalidArgument } from './errors.js';
import { explainIsoFault, parseIsoNs } from './iso-time.js';

export function parseTimeValue(field: string, value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw invalidArgument(`field "${field}": ${value} is not an integer number of epoch nanoseconds`);
    }
    return BigInt(value);
  }
  if (typeof value !== 'string') {
    throw invalidArgument(`field "${field}" must be an ISO-8601 string or integer epoch nanoseconds`);
  }
  if (/^-?\d+$/.test(value)) return BigInt(value);
  const ns = parseIsoNs(value);
  if (ns === null) throw invalidArgument(`field "${field}": ${explainIsoFault(value)}`);
  return ns;
}
