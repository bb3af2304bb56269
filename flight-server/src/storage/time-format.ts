/** ISO-8601 UTC text for nanosecond times (millisecond precision is what Date prints). */
export function formatNs(ns: bigint): string {
  const ms = ns / 1_000_000n - (ns % 1_000_000n < 0n ? 1n : 0n);
  const date = new Date(Number(ms));
  return Number.isNaN(date.getTime()) ? `${ns}ns` : date.toISOString();
}
