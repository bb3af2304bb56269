/** How numbers and instants read on the page. */

/** A price with up to six decimals, trailing zeros dropped (2874.560059, 185.2, 3). */
export function formatPrice(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return Number(value.toFixed(6)).toLocaleString('en-US', { maximumFractionDigits: 6, useGrouping: false });
}

/** A volume with thousands separators (2 345 678 -> "2,345,678"). */
export function formatVolume(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return Math.round(value).toLocaleString('en-US');
}

/** "+12.30 (+0.43%)" from a close and the close before it. */
export function formatChange(close: number | null | undefined, previous: number | null | undefined): { text: string; sign: -1 | 0 | 1 } {
  if (close === null || close === undefined || previous === null || previous === undefined || previous === 0) return { text: '—', sign: 0 };
  const diff = close - previous;
  const pct = (diff / previous) * 100;
  const plus = diff > 0 ? '+' : '';
  return { text: `${plus}${diff.toFixed(2)} (${plus}${pct.toFixed(2)}%)`, sign: diff > 0 ? 1 : diff < 0 ? -1 : 0 };
}

/** An instant in UTC: "2024-01-02 14:30 UTC", or the date alone for daily and weekly bars. */
export function formatTime(ms: number, dateOnly: boolean): string {
  const iso = new Date(ms).toISOString();
  return dateOnly ? iso.slice(0, 10) : `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}
