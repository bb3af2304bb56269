/**
 * Time values as writers meet them (ISO-8601 text, epoch numbers in some unit, Date objects)
 * turned into the integer a dataset's `timestamp[unit, UTC]` column stores. Conversions are exact:
 * a value finer than the column's unit is refused rather than silently truncated, because the
 * time is part of the primary key.
 */
import { TimeUnit } from 'apache-arrow';
import { ValueError } from './input-error.js';

/** How bare epoch numbers are read; `auto` picks the unit by magnitude (exact from 1973 to 2262). */
export type EpochUnit = 'auto' | 's' | 'ms' | 'us' | 'ns';

export const EPOCH_UNITS: readonly EpochUnit[] = ['auto', 's', 'ms', 'us', 'ns'];

export const NS_PER_UNIT: Record<TimeUnit, bigint> = {
  [TimeUnit.SECOND]: 1_000_000_000n,
  [TimeUnit.MILLISECOND]: 1_000_000n,
  [TimeUnit.MICROSECOND]: 1_000n,
  [TimeUnit.NANOSECOND]: 1n,
};

const NS_PER_EPOCH_UNIT: Record<Exclude<EpochUnit, 'auto'>, bigint> = { s: 1_000_000_000n, ms: 1_000_000n, us: 1_000n, ns: 1n };

