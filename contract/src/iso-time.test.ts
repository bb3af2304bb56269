import { describe, expect, it } from 'vitest';
import { explainIsoFault, formatIsoMs, formatIsoNs, isIsoDate, isIsoDateTime, parseIsoNs } from './iso-time.js';

const ns = (iso: string) => BigInt(Date.parse(iso)) * 1_000_000n;

describe('parseIsoNs', () => {
  it('reads the common shape and its variants exactly, as Date does to the millisecond', () => {
    for (const text of ['2024-01-02T09:30:00Z', '2024-01-02T09:30:00.5Z', '1969-12-31T23:59:59.999Z', '2024-02-29T23:59:59Z', '1700-03-04T05:06:07Z']) {
      expect(parseIsoNs(text)).toBe(ns(text));
    }
    expect(parseIsoNs('2024-01-02T09:30:00.123456789Z')).toBe(ns('2024-01-02T09:30:00Z') + 123_456_789n);
    expect(parseIsoNs('2024-01-02 09:30:00.1z')).toBe(ns('2024-01-02T09:30:00.100Z'));
    expect(parseIsoNs('2024-01-02T10:30:00+01:00')).toBe(ns('2024-01-02T09:30:00Z'));
    expect(parseIsoNs('2024-01-02T04:30-0500')).toBe(ns('2024-01-02T09:30:00Z'));
    expect(parseIsoNs('2024-01-02')).toBe(ns('2024-01-02T00:00:00Z'));
  });

  it('refuses impossible dates and other text', () => {
    for (const text of ['2024-02-30T00:00:00Z', '2024-01-02T24:00:00Z', '2024-01-02T09:60:00Z', '2024-01-02T09:30:00.Z', '2024-1-2', 'yesterday', '']) {
      expect(parseIsoNs(text), text).toBeNull();
    }
  });
});

describe('parseIsoNs beyond the common shapes', () => {
  it('agrees with Date on every day of a leap cycle and at the ends of the contract range', () => {
    for (let day = 0; day < 4 * 366; day += 1) {
      const ms = Date.UTC(1999, 0, 1) + day * 86_400_000;
      const date = new Date(ms).toISOString().slice(0, 10);
      expect(parseIsoNs(date), date).toBe(BigInt(ms) * 1_000_000n);
      expect(parseIsoNs(`${date} 23:59:59.999999999 UTC`), date).toBe((BigInt(ms) + 86_399_999n) * 1_000_000n + 999_999n);
    }
    for (const text of ['1678-01-01T00:00:00Z', '2261-12-31T23:59:59Z', '1900-02-28T00:00:00Z', '2000-02-29T00:00:00Z']) {
      expect(parseIsoNs(text), text).toBe(ns(text));
    }
  });

  it('reads years below 100 as themselves, where Date.UTC would add 1900', () => {
    expect(parseIsoNs('0050-01-01')).toBe(BigInt(Date.parse('0050-01-01T00:00:00Z')) * 1_000_000n);
  });

  it('takes offsets of hours only, commas as decimal marks, and surrounding blanks', () => {
    expect(parseIsoNs('2024-01-02T10:30+01')).toBe(ns('2024-01-02T09:30:00Z'));
    expect(parseIsoNs('2024-01-02T09:30:00,25Z')).toBe(ns('2024-01-02T09:30:00.250Z'));
    expect(parseIsoNs(' 2024-01-02T09:30:00Z ')).toBe(ns('2024-01-02T09:30:00Z'));
  });

  it('refuses days a month lacks, leap days of common years and impossible offsets', () => {
    for (const text of ['2023-02-29', '1900-02-29', '2024-04-31', '2024-13-01', '2024-00-10', '2024-01-00', '2024-01-02T09:30+24:00', '2024-01-02T09:30+01:60']) {
      expect(parseIsoNs(text), text).toBeNull();
    }
  });

  it('says whether text is a date or a date-time, and why it is neither', () => {
    expect(isIsoDate('2024-01-02')).toBe(true);
    expect(isIsoDate('2024-02-30')).toBe(false);
    expect(isIsoDateTime('2024-01-02T09:30Z')).toBe(true);
    expect(isIsoDateTime('2024-01-02')).toBe(false);
    expect(explainIsoFault('yesterday')).toBe('"yesterday" is not an ISO-8601 time');
    expect(explainIsoFault('2024-02-30')).toBe('"2024-02-30" is not a valid date');
  });
});

describe('formatIsoMs and formatIsoNs', () => {
  it('floor below the millisecond, before 1970 too, and keep all nine digits on request', () => {
    expect(formatIsoMs(1_704_187_800_123_456_789n)).toBe('2024-01-02T09:30:00.123Z');
    expect(formatIsoMs(-1n)).toBe('1969-12-31T23:59:59.999Z');
    expect(formatIsoNs(1_704_187_800_123_456_789n)).toBe('2024-01-02T09:30:00.123456789Z');
    expect(formatIsoNs(-1n)).toBe('1969-12-31T23:59:59.999999999Z');
    expect(parseIsoNs(formatIsoNs(-123_456_789_012n))).toBe(-123_456_789_012n);
  });

  it('write what Date#toISOString writes, whichever day came before, and years outside 0000..9999 too', () => {
    const edges = [Date.parse('0000-01-01T00:00:00Z'), Date.parse('+010000-01-01T00:00:00Z'), 0, 8.64e15, -8.64e15];
    const times = edges.flatMap((ms) => [ms - 1, ms, ms + 1]);
    // A deterministic spread over the four-digit years, in an order that changes day often and rarely.
    let x = 12345;
    for (let i = 0; i < 20_000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      times.push(Math.floor((x / 2 ** 31) * 3.2e14) - 6.2e13);
      if (i % 3 === 0) times.push(times[times.length - 1]! + 60_000);
    }
    for (const ms of times) {
      const ns = BigInt(ms) * 1_000_000n + 999_999n;
      const date = new Date(ms);
      expect(formatIsoMs(ns), String(ms)).toBe(Number.isNaN(date.getTime()) ? `${ns}ns` : date.toISOString());
    }
    // Past Date's range: the raw value, not an error.
    expect(formatIsoMs(8_640_000_000_000_001n * 1_000_000n)).toBe('8640000000000001000000ns');
  });
});
