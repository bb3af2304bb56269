/**
 * A dataset's retention (`create_dataset`'s and `set_retention`'s `retention`): a positive whole
 * number of days, weeks or years, `"400d"`, `"26w"`, `"10y"`. Partitions wholly older than
 * now - retention leave the dataset. Days and weeks are 24 h and 7 × 24 h; years are calendar
 * years in UTC (now - 10y is the same day and time ten years earlier).
 */
import { invalidArgument } from './errors.js';
import { MIN_TIME_NS, NS_PER_MS } from './time-units.js';

export const RETENTION_PATTERN = /^([1-9]\d{0,5})([dwy])$/;

export interface Retention {
  amount: number;
  unit: 'd' | 'w' | 'y';
}

/** Parses a retention string; INVALID_ARGUMENT naming `field` when it is not one. */
export function parseRetention(value: string, field = 'retention'): Retention {
  const m = RETENTION_PATTERN.exec(value);
  if (!m) {
    throw invalidArgument(`field "${field}": ${JSON.stringify(value)} is not a retention; use a whole number of days, weeks or years such as "400d", "26w" or "10y"`);
  }
  return { amount: Number(m[1]), unit: m[2] as Retention['unit'] };
}

/** Checks a retention string (or null: keep everything) and returns it. */
export function checkRetention(value: string | null, field = 'retention'): string | null {
  if (value === null) return null;
  parseRetention(value, field);
  return value;
}

/** now - retention, in epoch nanoseconds: rows before it are past the retention. */
export function retentionCutoffNs(retention: string, nowMs: number): bigint {
  const { amount, unit } = parseRetention(retention);
  const day = 24 * 3600 * 1000;
  let cutoffMs: number;
  switch (unit) {
    case 'd':
      cutoffMs = nowMs - amount * day;
      break;
    case 'w':
      cutoffMs = nowMs - amount * 7 * day;
      break;
    case 'y': {
      const d = new Date(nowMs);
      d.setUTCFullYear(d.getUTCFullYear() - amount);
      cutoffMs = d.getTime();
      break;
    }
    default: {
      const never: never = unit;
      return never;
    }
  }
  // Past the oldest representable time (a retention of thousands of years) nothing expires.
  if (!Number.isFinite(cutoffMs)) return MIN_TIME_NS;
  const ns = BigInt(Math.floor(cutoffMs)) * NS_PER_MS;
  return ns < MIN_TIME_NS ? MIN_TIME_NS : ns;
}
