/** Counts, sizes, rates and durations as people read them. */

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let u = 0;
  while (value >= 1000 && u < units.length - 1) {
    value /= 1000;
    u++;
  }
  return u === 0 ? `${value} B` : `${value.toFixed(1)} ${units[u]}`;
}

export function formatSeconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** `1 file`, `2 files`, `1,000 rows`: a count and its noun, singular for one. */
export function formatCounted(n: number, noun: string, nouns = `${noun}s`): string {
  return `${formatCount(n)} ${Math.round(n) === 1 ? noun : nouns}`;
}
