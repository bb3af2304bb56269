/**
 * Key runs: where each value of a file's first key column starts. Rows are stored sorted by key,
 * so one key's rows are one contiguous run; an IPC tier file carries its runs in its schema's
 * metadata and a selective read fetches just those rows.
 */
import { DataType, type RecordBatch } from 'apache-arrow';
import { z } from 'zod';
import { runEnd } from '../kernels/search.js';

/** Schema metadata key of the runs in an IPC tier file. */
export const KEY_RUNS_METADATA = 'flightdeck:key_runs';

const keyRunsSchema = z
  .strictObject({
    column: z.string(),
    rows: z.number().int().nonnegative(),
    /** Distinct values in row order. */
    keys: z.array(z.string()),
    /** First row of each key; a run ends where the next begins (or at `rows`). */
    starts: z.array(z.number().int().nonnegative()),
  })
  .refine((r) => r.keys.length === r.starts.length, 'keys and starts differ in length');
export type KeyRuns = z.infer<typeof keyRunsSchema>;

/**
 * The runs of `column` in a batch sorted by it, or null when the column is not a non-null string
 * column. Finds each run's end by galloping: O(keys × log run length) value reads.
 */
export function keyRunsOf(batch: RecordBatch, column: string | undefined): KeyRuns | null {
  if (column === undefined) return null;
  const vector = batch.getChild(column);
  if (!vector || vector.nullCount > 0) return null;
  const type = vector.type as DataType;
  if (!DataType.isUtf8(type) && !(DataType.isDictionary(type) && DataType.isUtf8(type.dictionary))) return null;
  const n = batch.numRows;
  const keys: string[] = [];
  const starts: number[] = [];
  for (let start = 0; start < n; ) {
    const key = vector.get(start) as string;
    keys.push(key);
    starts.push(start);
    start = runEnd(start, n, (_, i) => vector.get(i) === key);
  }
  return { column, rows: n, keys, starts };
}

export function encodeKeyRuns(runs: KeyRuns): string {
  return JSON.stringify(runs);
}

/** The runs stored in a tier file's schema metadata; null when absent or not understood. */
export function decodeKeyRuns(text: string | undefined): KeyRuns | null {
  if (text === undefined) return null;
  try {
    const parsed = keyRunsSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Row ranges [start, end) of the given keys, one a key, ascending. */
export function rowRangesOf(runs: KeyRuns, keys: readonly string[]): [number, number][] {
  const wanted = new Set(keys);
  const ranges: [number, number][] = [];
  runs.keys.forEach((key, i) => {
    if (wanted.has(key)) ranges.push([runs.starts[i]!, runs.starts[i + 1] ?? runs.rows]);
  });
  return ranges;
}

/** Ascending ranges with those that touch joined into one. */
export function joinTouching(ranges: readonly [number, number][]): [number, number][] {
  const joined: [number, number][] = [];
  for (const [start, end] of ranges) {
    const last = joined.at(-1);
    if (last && last[1] === start) last[1] = end;
    else joined.push([start, end]);
  }
  return joined;
}
