import { describe, expect, it } from 'vitest';
import { formatChange, formatPrice, formatTime, formatVolume } from './format.js';
import { describeErrors } from './graphql.js';
import { intervalForSpacing } from './intervals.js';

describe('page text', () => {
  it('formats prices, volumes, changes and times for reading', () => {
    expect(formatPrice(2874.560059)).toBe('2874.560059');
    expect(formatPrice(185.2)).toBe('185.2');
    expect(formatPrice(null)).toBe('—');
    expect(formatVolume(3_013_290_000)).toBe('3,013,290,000');
    expect(formatChange(101, 100)).toEqual({ text: '+1.00 (+1.00%)', sign: 1 });
    expect(formatChange(99, 100)).toEqual({ text: '-1.00 (-1.00%)', sign: -1 });
    expect(formatChange(99, null).text).toBe('—');
    expect(formatTime(Date.parse('2024-01-02T14:30:00Z'), false)).toBe('2024-01-02 14:30 UTC');
    expect(formatTime(Date.parse('2024-01-02T00:00:00Z'), true)).toBe('2024-01-02');
  });

  it('picks the finest interval that does not split the data', () => {
    expect(intervalForSpacing(60_000)).toBe('1m');
    expect(intervalForSpacing(86_400_000)).toBe('1d');
    expect(intervalForSpacing(3 * 86_400_000)).toBe('1d');
    expect(intervalForSpacing(7 * 86_400_000)).toBe('1w');
    expect(intervalForSpacing(undefined)).toBe('1d');
  });

  it('names the service that failed, in words, and keeps refusals as they are', () => {
    expect(describeErrors([{ message: 'fetch failed', extensions: { code: 'INTERNAL_SERVER_ERROR' } }], 'financial')).toEqual({
      message: 'market data (GraphQL facade) unavailable: fetch failed',
      kind: 'service',
    });
    expect(describeErrors([{ message: 'boom', extensions: { serviceName: 'users' } }], 'financial').message).toBe('user service unavailable: boom');
    expect(describeErrors([{ message: 'unknown symbol "x"', extensions: { code: 'BAD_USER_INPUT' } }], 'financial')).toEqual({
      message: 'unknown symbol "x"',
      kind: 'refused',
    });
  });
});
