/**
 * The `DateTime` scalar: ISO-8601 strings in UTC with milliseconds (`2024-01-02T09:30:00.000Z`) on
 * output; on input any ISO-8601 time (date only = midnight UTC, no zone = UTC, offsets converted,
 * up to nanosecond fractions kept). Internally times are bigint epoch nanoseconds, as on the Flight side.
 */
import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;
const NS_PER_MS = 1_000_000n;

/** Epoch nanoseconds of an ISO-8601 string, or undefined when it is not a valid time. */
export function parseIsoNs(text: string): bigint | undefined {
  const m = ISO.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', tz = 'Z'] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const check = new Date(ms);
  if (
    Number.isNaN(ms) ||
    check.getUTCFullYear() !== Number(y) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d) ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 59
  ) {
    return undefined;
  }
  let offsetMin = 0;
  if (tz.toUpperCase() !== 'Z') {
    const sign = tz.startsWith('-') ? -1 : 1;
    const digits = tz.slice(1).replace(':', '');
    offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)));
  }
  return (BigInt(ms) - BigInt(offsetMin) * 60_000n) * NS_PER_MS + BigInt(frac.padEnd(9, '0') || '0');
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** `2024-01-02T09:30:00.000Z`: the contract's output form (sub-millisecond digits dropped). */
export function formatIsoMs(ns: bigint): string {
  return new Date(Number(floorDiv(ns, NS_PER_MS))).toISOString();
}

/** ISO-8601 with all nine fraction digits, exact: what the facade sends Flight as `start`/`end`. */
export function formatIsoNs(ns: bigint): string {
  const ms = floorDiv(ns, NS_PER_MS);
  const sub = ns - ms * NS_PER_MS;
  const base = new Date(Number(ms)).toISOString(); // yyyy-mm-ddThh:mm:ss.mmmZ
  return `${base.slice(0, -1)}${sub.toString().padStart(6, '0')}Z`;
}

function invalid(value: unknown): GraphQLError {
  return new GraphQLError(
    `DateTime must be an ISO-8601 time such as "2024-01-02T09:30:00.000Z", got ${JSON.stringify(value)}`,
    { extensions: { code: 'BAD_USER_INPUT' } },
  );
}

function parseInput(value: unknown): bigint {
  if (typeof value !== 'string') throw invalid(value);
  const ns = parseIsoNs(value);
  if (ns === undefined) throw invalid(value);
  return ns;
}

export const DateTimeScalar = new GraphQLScalarType<bigint, string>({
  name: 'DateTime',
  description: 'An instant as an ISO-8601 string in UTC with milliseconds, e.g. 2024-01-02T09:30:00.000Z.',
  serialize(value) {
    if (typeof value === 'bigint') return formatIsoMs(value);
    if (value instanceof Date) return value.toISOString();
    if (typeof value === 'string') return formatIsoMs(parseInput(value));
    throw new GraphQLError(`DateTime cannot represent ${String(value)}`);
  },
  parseValue: parseInput,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw invalid(ast.kind);
    return parseInput(ast.value);
  },
});
