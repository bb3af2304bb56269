/**
 * Rows of a batch sorted by key columns then time, one row per primary key: the last of equal
 * keys in input order wins, so stored rows followed by new ones keep the new row (upsert).
 */
import type { RecordBatch } from 'apache-arrow';
import { lastWinsUnique } from '../kernels/dedupe.js';
import { sortPermutation } from '../kernels/sort.js';
import { takeRows } from '../kernels/take-filter.js';
import type { Manifest } from '../manifest.js';

export function sortUnique(batch: RecordBatch, m: Pick<Manifest, 'keyColumns' | 'timeColumn'>): RecordBatch {
  const perm = lastWinsUnique(batch, sortPermutation(batch, m.keyColumns, m.timeColumn), m.keyColumns, m.timeColumn);
  if (perm.length === batch.numRows && perm.every((v, i) => v === i)) return batch;
  return takeRows(batch, perm);
}
