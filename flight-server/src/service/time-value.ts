/**
 * Time values in queries: ISO-8601 strings (nanosecond fractions kept) or integer epoch nanoseconds.
 */
import { StorageError } from '../storage/errors.js';

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

export function parseTimeValue(field: string, value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new StorageError('INVALID_ARGUMENT', `field "${field}": ${value} is not an integer number of epoch nanoseconds`);
    }
    return BigInt(value);
  }
  if (typeof value !== 'string') {
    throw new StorageError('INVALID_ARGUMENT', `field "${field}" must be an ISO-8601 string or integer epoch nanoseconds`);
  }
  if (/^-?\d+$/.test(value)) return BigInt(value);
  const m = ISO.exec(value.trim());
  if (!m) {
    throw new StorageError('INVALID_ARGUMENT', `field "${field}": "${value}" is not an ISO-8601 time`);
  }
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', tz = 'Z'] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const check = new Date(ms);
  if (Number.isNaN(ms) || check.getUTCDate() !== Number(d) || check.getUTCMonth() !== Number(mo) - 1 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    throw new StorageError('INVALID_ARGUMENT', `field "${field}": "${value}" is not a valid date`);
  }
  let offsetMin = 0;
  if (tz.toUpperCase() !== 'Z') {
    const sign = tz.startsWith('-') ? -1 : 1;
    const digits = tz.slice(1).replace(':', '');
    offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)));
  }
  const fracNs = BigInt(frac.padEnd(9, '0') || '0');
  return (BigInt(ms) - BigInt(offsetMin) * 60_000n) * 1_000_000n + fracNs;
}

/**
 * JSON.parse loses precision above 2^53, and epoch nanoseconds are above it. Integer literals
 * of the time fields are quoted before parsing so they reach parseTimeValue exactly.
 */
export function quoteTimeIntegers(json: string, fields: readonly string[]): string {
  const names = fields.join('|');
  return json.replace(new RegExp(`(?<!\\\\)("(?:${names})"\\s*:\\s*)(-?\\d+)(?=\\s*[,}])`, 'g'), '$1"$2"');
}
