import { TimeUnit } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { formatTimestamp } from './cell-format.js';
import { outputFormat } from './output-format.js';
import { queryJson } from './query-json.js';

describe('formatTimestamp', () => {
  it("prints the unit's full precision, before 1970 too", () => {
    expect(formatTimestamp(1704187800123456789n, TimeUnit.NANOSECOND)).toBe('2024-01-02T09:30:00.123456789Z');
    expect(formatTimestamp(1704187800123n, TimeUnit.MILLISECOND)).toBe('2024-01-02T09:30:00.123Z');
    expect(formatTimestamp(1704187800n, TimeUnit.SECOND)).toBe('2024-01-02T09:30:00Z');
    expect(formatTimestamp(-1n, TimeUnit.MICROSECOND)).toBe('1969-12-31T23:59:59.999999Z');
  });
});

describe('queryJson', () => {
  it('writes epoch-nanosecond times as exact integer literals', () => {
    expect(queryJson({ dataset: 'bars', symbols: ['A'], from: '2024-01-02', to: '1704240000000000001', columns: ['ts'], limit: 5, asOf: 3, interval: '1h' })).toBe(
      '{"dataset":"bars","symbols":["A"],"start":"2024-01-02","end":1704240000000000001,"columns":["ts"],"interval":"1h","limit":5,"as_of":3}',
    );
  });
});

describe('outputFormat', () => {
  it('goes by --format, then the extension, then the terminal', () => {
    expect(outputFormat('ndjson', 'x.csv', true)).toBe('ndjson');
    expect(outputFormat(undefined, 'x.PARQUET', true)).toBe('parquet');
    expect(outputFormat(undefined, 'x.arrows', false)).toBe('arrows');
    expect(outputFormat(undefined, undefined, true)).toBe('table');
    expect(outputFormat(undefined, '-', false)).toBe('csv');
    expect(() => outputFormat(undefined, 'x.xlsx', false)).toThrow('-o x.xlsx: unknown file type ".xlsx"');
  });
});
