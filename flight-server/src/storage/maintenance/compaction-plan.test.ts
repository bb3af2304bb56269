import { describe, expect, it } from 'vitest';
import type { FileEntry } from '../manifest.js';
import { planCompaction } from './compaction-plan.js';

let serial = 0;
function file(rows: number): FileEntry {
  serial++;
  const t = String(1_704_153_600_000_000_000n + BigInt(serial) * 60_000_000_000n);
  return { path: `date=2024-01-02/part-${serial}.parquet`, partition: 'date=2024-01-02', rows, bytes: rows * 20, minTimeNs: t, maxTimeNs: t, minKey: 'A', maxKey: 'Z', columns: [], rowGroups: [] };
}

/** Applies a plan: each group becomes one file of its rows. */
function apply(files: FileEntry[], groups: FileEntry[][]): FileEntry[] {
  const merged = new Set(groups.flat());
  return [...files.filter((f) => !merged.has(f)), ...groups.map((g) => file(g.reduce((n, f) => n + f.rows, 0)))];
}

describe('planCompaction', () => {
  it('leaves a partition at or under the bound alone', () => {
    expect(planCompaction(Array.from({ length: 16 }, () => file(500)), { maxFiles: 16, maxGroupRows: 1 << 20 })).toEqual([]);
    expect(planCompaction(Array.from({ length: 40 }, () => file(500)), { maxFiles: 0, maxGroupRows: 1 << 20 })).toEqual([]);
  });

  it('merges each file at most once per plan and brings the partition to half the bound', () => {
    const files = [file(100_000), file(30_000), ...Array.from({ length: 15 }, () => file(500))];
    const groups = planCompaction(files, { maxFiles: 16, maxGroupRows: 1 << 20 });
    const all = groups.flat();
    expect(new Set(all).size).toBe(all.length);
    expect(apply(files, groups).length).toBeLessThanOrEqual(8);
    // The big file is not rewritten to absorb small ones while smaller merges do.
    expect(all).not.toContain(files[0]);
  });

  it('keeps a day of one-minute appends under the bound and rewrites each row a few times, not once per compaction', () => {
    const limits = { maxFiles: 16, maxGroupRows: 1 << 20 };
    let files: FileEntry[] = [];
    let appended = 0;
    let rewritten = 0;
    for (let minute = 0; minute < 1440; minute++) {
      files.push(file(500));
      appended += 500;
      const groups = planCompaction(files, limits);
      rewritten += groups.flat().reduce((n, f) => n + f.rows, 0);
      files = apply(files, groups);
      expect(files.length).toBeLessThanOrEqual(16);
    }
    expect(files.reduce((n, f) => n + f.rows, 0)).toBe(appended);
    // Merging the whole partition at every compaction would rewrite each row about 45 times.
    expect(rewritten / appended).toBeLessThan(6);
  });

  it('never builds a file over the row cap', () => {
    const files = Array.from({ length: 20 }, () => file(300_000));
    const groups = planCompaction(files, { maxFiles: 16, maxGroupRows: 1_000_000 });
    for (const g of groups) expect(g.reduce((n, f) => n + f.rows, 0)).toBeLessThanOrEqual(1_000_000);
    expect(groups.length).toBeGreaterThan(0);
  });
});
