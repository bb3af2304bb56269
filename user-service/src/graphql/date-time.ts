/**
 * `DateTime`: ISO-8601 strings in UTC on output (`2024-01-02T09:30:00.000Z`, CONTRACT.md "GraphQL").
 * Input must be a full ISO-8601 date-time with `Z` or an offset; it is normalised to UTC.
 */
import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/i;

function badInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
}

/** Parses an ISO-8601 date-time string; throws BAD_USER_INPUT naming the value otherwise. */
export function parseDateTime(value: unknown): Date {
  if (typeof value !== 'string' || !ISO_DATE_TIME.test(value)) {
    throw badInput(`DateTime must be an ISO-8601 date-time with a time zone, e.g. 2024-01-02T09:30:00.000Z; got ${JSON.stringify(value)}`);
  }
  const date = new Date(value);
  // Date accepts 2024-02-30 and rolls it over; a round trip of the date part catches that.
  const [y, m, d] = value.slice(0, 10).split('-').map(Number);
  const probe = new Date(Date.UTC(y ?? 0, (m ?? 1) - 1, d ?? 0));
  if (Number.isNaN(date.getTime()) || probe.getUTCMonth() !== (m ?? 1) - 1 || probe.getUTCDate() !== d) {
    throw badInput(`DateTime ${JSON.stringify(value)} is not a valid date-time`);
  }
  return date;
}

export function serializeDateTime(value: unknown): string {
  const date = value instanceof Date ? value : typeof value === 'string' || typeof value === 'number' ? new Date(value) : undefined;
  if (date === undefined || Number.isNaN(date.getTime())) {
    throw new GraphQLError(`DateTime cannot represent ${JSON.stringify(value)}`);
  }
  return date.toISOString();
}

export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'An instant as an ISO-8601 string in UTC, e.g. 2024-01-02T09:30:00.000Z',
  serialize: serializeDateTime,
  parseValue: parseDateTime,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw badInput('DateTime must be a string');
    return parseDateTime(ast.value);
  },
});