/** The contract's time range, [1678-01-01, 2262-01-01) UTC, in epoch nanoseconds. */
export const MIN_TIME_NS = BigInt(Date.UTC(1678, 0, 1)) * 1_000_000n;
export const MAX_TIME_NS = BigInt(Date.UTC(2262, 0, 1)) * 1_000_000n;

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$/;
const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function twoDigits(text: string, at: number): number {
  const a = text.charCodeAt(at) - 48;
  const b = text.charCodeAt(at + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

let cachedDay = '';
let cachedDayMs = 0;

/**
 * The common shape `YYYY-MM-DDTHH:MM:SS[.fraction]Z` without regex or Date per value (the day's
 * epoch is cached: consecutive rows share it). Null when the text has another shape.
 */
function fastIsoNs(text: string): bigint | null {
  const n = text.length;
  if (n < 20 || n > 30 || text.charCodeAt(n - 1) !== 90 /* Z */) return null;
  if (text.charCodeAt(10) !== 84 /* T */ || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return null;
  const day = text.slice(0, 10);
  if (day !== cachedDay) {
    const ns = parseIsoNs(day);
    if (ns === null) return null;
    cachedDay = day;
    cachedDayMs = Number(ns / 1_000_000n);
  }
  const h = twoDigits(text, 11);
  const mi = twoDigits(text, 14);
  const s = twoDigits(text, 17);
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) return null;
  let nanos = 0;
  if (n > 20) {
    if (text.charCodeAt(19) !== 46 /* . */ || n === 21) return null;
    let scale = 100_000_000;
    for (let i = 20; i < n - 1; i++) {
      const d = text.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return null;
      nanos += d * scale;
      scale /= 10;
    }
  }
  const seconds = cachedDayMs / 1000 + h * 3600 + mi * 60 + s;
  return BigInt(seconds) * 1_000_000_000n + BigInt(nanos);
}

/** Epoch nanoseconds of an ISO-8601 date or date-time (no offset means UTC), or null if `text` is not one. */
export function parseIsoNs(text: string): bigint | null {
  const fast = text.length >= 20 ? fastIsoNs(text) : null;
  if (fast !== null) return fast;
  const m = ISO.exec(text);
  if (m === null) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', tz = 'Z'] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const check = new Date(ms);
  if (
    Number.isNaN(ms) ||
    check.getUTCDate() !== Number(d) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 59
  ) {
    return null;
  }
  let offsetMin = 0;
  if (tz !== 'Z' && tz !== 'z' && tz !== 'UTC') {
    const sign = tz.startsWith('-') ? -1 : 1;
    const digits = tz.slice(1).replace(':', '');
    offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0'));
  }
  const fracNs = frac === '' ? 0n : BigInt(frac.padEnd(9, '0'));
  return (BigInt(ms) - BigInt(offsetMin) * 60_000n) * 1_000_000n + fracNs;
}

/** Whether `text` looks like an ISO date-time (with a time part). */
export function isIsoDateTime(text: string): boolean {
  return ISO.test(text) && text.length > 10;
}

/** Whether `text` is a plain ISO date (`2024-01-02`). */
export function isIsoDate(text: string): boolean {
  return text.length === 10 && ISO.test(text);
}

function epochUnitOf(magnitude: number, unit: EpochUnit): Exclude<EpochUnit, 'auto'> {
  if (unit !== 'auto') return unit;
  if (magnitude < 1e11) return 's';
  if (magnitude < 1e14) return 'ms';
  if (magnitude < 1e17) return 'us';
  return 'ns';
}

function epochIntegerNs(value: bigint, unit: EpochUnit): bigint {
  const abs = value < 0n ? -value : value;
  return value * NS_PER_EPOCH_UNIT[epochUnitOf(Number(abs), unit)];
}

function epochNumberNs(value: number, unit: EpochUnit): bigint {
  if (!Number.isFinite(value)) throw new ValueError(`${value} is not a time`);
  const u = epochUnitOf(Math.abs(value), unit);
  if (Number.isInteger(value)) return BigInt(value) * NS_PER_EPOCH_UNIT[u];
  // Fractions: exact to the nanosecond as far as a double carries them.
  const whole = Math.trunc(value);
  const frac = Math.round((value - whole) * Number(NS_PER_EPOCH_UNIT[u]));
  return BigInt(whole) * NS_PER_EPOCH_UNIT[u] + BigInt(frac);
}

/** Epoch nanoseconds of a time value: ISO text, epoch integer or decimal (text, number, bigint), or Date. */
export function timeValueNs(value: unknown, epochUnit: EpochUnit): bigint {
  let ns: bigint;
  if (typeof value === 'string') {
    const text = value.trim();
    if (INTEGER.test(text)) ns = epochIntegerNs(BigInt(text), epochUnit);
    else if (DECIMAL.test(text)) ns = epochNumberNs(Number(text), epochUnit);
    else {
      const iso = parseIsoNs(text);
      if (iso === null) throw new ValueError(`cannot read ${JSON.stringify(value)} as a time: expected ISO-8601 or epoch numbers`);
      ns = iso;
    }
  } else if (typeof value === 'number') {
    ns = epochNumberNs(value, epochUnit);
  } else if (typeof value === 'bigint') {
    ns = epochIntegerNs(value, epochUnit);
  } else if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms)) throw new ValueError('invalid Date');
    ns = BigInt(ms) * 1_000_000n;
  } else {
    throw new ValueError(`cannot read ${describeValue(value)} as a time`);
  }
  if (ns < MIN_TIME_NS || ns >= MAX_TIME_NS) {
    throw new ValueError(`time ${JSON.stringify(typeof value === 'bigint' ? value.toString() : value)} is outside [1678-01-01, 2262-01-01) UTC`);
  }
  return ns;
}

/** Nanoseconds as a count of `unit`, refusing a remainder the unit cannot hold. */
export function nsToUnit(ns: bigint, unit: TimeUnit, shown: () => string): bigint {
  const per = NS_PER_UNIT[unit];
  if (per === 1n) return ns;
  if (ns % per !== 0n) {
    throw new ValueError(`${shown()} is finer than the column's unit (${unitName(unit)}); round it or use a finer unit`);
  }
  return ns / per;
}

export function unitName(unit: TimeUnit): 's' | 'ms' | 'us' | 'ns' {
  switch (unit) {
    case TimeUnit.SECOND:
      return 's';
    case TimeUnit.MILLISECOND:
      return 'ms';
    case TimeUnit.MICROSECOND:
      return 'us';
    case TimeUnit.NANOSECOND:
      return 'ns';
    default: {
      const never: never = unit;
      throw new Error(`unknown time unit ${String(never)}`);
    }
  }
}

/** A short, safe rendering of a value for messages. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}
