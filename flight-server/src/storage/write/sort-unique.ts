/**
 * Rows of a batch sorted by key columns then time, one row per primary key: the last of equal
 * keys in input order wins, so stored rows followed by new ones keep the new row (upsert).
 */
import type { RecordBatch } from 'apache-arrow';
import { lastWinsUnique } from '../kernels/dedupe.js';
import type { RowRange } from '../kernels/search.js';
import { sortPermutation } from '../kernels/sort.js';
import { takeRows } from '../kernels/take-filter.js';
import type { Manifest } from '../manifest.js';

export function sortUnique(batch: RecordBatch, m: Pick<Manifest, 'keyColumns' | 'timeColumn'>): RecordBatch {
  return sortUniqueFrom(batch, m, batch.numRows).batch;
}

/**
 * sortUnique, and which rows of the result come from input rows at or after `from` (the new rows
 * of an upsert that put stored rows first): the rows a commit wrote, as ranges of the result.
 */
export function sortUniqueFrom(batch: RecordBatch, m: Pick<Manifest, 'keyColumns' | 'timeColumn'>, from: number): { batch: RecordBatch; fromRows: RowRange[] } {
  const perm = lastWinsUnique(batch, sortPermutation(batch, m.keyColumns, m.timeColumn), m.keyColumns, m.timeColumn);
  const fromRows: RowRange[] = [];
  for (let i = 0; i < perm.length; i++) {
    if (perm[i]! < from) continue;
    const last = fromRows.at(-1);
    if (last && last[1] === i) last[1] = i + 1;
    else fromRows.push([i, i + 1]);
  }
  if (perm.length === batch.numRows && perm.every((v, i) => v === i)) return { batch, fromRows };
  return { batch: takeRows(batch, perm), fromRows };
}
