import { describe, expect, it } from 'vitest';
import { formatIsoMs, formatIsoNs, parseIsoNs } from './date-time.js';

describe('DateTime', () => {
  it('parses ISO-8601 with offsets, date-only and nanosecond fractions exactly', () => {
    expect(parseIsoNs('2024-01-02T09:30:00.000Z')).toBe(1704187800000000000n);
    expect(parseIsoNs('2024-01-02T04:30:00-05:00')).toBe(1704187800000000000n);
    expect(parseIsoNs('2024-01-02')).toBe(1704153600000000000n);
    expect(parseIsoNs('2024-01-02T09:30:00.123456789Z')).toBe(1704187800123456789n);
    expect(parseIsoNs('1969-12-31T23:59:59.999999999Z')).toBe(-1n);
  });

  it('refuses what is not a time', () => {
    for (const bad of ['', 'yesterday', '2024-02-30', '2024-01-02T24:00:00Z', '2024-13-01', '1704187800']) {
      expect(parseIsoNs(bad), bad).toBeUndefined();
    }
  });

  it('formats with milliseconds in UTC (flooring) for output and with nanoseconds for Flight', () => {
    expect(formatIsoMs(1704187800123456789n)).toBe('2024-01-02T09:30:00.123Z');
    expect(formatIsoMs(-1n)).toBe('1969-12-31T23:59:59.999Z');
    expect(formatIsoNs(1704187800123456789n)).toBe('2024-01-02T09:30:00.123456789Z');
    expect(formatIsoNs(-1n)).toBe('1969-12-31T23:59:59.999999999Z');
    expect(parseIsoNs(formatIsoNs(-1234567891n))).toBe(-1234567891n);
  });
});
