import { describe, expect, it } from 'vitest';
import { checkRetention, parseRetention, retentionCutoffNs } from './retention.js';
import { MIN_TIME_NS, NS_PER_MS } from './time-units.js';

describe('retention', () => {
  it('parses whole days, weeks and years', () => {
    expect(parseRetention('400d')).toEqual({ amount: 400, unit: 'd' });
    expect(parseRetention('26w')).toEqual({ amount: 26, unit: 'w' });
    expect(parseRetention('10y')).toEqual({ amount: 10, unit: 'y' });
    expect(checkRetention(null)).toBeNull();
    for (const bad of ['', '0d', '07d', '1h', '1.5y', ' 1d', '1d ', '-1d', '1D', '1234567d']) {
      expect(() => parseRetention(bad), bad).toThrow(/field "retention"/);
    }
  });

  it('cuts off at now minus the retention; years are calendar years', () => {
    const now = Date.parse('2024-03-01T12:00:00Z');
    const ns = (iso: string) => BigInt(Date.parse(iso)) * NS_PER_MS;
    expect(retentionCutoffNs('1d', now)).toBe(ns('2024-02-29T12:00:00Z'));
    expect(retentionCutoffNs('2w', now)).toBe(ns('2024-02-16T12:00:00Z'));
    expect(retentionCutoffNs('1y', now)).toBe(ns('2023-03-01T12:00:00Z'));
    expect(retentionCutoffNs('999999y', now)).toBe(MIN_TIME_NS);
  });
});
