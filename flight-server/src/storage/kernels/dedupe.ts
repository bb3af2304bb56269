/** Last write wins: one row per primary key (key columns + time), the latest written. */
import type { RecordBatch } from 'apache-arrow';
import { column, int64Words } from './column-data.js';
import { rowComparator } from './row-compare.js';
import { isSorted } from './sort.js';
import { timeColumnInt64 } from './time-column.js';

/**
 * From a stable sort permutation (sortPermutation) of a batch in which later rows are newer
 * writes, the permutation with only the last row of each run of equal primary key
 * (key columns + time) kept: upsert semantics, last write wins.
 */
export function lastWinsUnique(
  batch: RecordBatch,
  permutation: Uint32Array,
  keyColumns: readonly string[],
  timeColumn: string,
): Uint32Array {
  const w = int64Words(timeColumnInt64(batch, timeColumn));
  const cmps = keyColumns.map((name) => rowComparator(column(batch, name), name));
  const m = permutation.length;
  const out = new Uint32Array(m);
  let kept = 0;
  for (let k = 0; k < m; k++) {
    const r = permutation[k]!;
    if (k + 1 < m) {
      const s = permutation[k + 1]!;
      if (w[2 * r] === w[2 * s] && w[2 * r + 1] === w[2 * s + 1]) {
        let same = true;
        for (let c = 0; c < cmps.length && same; c++) same = cmps[c]!(r, s) === 0;
        if (same) continue;
      }
    }
    out[kept++] = r;
  }
  return kept === m ? out : out.slice(0, kept);
}

/** Whether rows are in strictly increasing (key columns, time) order: sorted, no duplicate key. */
export function isSortedUnique(batch: RecordBatch, keyColumns: readonly string[], timeColumn: string): boolean {
  return isSorted(batch, keyColumns, timeColumn, true);
}
