/**
 * Time partitioning: which Hive-style directory a row's time value belongs to, and the
 * [start, end) range a directory covers. All arithmetic is in UTC and in nanoseconds.
 */
import type { TimeUnit } from 'apache-arrow';
import { floorDiv, NS_PER_MS, type PartitionScheme } from '@flightdeck/contract';
import { StorageError } from './errors.js';
import { int64Words } from './kernels/column-data.js';
import { ceilFromNanoseconds, toNanoseconds } from './kernels/time-column.js';

export interface PartitionRange {
  key: string;
  startNs: bigint;
  endNs: bigint;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** The partition that holds a time value (nanoseconds since the epoch, UTC). */
export function partitionOf(timeNs: bigint, scheme: PartitionScheme): PartitionRange {
  const ms = Number(floorDiv(timeNs, NS_PER_MS));
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const day = d.getUTCDate();
  const h = d.getUTCHours();
  let start: number;
  let end: number;
  let key: string;
  switch (scheme) {
    case 'hour':
      start = Date.UTC(y, m, day, h);
      end = start + 3_600_000;
      key = `date=${pad(y, 4)}-${pad(m + 1, 2)}-${pad(day, 2)}/hour=${pad(h, 2)}`;
      break;
    case 'day':
      start = Date.UTC(y, m, day);
      end = start + 86_400_000;
      key = `date=${pad(y, 4)}-${pad(m + 1, 2)}-${pad(day, 2)}`;
      break;
    case 'month':
      start = Date.UTC(y, m, 1);
      end = Date.UTC(y, m + 1, 1);
      key = `month=${pad(y, 4)}-${pad(m + 1, 2)}`;
      break;
    case 'year':
      start = Date.UTC(y, 0, 1);
      end = Date.UTC(y + 1, 0, 1);
      key = `year=${pad(y, 4)}`;
      break;
    default: {
      const never: never = scheme;
      throw new StorageError('INVALID_ARGUMENT', `unknown partition scheme ${String(never)}`);
    }
  }
  return { key, startNs: BigInt(start) * NS_PER_MS, endNs: BigInt(end) * NS_PER_MS };
}

const KEY_PATTERNS: Record<PartitionScheme, RegExp> = {
  hour: /^date=(\d{4})-(\d{2})-(\d{2})\/hour=(\d{2})$/,
  day: /^date=(\d{4})-(\d{2})-(\d{2})$/,
  month: /^month=(\d{4})-(\d{2})$/,
  year: /^year=(\d{4})$/,
};

/** Parses a Hive partition key back to its range; INVALID_ARGUMENT when it is not one of the scheme's. */
export function parsePartitionKey(key: string, scheme: PartitionScheme): PartitionRange {
  const match = KEY_PATTERNS[scheme].exec(key);
  if (!match) {
    throw new StorageError('INVALID_ARGUMENT', `partition "${key}" is not a ${scheme} partition key`);
  }
  const [y, mo, d, h] = match.slice(1).map(Number) as [number, number?, number?, number?];
  const startMs = Date.UTC(y, (mo ?? 1) - 1, d ?? 1, h ?? 0);
  const range = partitionOf(BigInt(startMs) * NS_PER_MS, scheme);
  if (range.key !== key) {
    throw new StorageError('INVALID_ARGUMENT', `partition "${key}" names no real ${scheme}`);
  }
  return range;
}

/**
 * Groups row indices by partition; `raw` are time values in `unit`. Consecutive rows usually share
 * a partition, so each row is compared with the current partition's bounds (in `unit`, as 32-bit
 * words: no BigInt per row) and only a row outside them is placed anew.
 */
export function groupRowsByPartition(
  raw: BigInt64Array,
  unit: TimeUnit,
  scheme: PartitionScheme,
): Map<string, { range: PartitionRange; rows: number[] }> {
  const groups = new Map<string, { range: PartitionRange; rows: number[] }>();
  const w = int64Words(raw);
  let current: { range: PartitionRange; rows: number[] } | undefined;
  // [start, end) of the current partition in `unit`: high (signed) and low (unsigned) words.
  let startHi = 0;
  let startLo = 0;
  let endHi = 0;
  let endLo = 0;
  for (let i = 0; i < raw.length; i++) {
    const hi = w[2 * i + 1]!;
    const lo = w[2 * i]! >>> 0;
    const inside = (hi > startHi || (hi === startHi && lo >= startLo)) && (hi < endHi || (hi === endHi && lo < endLo));
    if (current === undefined || !inside) {
      const range = partitionOf(toNanoseconds(raw[i]!, unit), scheme);
      current = groups.get(range.key);
      if (!current) {
        current = { range, rows: [] };
        groups.set(range.key, current);
      }
      [startHi, startLo] = words(ceilFromNanoseconds(range.startNs, unit));
      [endHi, endLo] = words(ceilFromNanoseconds(range.endNs, unit));
    }
    current.rows.push(i);
  }
  return groups;
}

function words(x: bigint): [hi: number, lo: number] {
  return [Number(BigInt.asIntN(32, x >> 32n)), Number(BigInt.asUintN(32, x))];
}
