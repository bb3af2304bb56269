/**
 * Operators over streams of record batches sorted by key columns then time, each holding a
 * bounded amount whatever the stream's length: pulled only as their consumer pulls.
 */
import type { RecordBatch, Schema, Timestamp } from 'apache-arrow';
import { bucketStartNs, type Interval } from '@flightdeck/contract';
import { concatBatches } from '../kernels/concat.js';
import { partitionPoint } from '../kernels/search.js';
import { timeColumnInt64, toNanoseconds } from '../kernels/time-column.js';
import { resample } from './resample.js';

/** The sources one after the other (each started only when the one before it ends). */
export async function* chain(sources: readonly AsyncIterable<RecordBatch>[]): AsyncGenerator<RecordBatch> {
  for (const source of sources) yield* source;
}

/** The first `n` rows; stops pulling (and so reading) once they are out. */
export async function* firstRows(batches: AsyncIterable<RecordBatch>, n: number): AsyncGenerator<RecordBatch> {
  let left = n;
  if (left <= 0) return;
  for await (const b of batches) {
    const piece = b.numRows > left ? b.slice(0, left) : b;
    left -= piece.numRows;
    if (piece.numRows > 0) yield piece;
    if (left <= 0) return;
  }
}

/**
 * Resamples a sorted stream (resample.ts) batch by batch. The last (key, bucket) group of a batch
 * may go on in the next, so it is carried over, reduced to its one resampled row: open = first,
 * high = max, low = min, close = last, volume = sum and every other column its last value all
 * combine with the rows that follow, so the carry stays one row however long the group.
 */
export async function* resampleSorted(
  batches: AsyncIterable<RecordBatch>,
  schema: Schema,
  keyColumns: string[],
  timeColumn: string,
  interval: Interval,
): AsyncGenerator<RecordBatch> {
  let carry: RecordBatch | null = null;
  for await (const b of batches) {
    if (b.numRows === 0) continue;
    const rows: RecordBatch = carry ? concatBatches(schema, [carry, b]) : b;
    const cut = lastGroupStart(rows, keyColumns, timeColumn, interval);
    if (cut > 0) yield resample(rows.slice(0, cut), keyColumns, timeColumn, interval);
    carry = resample(rows.slice(cut), keyColumns, timeColumn, interval);
  }
  if (carry) yield carry;
}

/** Where the rows of the last row's key and time bucket begin (they are a suffix: rows are sorted). */
function lastGroupStart(batch: RecordBatch, keyColumns: string[], timeColumn: string, interval: Interval): number {
  const n = batch.numRows;
  const unit = (batch.schema.fields.find((f) => f.name === timeColumn)!.type as Timestamp).unit;
  const time = timeColumnInt64(batch, timeColumn);
  const keys = keyColumns.map((k) => batch.getChild(k)!);
  const lastKeys = keys.map((k) => k.get(n - 1));
  const lastBucket = bucketStartNs(toNanoseconds(time[n - 1]!, unit), interval);
  return partitionPoint(0, n - 1, (i) => keys.some((k, j) => k.get(i) !== lastKeys[j]) || bucketStartNs(toNanoseconds(time[i]!, unit), interval) !== lastBucket);
}
