import { GraphQLError, Kind } from 'graphql';
import { describe, expect, it } from 'vitest';
import { DateTimeScalar, parseDateTime, serializeDateTime } from './date-time.js';

describe('DateTime', () => {
  it('serialises instants as ISO-8601 UTC with milliseconds', () => {
    expect(serializeDateTime(new Date(Date.UTC(2024, 0, 2, 9, 30)))).toBe('2024-01-02T09:30:00.000Z');
    expect(serializeDateTime('2024-01-02T10:30:00+01:00')).toBe('2024-01-02T09:30:00.000Z');
    expect(() => serializeDateTime(new Date(Number.NaN))).toThrow(GraphQLError);
    expect(() => serializeDateTime({})).toThrow(GraphQLError);
  });

  it.each([
    ['2024-01-02T09:30:00.000Z', '2024-01-02T09:30:00.000Z'],
    ['2024-01-02T09:30:00Z', '2024-01-02T09:30:00.000Z'],
    ['2024-01-02T09:30Z', '2024-01-02T09:30:00.000Z'],
    ['2024-01-02T11:30:00.5+02:00', '2024-01-02T09:30:00.500Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
  ])('parses %s', (input, iso) => {
    expect(parseDateTime(input).toISOString()).toBe(iso);
  });

  it.each(['2024-01-02', '2024-01-02T09:30:00', '2024-02-30T00:00:00Z', '2023-02-29T00:00:00Z', '2024-13-01T00:00:00Z', 'yesterday', 1704187800000, null])(
    'refuses %j with BAD_USER_INPUT',
    (input) => {
      try {
        parseDateTime(input);
        expect.unreachable();
      } catch (error) {
        expect((error as GraphQLError).extensions.code).toBe('BAD_USER_INPUT');
      }
    },
  );

  it('parses literals through the same rule', () => {
    expect(DateTimeScalar.parseLiteral({ kind: Kind.STRING, value: '2024-01-02T09:30:00Z' })).toEqual(new Date('2024-01-02T09:30:00Z'));
    expect(() => DateTimeScalar.parseLiteral({ kind: Kind.INT, value: '1' })).toThrow(/must be a string/);
  });
});
