/**
 * Time values as writers meet them (ISO-8601 text, epoch numbers in some unit, Date objects)
 * turned into the integer a dataset's `timestamp[unit, UTC]` column stores. Conversions are exact:
 * a value finer than the column's unit is refused rather than silently truncated, because the
 * time is part of the primary key.
 */
import { MAX_TIME_NS, MIN_TIME_NS, NS_PER_UNIT, NS_PER_UNIT_NAME, parseIsoNs, timeUnitName } from '@flightdeck/contract';
import type { TimeUnit } from 'apache-arrow';
import { ValueError } from './input-error.js';

/** How bare epoch numbers are read; `auto` picks the unit by magnitude (exact from 1973 to 2262). */
export type EpochUnit = 'auto' | 's' | 'ms' | 'us' | 'ns';

export const EPOCH_UNITS: readonly EpochUnit[] = ['auto', 's', 'ms', 'us', 'ns'];

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function epochUnitOf(magnitude: number, unit: EpochUnit): Exclude<EpochUnit, 'auto'> {
  if (unit !== 'auto') return unit;
  if (magnitude < 1e11) return 's';
  if (magnitude < 1e14) return 'ms';
  if (magnitude < 1e17) return 'us';
  return 'ns';
}

function epochIntegerNs(value: bigint, unit: EpochUnit): bigint {
  const abs = value < 0n ? -value : value;
  return value * NS_PER_UNIT_NAME[epochUnitOf(Number(abs), unit)];
}

function epochNumberNs(value: number, unit: EpochUnit): bigint {
  if (!Number.isFinite(value)) throw new ValueError(`${value} is not a time`);
  const u = epochUnitOf(Math.abs(value), unit);
  if (Number.isInteger(value)) return BigInt(value) * NS_PER_UNIT_NAME[u];
  // Fractions: exact to the nanosecond as far as a double carries them.
  const whole = Math.trunc(value);
  const frac = Math.round((value - whole) * Number(NS_PER_UNIT_NAME[u]));
  return BigInt(whole) * NS_PER_UNIT_NAME[u] + BigInt(frac);
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
    throw new ValueError(`${shown()} is finer than the column's unit (${timeUnitName(unit)}); round it or use a finer unit`);
  }
  return ns / per;
}

/** A short, safe rendering of a value for messages. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}
