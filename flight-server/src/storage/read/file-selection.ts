/**
 * Which files, and which row groups of them, a query must read: pruning by partition, by each
 * file's and row group's time range and by the first key column's min/max, all from the manifest.
 */
import type { FileEntry, Manifest, RowGroupStats } from '../manifest.js';
import type { ReadQuery } from '@flightdeck/contract';
import type { RowRange } from '../kernels/search.js';

export interface SelectedFile {
  file: FileEntry;
  /** Row group indexes to read; all of them when every group matched. */
  rowGroups: number[];
  /** Estimated rows the filters keep. */
  estimatedRows: number;
  /** True when the filters keep every row of the selected row groups. */
  covered: boolean;
  /** Only these rows of the file (sorted, disjoint ranges by file row number); absent: every row. */
  rows?: readonly RowRange[];
}

function timeOverlap(minNs: bigint, maxNs: bigint, q: ReadQuery): number {
  // Fraction of [minNs, maxNs] inside [start, end): 1 when fully inside, 0 when outside.
  const start = q.startNs;
  const end = q.endNs;
  if (start !== null && maxNs < start) return 0;
  if (end !== null && minNs >= end) return 0;
  const lo = start !== null && start > minNs ? start : minNs;
  const hi = end !== null && end - 1n < maxNs ? end - 1n : maxNs;
  const span = maxNs - minNs;
  if (span === 0n) return 1;
  // Overlapping in one instant is still an overlap: never let the share round to zero.
  return Math.max(Number(hi - lo) / Number(span), Number.EPSILON);
}

function keysOverlap(minKey: string | null, maxKey: string | null, symbols: string[] | null): boolean {
  if (!symbols) return true;
  if (minKey === null || maxKey === null) return true;
  return symbols.some((s) => s >= minKey && s <= maxKey);
}

function groupMatch(g: { minTimeNs: string; maxTimeNs: string; minKey: string | null; maxKey: string | null }, q: ReadQuery): number {
  if (!keysOverlap(g.minKey, g.maxKey, q.symbols)) return 0;
  return timeOverlap(BigInt(g.minTimeNs), BigInt(g.maxTimeNs), q);
}

export function selectFiles(m: Manifest, q: ReadQuery, partitions: ReadonlySet<string> | null): SelectedFile[] {
  const selected: SelectedFile[] = [];
  for (const file of m.files) {
    if (partitions && !partitions.has(file.partition)) continue;
    if (groupMatch(file, q) === 0) continue;
    const rowGroups: number[] = [];
    let estimatedRows = 0;
    let covered = q.symbols === null || (file.minKey !== null && file.minKey === file.maxKey && q.symbols.includes(file.minKey));
    file.rowGroups.forEach((g: RowGroupStats, i) => {
      const share = groupMatch(g, q);
      if (share === 0) return;
      rowGroups.push(i);
      estimatedRows += Math.max(1, Math.round(g.rows * share));
      if (share < 1) covered = false;
    });
    if (rowGroups.length === 0) continue;
    selected.push({ file, rowGroups, estimatedRows, covered });
  }
  return selected;
}
