/**
 * Record batches read from a file (Parquet, Arrow) conformed to a dataset's wire schema: columns
 * matched by name and put in the dataset's order, data of the same type passed through untouched,
 * timestamps rescaled exactly, anything else converted value by value. Missing or unexpected
 * columns fail at once, naming them.
 */
import { DataType, RecordBatch, Struct, TimeUnit, makeData, type Data, type Schema, type Timestamp, type Vector } from 'apache-arrow';
import { createColumnBuilder } from './column-builder.js';
import { InputError, locatedError, ValueError } from './input-error.js';
import { sameWireType } from './dataset-schema.js';
import { describeType, MAX_TIME_NS, MIN_TIME_NS, NS_PER_UNIT, timeUnitName } from '@flightdeck/contract';
import type { EpochUnit } from './time-values.js';

type Plan =
  | { kind: 'pass'; index: number }
  | { kind: 'rescale'; index: number; from: TimeUnit }
  | { kind: 'values'; index: number; read: (v: Vector, i: number) => unknown };

export interface ConformOptions {
  epochUnit: EpochUnit;
  /** The file, for messages. */
  source: string;
}

export class BatchConformer {
  readonly #plans: Plan[];

  constructor(
    sourceSchema: Schema,
    private readonly target: Schema,
    private readonly opts: ConformOptions,
  ) {
    const names = sourceSchema.fields.map((f) => f.name);
    const extra = names.filter((n) => !target.fields.some((f) => f.name === n));
    if (extra.length > 0) {
      throw new InputError(
        `${opts.source}: unexpected column${extra.length > 1 ? 's' : ''} ${extra.map((n) => `"${n}"`).join(', ')}; the dataset has ${target.fields.map((f) => f.name).join(', ')}`,
        { source: opts.source, column: extra[0]! },
      );
    }
    this.#plans = target.fields.map((field) => {
      const index = names.indexOf(field.name);
      if (index < 0) {
        throw new InputError(`${opts.source}: missing column "${field.name}" (${describeType(field.type)}); the file has ${names.join(', ')}`, {
          source: opts.source,
          column: field.name,
        });
      }
      const from = sourceSchema.fields[index]!.type;
      if (sameWireType(from, field.type)) return { kind: 'pass', index };
      if (DataType.isTimestamp(from)) {
        if (DataType.isTimestamp(field.type)) return { kind: 'rescale', index, from: from.unit as TimeUnit };
        throw new InputError(`${opts.source}: column "${field.name}" is a timestamp in the file but ${describeType(field.type)} in the dataset`, {
          source: opts.source,
          column: field.name,
        });
      }
      if (DataType.isDate(from)) return { kind: 'values', index, read: (v, i) => (v.isValid(i) ? new Date(v.get(i) as number) : null) };
      if (DataType.isDictionary(from) || DataType.isUtf8(from) || DataType.isLargeUtf8(from) || DataType.isUtf8View(from) || DataType.isInt(from) || DataType.isFloat(from) || DataType.isBool(from)) {
        return { kind: 'values', index, read: (v, i) => v.get(i) };
      }
      throw new InputError(`${opts.source}: column "${field.name}" has type ${describeType(from)}, which cannot become ${describeType(field.type)}`, {
        source: opts.source,
        column: field.name,
      });
    });
  }

  /** `batch` in the target schema; `firstRow` is its first row's 1-based number in the file. */
  conform(batch: RecordBatch, firstRow: number): RecordBatch {
    const n = batch.numRows;
    const children = this.target.fields.map((field, c): Data => {
      const plan = this.#plans[c]!;
      const column = batch.getChildAt(plan.index)!;
      const data = column.data[0]!;
      switch (plan.kind) {
        case 'pass':
          return data.clone(field.type);
        case 'rescale':
          return this.#rescale(data, plan.from, field.type as Timestamp, field.name, firstRow);
        case 'values': {
          const builder = createColumnBuilder(field, n, { epochUnit: this.opts.epochUnit });
          let i = 0;
          try {
            for (; i < n; i++) builder.set(i, plan.read(column, i));
          } catch (err) {
            if (!(err instanceof ValueError)) throw err;
            throw locatedError({ source: this.opts.source, row: firstRow + i, column: field.name }, err.message, err);
          }
          return builder.finish(n);
        }
        default: {
          const never: never = plan;
          throw new Error(`unknown plan ${String(never)}`);
        }
      }
    });
    return new RecordBatch(this.target, makeData({ type: new Struct(this.target.fields), length: n, nullCount: 0, children }));
  }

  #rescale(data: Data, from: TimeUnit, to: Timestamp, column: string, firstRow: number): Data {
    const src = data.values as BigInt64Array;
    const out = new BigInt64Array(data.length);
    const bitmap = data.nullCount > 0 ? new Uint8Array(Math.ceil(data.length / 8)) : null;
    const fromNs = NS_PER_UNIT[from];
    const toNs = NS_PER_UNIT[to.unit as TimeUnit];
    for (let i = 0; i < data.length; i++) {
      if (bitmap !== null) {
        if (!data.getValid(i)) continue;
        bitmap[i >> 3]! |= 1 << (i & 7);
      }
      const ns = src[i]! * fromNs;
      if (ns < MIN_TIME_NS || ns >= MAX_TIME_NS || ns % toNs !== 0n) {
        const reason =
          ns % toNs !== 0n
            ? `${src[i]} ${timeUnitName(from)} is finer than the dataset's unit (${timeUnitName(to.unit as TimeUnit)})`
            : `time ${src[i]} ${timeUnitName(from)} is outside [1678-01-01, 2262-01-01) UTC`;
        throw locatedError({ source: this.opts.source, row: firstRow + i, column }, reason);
      }
      out[i] = ns / toNs;
    }
    return makeData({ type: to, length: data.length, nullCount: data.nullCount, nullBitmap: bitmap, data: out } as never);
  }
}
