import { TimeUnit } from 'apache-arrow';
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
    const times = BigInt64Array.from([ns('2024-01-02T10:00:00Z'), ns('2024-01-03T10:00:00Z'), ns('2024-01-02T23:59:59Z'), ns('2024-01-03T00:00:00Z')]);
    const groups = groupRowsByPartition(times, TimeUnit.NANOSECOND, 'day');
    expect([...groups.keys()]).toEqual(['date=2024-01-02', 'date=2024-01-03']);
    expect(groups.get('date=2024-01-02')!.rows).toEqual([0, 2]);
    expect(groups.get('date=2024-01-03')!.rows).toEqual([1, 3]);
  });

  it('places every row as partitionOf does, in any unit, around the epoch and partition edges', () => {
    const scale = { [TimeUnit.SECOND]: 1_000_000_000n, [TimeUnit.MILLISECOND]: 1_000_000n, [TimeUnit.MICROSECOND]: 1_000n, [TimeUnit.NANOSECOND]: 1n };
    const hour = 3_600_000_000_000n;
    let seed = 7;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    for (const unit of [TimeUnit.SECOND, TimeUnit.MILLISECOND, TimeUnit.MICROSECOND, TimeUnit.NANOSECOND]) {
      for (const scheme of ['hour', 'day', 'month', 'year'] as const) {
        // Runs of nearby times (as a batch of bars has) and jumps, both sides of 1970 and of partition edges.
        const base = [0n, -hour * 24n * 400n, hour * 24n * 365n * 54n, MIN_TIME_NS + hour, MAX_TIME_NS - hour];
        const raw = BigInt64Array.from({ length: 400 }, (_, i) => {
          const t = base[Math.floor(i / 80)]! + BigInt(next() % 7200 - 3600) * 1_000_000_000n;
          return t / scale[unit];
        });
        const groups = groupRowsByPartition(raw, unit, scheme);
        const expected = new Map<string, number[]>();
        raw.forEach((v, i) => {
          const key = partitionOf(v * scale[unit], scheme).key;
          expected.set(key, [...(expected.get(key) ?? []), i]);
        });
        expect(new Map([...groups].map(([key, g]) => [key, g.rows]))).toEqual(expected);
      }
    }
  });
});
