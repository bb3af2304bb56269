/**
 * From a dataset description to the columns a bar read asks for, and from the Arrow table Flight
 * returns to `Bar` rows. Times are read as raw int64 in the column's unit (exact), not via
 * `Vector.get`, which rounds to milliseconds as a JS number.
 */
import { NS_PER_UNIT } from '@flightdeck/contract';
import { DataType, type Table, type Timestamp, type Vector } from 'apache-arrow';
import { facadeError } from './errors.js';
import type { DatasetDescription } from './flight-port.js';

export interface Bar {
  symbol: string;
  /** Epoch nanoseconds. */
  ts: bigint;
  open: number | null;
  high: number | null;
  low: number | null;
  close: number | null;
  volume: number | null;
}

const VALUE_COLUMNS = ['open', 'high', 'low', 'close', 'volume'] as const;
type ValueColumn = (typeof VALUE_COLUMNS)[number];

/** Which columns of a dataset make a bar. */
export interface BarShape {
  dataset: string;
  keyColumn: string;
  timeColumn: string;
  valueColumns: ValueColumn[];
  /** False while the dataset has no schema yet (created, never written): it reads as no rows. */
  hasSchema: boolean;
}

export function barShape(d: DatasetDescription): BarShape {
  const keyColumn = d.key_columns[0];
  if (keyColumn === undefined) {
    throw facadeError('BAD_USER_INPUT', `dataset "${d.name}" has no key column, so it holds no instruments`, { dataset: d.name });
  }
  const names = new Set(d.schema.map((f) => f.name));
  return {
    dataset: d.name,
    keyColumn,
    timeColumn: d.time_column,
    valueColumns: VALUE_COLUMNS.filter((c) => names.has(c)),
    hasSchema: d.schema.length > 0,
  };
}

/** The projection of a bar read: key, time, then whichever OHLCV columns exist. */
export function barColumns(shape: BarShape): string[] {
  return [shape.keyColumn, shape.timeColumn, ...shape.valueColumns];
}

/** The time column's values as epoch nanoseconds, exactly. */
export function timestampsNs(vector: Vector): BigInt64Array {
  if (!DataType.isTimestamp(vector.type)) {
    throw facadeError('INTERNAL_SERVER_ERROR', `time column has type ${String(vector.type)}, expected a Timestamp`);
  }
  const scale = NS_PER_UNIT[(vector.type as Timestamp).unit];
  const out = new BigInt64Array(vector.length);
  let row = 0;
  for (const chunk of vector.data) {
    const values = chunk.values as unknown as BigInt64Array | Int32Array;
    for (let i = 0; i < chunk.length; i++, row++) {
      const raw = values instanceof BigInt64Array ? values[i]! : BigInt(values[2 * i]! >>> 0) + (BigInt(values[2 * i + 1]!) << 32n);
      out[row] = raw * scale;
    }
  }
  return out;
}

function numbers(vector: Vector | null, length: number): (number | null)[] {
  const out: (number | null)[] = new Array(length).fill(null);
  if (vector === null) return out;
  let i = 0;
  for (const v of vector as Iterable<unknown>) {
    out[i++] = v === null || v === undefined ? null : Number(v);
  }
  return out;
}

/** Rows of a bar read, in the table's order (Flight returns key then time). */
export function barsOfTable(table: Table, shape: BarShape): Bar[] {
  const n = table.numRows;
  if (n === 0) return [];
  const keys = table.getChild(shape.keyColumn);
  const times = table.getChild(shape.timeColumn);
  if (keys === null || times === null) {
    throw facadeError('INTERNAL_SERVER_ERROR', `Flight answer lacks column "${keys === null ? shape.keyColumn : shape.timeColumn}"`);
  }
  const ts = timestampsNs(times);
  const values = Object.fromEntries(
    VALUE_COLUMNS.map((c) => [c, numbers(shape.valueColumns.includes(c) ? table.getChild(c) : null, n)]),
  ) as Record<ValueColumn, (number | null)[]>;
  const bars: Bar[] = new Array(n);
  let i = 0;
  for (const symbol of keys as Iterable<unknown>) {
    bars[i] = {
      symbol: String(symbol),
      ts: ts[i]!,
      open: values.open[i]!,
      high: values.high[i]!,
      low: values.low[i]!,
      close: values.close[i]!,
      volume: values.volume[i]!,
    };
    i++;
  }
  return bars;
}

/** Splits rows ordered by key into one list per symbol (every requested symbol gets a list). */
export function groupBySymbol(bars: Bar[], symbols: readonly string[]): Map<string, Bar[]> {
  const out = new Map<string, Bar[]>(symbols.map((s) => [s, []]));
  for (const bar of bars) {
    let list = out.get(bar.symbol);
    if (list === undefined) {
      list = [];
      out.set(bar.symbol, list);
    }
    list.push(bar);
  }
  return out;
}
