/**
 * Time units of `timestamp[s|ms|us|ns, UTC]` columns and the contract's time domain,
 * [1678-01-01, 2262-01-01) UTC: what int64 nanoseconds hold.
 */
import { TimeUnit } from 'apache-arrow';

export type TimeUnitName = 's' | 'ms' | 'us' | 'ns';

export const NS_PER_MS = 1_000_000n;

const NAME_BY_UNIT: Record<TimeUnit, TimeUnitName> = {
  [TimeUnit.SECOND]: 's',
  [TimeUnit.MILLISECOND]: 'ms',
  [TimeUnit.MICROSECOND]: 'us',
  [TimeUnit.NANOSECOND]: 'ns',
};

const UNIT_BY_NAME: Record<TimeUnitName, TimeUnit> = {
  s: TimeUnit.SECOND,
  ms: TimeUnit.MILLISECOND,
  us: TimeUnit.MICROSECOND,
  ns: TimeUnit.NANOSECOND,
};

/** Nanoseconds in one tick of each unit, by name. */
export const NS_PER_UNIT_NAME: Record<TimeUnitName, bigint> = { s: 1_000_000_000n, ms: 1_000_000n, us: 1_000n, ns: 1n };

/** Nanoseconds in one tick of each Arrow unit. */
export const NS_PER_UNIT: Record<TimeUnit, bigint> = {
  [TimeUnit.SECOND]: NS_PER_UNIT_NAME.s,
  [TimeUnit.MILLISECOND]: NS_PER_UNIT_NAME.ms,
  [TimeUnit.MICROSECOND]: NS_PER_UNIT_NAME.us,
  [TimeUnit.NANOSECOND]: NS_PER_UNIT_NAME.ns,
};

export function timeUnitName(unit: TimeUnit): TimeUnitName {
  return NAME_BY_UNIT[unit];
}

/** The Arrow unit of `s`, `ms`, `us` or `ns` (any case); undefined for anything else. */
export function timeUnitFromName(name: string): TimeUnit | undefined {
  const key = name.toLowerCase();
  return Object.hasOwn(UNIT_BY_NAME, key) ? UNIT_BY_NAME[key as TimeUnitName] : undefined;
}

/** The contract's time domain in epoch nanoseconds: [MIN_TIME_NS, MAX_TIME_NS). */
export const MIN_TIME_NS = BigInt(Date.UTC(1678, 0, 1)) * NS_PER_MS;
export const MAX_TIME_NS = BigInt(Date.UTC(2262, 0, 1)) * NS_PER_MS;

/** Floor division of bigints (towards minus infinity), for times before 1970. */
export function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}
