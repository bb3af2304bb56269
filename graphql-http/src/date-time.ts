/**
 * The supergraph's one `DateTime` scalar, served by both subgraphs: ISO-8601 strings in UTC with
 * milliseconds on output (`2024-01-02T09:30:00.000Z`); on input every form the contract's query JSON
 * accepts (`@flightdeck/contract` parseIsoNs: a date = midnight UTC, no zone = UTC, offsets
 * converted, up to nine fraction digits kept). Values inside resolvers are bigint epoch nanoseconds.
 */
import { formatIsoMs, parseIsoNs } from '@flightdeck/contract';
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';

function invalid(value: unknown): GraphQLError {
  return new GraphQLError(`DateTime must be an ISO-8601 time string such as "2024-01-02T09:30:00.000Z", got ${JSON.stringify(value)}`, {
    extensions: { code: 'BAD_USER_INPUT' },
  });
}

/** Epoch nanoseconds of a DateTime input; BAD_USER_INPUT naming the value otherwise. */
export function parseDateTime(value: unknown): bigint {
  const ns = typeof value === 'string' ? parseIsoNs(value) : null;
  if (ns === null) throw invalid(value);
  return ns;
}

/** The output form of an instant given as epoch nanoseconds, a Date or ISO-8601 text. */
export function serializeDateTime(value: unknown): string {
  if (typeof value === 'bigint') return formatIsoMs(value);
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString();
  if (typeof value === 'string') {
    const ns = parseIsoNs(value);
    if (ns !== null) return formatIsoMs(ns);
  }
  throw new GraphQLError(`DateTime cannot represent ${typeof value === 'object' ? String(value) : JSON.stringify(String(value))}`);
}

function literalText(ast: ValueNode): unknown {
  return ast.kind === Kind.STRING ? ast.value : 'value' in ast ? ast.value : ast.kind;
}

export const DateTimeScalar = new GraphQLScalarType<bigint, string>({
  name: 'DateTime',
  description: 'An instant as an ISO-8601 string in UTC with milliseconds, e.g. 2024-01-02T09:30:00.000Z. Input: any ISO-8601 date or date-time (no zone = UTC).',
  serialize: serializeDateTime,
  parseValue: parseDateTime,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw invalid(literalText(ast));
    return parseDateTime(ast.value);
  },
});
