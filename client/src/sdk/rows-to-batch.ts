/**
 * Rows (arrays of CSV fields, JSON objects, crawler records) into one RecordBatch of a target
 * schema, column by column. A value that does not fit fails the batch with an InputError naming
 * the source, row (and line) and column.
 */
import { RecordBatch, Struct, makeData, type Schema } from 'apache-arrow';
import { locatedError, ValueError, type InputLocation } from './input-error.js';
import { createColumnBuilder } from './column-builder.js';
import type { EpochUnit } from './time-values.js';

export interface RowsToBatchOptions<R> {
  epochUnit: EpochUnit;
  /** The value of the schema's field `field` (by index) in `row`. */
  valueOf(row: R, field: number): unknown;
  /** Where row `index` of `rows` sits, for messages. */
  locate(index: number): InputLocation;
}

export function rowsToBatch<R>(schema: Schema, rows: readonly R[], opts: RowsToBatchOptions<R>): RecordBatch {
  const n = rows.length;
  const children = schema.fields.map((field, c) => {
    const builder = createColumnBuilder(field, n, { epochUnit: opts.epochUnit });
    let i = 0;
    try {
      for (; i < n; i++) builder.set(i, opts.valueOf(rows[i]!, c));
    } catch (err) {
      if (!(err instanceof ValueError)) throw err;
      throw locatedError({ ...opts.locate(i), column: field.name }, err.message, err);
    }
    return builder.finish(n);
  });
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children }));
}
