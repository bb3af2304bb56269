import { describe, expect, it } from 'vitest';
import { MAX_TIME_NS, MIN_TIME_NS } from '@flightdeck/contract';
import { groupRowsByPartition, parsePartitionKey, partitionOf } from './partition-path.js';

const ns = (iso: string): bigint => BigInt(Date.parse(iso)) * 1_000_000n;

describe('partitionOf', () => {
  it('names hour, day, month and year partitions as Hive paths', () => {
    const t = ns('2024-01-02T13:45:00Z');
    expect(partitionOf(t, 'hour').key).toBe('date=2024-01-02/hour=13');
    expect(partitionOf(t, 'day').key).toBe('date=2024-01-02');
    expect(partitionOf(t, 'month').key).toBe('month=2024-01');
    expect(partitionOf(t, 'year').key).toBe('year=2024');
  });

  it('puts the last nanosecond of a day in that day and midnight in the next', () => {
    const midnight = ns('2024-01-03T00:00:00Z');
    expect(partitionOf(midnight - 1n, 'day').key).toBe('date=2024-01-02');
    expect(partitionOf(midnight, 'day').key).toBe('date=2024-01-03');
    expect(partitionOf(midnight - 1n, 'hour').key).toBe('date=2024-01-02/hour=23');
    expect(partitionOf(ns('2024-01-01T00:00:00Z') - 1n, 'year').key).toBe('year=2023');
    expect(partitionOf(ns('2024-03-01T00:00:00Z') - 1n, 'month').key).toBe('month=2024-02');
  });

  it('gives [start, end) ranges, with leap days and month lengths', () => {
    const feb = partitionOf(ns('2024-02-29T12:00:00Z'), 'month');
    expect(feb.startNs).toBe(ns('2024-02-01T00:00:00Z'));
    expect(feb.endNs).toBe(ns('2024-03-01T00:00:00Z'));
    const leap = partitionOf(ns('2024-02-29T23:59:59.999Z'), 'day');
    expect(leap.key).toBe('date=2024-02-29');
    expect(leap.endNs - leap.startNs).toBe(86_400_000_000_000n);
  });

  it('handles times before the epoch and the ends of the time domain', () => {
    expect(partitionOf(-1n, 'day').key).toBe('date=1969-12-31');
    expect(partitionOf(-1n, 'hour').key).toBe('date=1969-12-31/hour=23');
    expect(partitionOf(MIN_TIME_NS, 'year').key).toBe('year=1678');
    expect(partitionOf(MAX_TIME_NS - 1n, 'day').key).toBe('date=2261-12-31');
  });
});

describe('parsePartitionKey', () => {
  it('round-trips every scheme', () => {
    for (const scheme of ['hour', 'day', 'month', 'year'] as const) {
      const p = partitionOf(ns('1999-12-31T23:30:00Z'), scheme);
      expect(parsePartitionKey(p.key, scheme)).toEqual(p);
    }
  });

  it('refuses keys of another scheme and impossible dates', () => {
    expect(() => parsePartitionKey('date=2024-01-02', 'month')).toThrow(/not a month partition/);
    expect(() => parsePartitionKey('date=2024-02-30', 'day')).toThrow(/names no real day/);
    expect(() => parsePartitionKey('../etc', 'day')).toThrow(/not a day partition/);
  });
});

describe('groupRowsByPartition', () => {
  it('groups unsorted rows into their partitions', () => {
    const times = [ns('2024-01-02T10:00:00Z'), ns('2024-01-03T10:00:00Z'), ns('2024-01-02T23:59:59Z'), ns('2024-01-03T00:00:00Z')];
    const groups = groupRowsByPartition((i) => times[i]!, times.length, 'day');
    expect([...groups.keys()]).toEqual(['date=2024-01-02', 'date=2024-01-03']);
    expect(groups.get('date=2024-01-02')!.rows).toEqual([0, 2]);
    expect(groups.get('date=2024-01-03')!.rows).toEqual([1, 3]);
  });
});
