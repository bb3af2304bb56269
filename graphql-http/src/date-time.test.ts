import { GraphQLError, Kind } from 'graphql';
import { describe, expect, it } from 'vitest';
import { DateTimeScalar, parseDateTime, serializeDateTime } from './date-time.js';

describe('DateTime', () => {
  it('serialises nanoseconds, Dates and ISO text as ISO-8601 UTC with milliseconds', () => {
    expect(serializeDateTime(1_704_187_800_123_456_789n)).toBe('2024-01-02T09:30:00.123Z');
    expect(serializeDateTime(-1n)).toBe('1969-12-31T23:59:59.999Z');
    expect(serializeDateTime(new Date(Date.UTC(2024, 0, 2, 9, 30)))).toBe('2024-01-02T09:30:00.000Z');
    expect(serializeDateTime('2024-01-02T10:30:00+01:00')).toBe('2024-01-02T09:30:00.000Z');
    expect(() => serializeDateTime(new Date(Number.NaN))).toThrow(GraphQLError);
    expect(() => serializeDateTime({})).toThrow(GraphQLError);
  });

  it.each([
    ['2024-01-02T09:30:00.000Z', 1_704_187_800_000_000_000n],
    ['2024-01-02T09:30:00Z', 1_704_187_800_000_000_000n],
    ['2024-01-02T09:30Z', 1_704_187_800_000_000_000n],
    ['2024-01-02T04:30:00-05:00', 1_704_187_800_000_000_000n],
    ['2024-01-02T11:30:00.5+02:00', 1_704_187_800_500_000_000n],
    ['2024-01-02T09:30:00.123456789Z', 1_704_187_800_123_456_789n],
    ['2024-01-02T09:30:00', 1_704_187_800_000_000_000n],
    ['2024-01-02', 1_704_153_600_000_000_000n],
    ['2024-02-29T00:00:00Z', 1_709_164_800_000_000_000n],
    ['1969-12-31T23:59:59.999999999Z', -1n],
  ])('parses %s exactly', (input, ns) => {
    expect(parseDateTime(input)).toBe(ns);
  });

  it.each(['', 'yesterday', '2024-02-30', '2023-02-29T00:00:00Z', '2024-01-02T24:00:00Z', '2024-13-01T00:00:00Z', '2020-13-45', '1704187800', 1704187800000, null])(
    'refuses %j with BAD_USER_INPUT naming it',
    (input) => {
      let caught: unknown;
      try {
        parseDateTime(input);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(GraphQLError);
      expect((caught as GraphQLError).extensions.code).toBe('BAD_USER_INPUT');
      expect((caught as GraphQLError).message).toContain(JSON.stringify(input));
    },
  );

  it('parses literals through the same rule and refuses literals that are not strings', () => {
    expect(DateTimeScalar.parseLiteral({ kind: Kind.STRING, value: '2024-01-02T09:30:00Z' })).toBe(1_704_187_800_000_000_000n);
    expect(() => DateTimeScalar.parseLiteral({ kind: Kind.INT, value: '1' })).toThrow(/must be an ISO-8601 time string/);
  });
});
