/**
 * Which files of one partition background compaction merges. Appends add a file per DoPut, so
 * a partition a crawler writes to grows by one small file a commit. Once it holds more than the
 * bound (FLIGHT_COMPACT_FILES), files are merged by size tiers until at most half the bound are
 * left: files of similar size (the same power of 4 of rows) merge together, the fullest tier
 * first. A row is so rewritten about once per tier it climbs (log4 of partition rows / rows per
 * append), not once per compaction, as merging everything each time would do; and the newest
 * small files merge among themselves, not into the day's big one.
 */
import type { FileEntry } from '../manifest.js';

export interface CompactionLimits {
  /** A partition with more files is compacted. */
  maxFiles: number;
  /** No merged file holds more rows than this (what one merge holds in memory). */
  maxGroupRows: number;
}

/** Files of similar size share a tier: ⌊log4(rows)⌋. */
const FANOUT = 4;

interface Item {
  files: FileEntry[];
  rows: number;
}

function tierOf(rows: number): number {
  return Math.floor(Math.log(Math.max(1, rows)) / Math.log(FANOUT));
}

/** The longest run of the smallest items whose rows fit one merge; null when fewer than two fit. */
function fitting(items: Item[], maxRows: number): Item[] | null {
  const sorted = [...items].sort((a, b) => a.rows - b.rows);
  const out: Item[] = [];
  let rows = 0;
  for (const it of sorted) {
    if (rows + it.rows > maxRows) break;
    out.push(it);
    rows += it.rows;
  }
  return out.length >= 2 ? out : null;
}

/** The next merge: the fullest tier that has two items fitting one merge, else the two smallest items. */
function nextMerge(items: Item[], maxRows: number): Item[] | null {
  const tiers = new Map<number, Item[]>();
  for (const it of items) {
    const t = tierOf(it.rows);
    tiers.set(t, [...(tiers.get(t) ?? []), it]);
  }
  const byPriority = [...tiers].filter(([, m]) => m.length >= 2).sort(([ta, a], [tb, b]) => b.length - a.length || ta - tb);
  for (const [, members] of byPriority) {
    const group = fitting(members, maxRows);
    if (group) return group;
  }
  return fitting(items, maxRows)?.slice(0, 2) ?? null;
}

/**
 * Groups of files to merge, each into one file; empty when the partition holds no more than
 * `maxFiles` files (or nothing fits a merge). Every file appears in at most one group.
 */
export function planCompaction(files: readonly FileEntry[], limits: CompactionLimits): FileEntry[][] {
  if (limits.maxFiles <= 0 || files.length <= limits.maxFiles) return [];
  const target = Math.max(1, Math.floor(limits.maxFiles / 2));
  let items: Item[] = files.map((f) => ({ files: [f], rows: f.rows }));
  while (items.length > target) {
    const merge = nextMerge(items, limits.maxGroupRows);
    if (!merge) break;
    const merged: Item = { files: merge.flatMap((m) => m.files), rows: merge.reduce((n, m) => n + m.rows, 0) };
    items = [...items.filter((it) => !merge.includes(it)), merged];
  }
  return items.filter((it) => it.files.length > 1).map((it) => it.files.sort((a, b) => a.minTimeNs.localeCompare(b.minTimeNs)));
}
