import { TimeUnit } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { ValueError } from './input-error.js';
import { nsToUnit, timeValueNs } from './time-values.js';

const ns = (iso: string) => BigInt(Date.parse(iso)) * 1_000_000n;

describe('timeValueNs', () => {
  it('reads epoch numbers by magnitude, or in the unit given', () => {
    const t = ns('2024-01-02T09:30:00Z');
    expect(timeValueNs(1704187800, 'auto')).toBe(t);
    expect(timeValueNs(1704187800000, 'auto')).toBe(t);
    expect(timeValueNs('1704187800000000', 'auto')).toBe(t);
    expect(timeValueNs(1704187800000000000n, 'auto')).toBe(t);
    expect(timeValueNs('1704187800.25', 'auto')).toBe(t + 250_000_000n);
    expect(timeValueNs(86_400, 'ms')).toBe(86_400_000_000n);
    expect(timeValueNs(new Date(Date.UTC(2024, 0, 2, 9, 30)), 'auto')).toBe(t);
  });

  it('refuses times outside the contract range and values that are not times', () => {
    expect(() => timeValueNs('2262-01-01T00:00:00Z', 'auto')).toThrow(ValueError);
    expect(() => timeValueNs('1677-12-31T23:59:59Z', 'auto')).toThrow(/outside \[1678-01-01, 2262-01-01\) UTC/);
    expect(() => timeValueNs(true, 'auto')).toThrow(/cannot read true as a time/);
    expect(() => timeValueNs('soon', 'auto')).toThrow(/cannot read "soon" as a time/);
  });
});

describe('nsToUnit', () => {
  it('converts exactly and refuses a remainder', () => {
    expect(nsToUnit(2_000_000n, TimeUnit.MILLISECOND, () => 'x')).toBe(2n);
    expect(nsToUnit(-3_000_000_000n, TimeUnit.SECOND, () => 'x')).toBe(-3n);
    expect(() => nsToUnit(1_500_001n, TimeUnit.MILLISECOND, () => '"t"')).toThrow(/"t" is finer than the column's unit \(ms\)/);
    expect(nsToUnit(7n, TimeUnit.NANOSECOND, () => 'x')).toBe(7n);
  });
});
