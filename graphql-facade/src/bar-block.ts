/**
 * The columnar form of a bar read: the Arrow table Flight returns, converted ONCE, column by
 * column, straight from the vectors' buffers (no per-row `Vector.get`, no row objects): times as
 * exact epoch nanoseconds, OHLCV as Float64Arrays with a null mask, and the key column as runs of
 * one symbol (Flight returns rows ordered by key then time, so each symbol is one contiguous run).
 * `Bar` rows (for `bars`, `latest`) and `Series` arrays (for `series`) are cut from slices of it.
 */
import { floorDiv, NS_PER_UNIT } from '@flightdeck/contract';
import { DataType, makeVector, Precision, type Data, type Dictionary, type Table, type Timestamp, type Vector } from 'apache-arrow';
import { facadeError } from './errors.js';
import type { DatasetDescription } from './flight-port.js';

export const VALUE_COLUMNS = ['open', 'high', 'low', 'close', 'volume'] as const;
export type ValueColumn = (typeof VALUE_COLUMNS)[number];

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

/** `Instrument.series`: parallel arrays in time order; `ts` in epoch milliseconds. */
export interface Series {
  symbol: string;
  ts: Float64Array;
  open: ArrayLike<number | null>;
  high: ArrayLike<number | null>;
  low: ArrayLike<number | null>;
  close: ArrayLike<number | null>;
  volume: ArrayLike<number | null>;
}

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

/** Rows [start, end) of the block that belong to one symbol. */
export interface SymbolRun {
  symbol: string;
  start: number;
  end: number;
}

/** One value column: the numbers, and which rows are null (absent: none is). */
export interface NumberColumn {
  values: Float64Array;
  nulls: Uint8Array | undefined;
}

export interface BarBlock {
  length: number;
  /** In row order; one per symbol. */
  runs: SymbolRun[];
  /** Epoch nanoseconds, exact. */
  ts: BigInt64Array;
  /** undefined: the dataset has no such column (every value null). */
  values: Record<ValueColumn, NumberColumn | undefined>;
}

export const EMPTY_BLOCK: BarBlock = {
  length: 0,
  runs: [],
  ts: new BigInt64Array(0),
  values: { open: undefined, high: undefined, low: undefined, close: undefined, volume: undefined },
};

/** The time column's values as epoch nanoseconds, exactly (raw int64 times the unit's scale). */
export function timestampsNs(vector: Vector): BigInt64Array {
  if (!DataType.isTimestamp(vector.type)) {
    throw facadeError('INTERNAL_SERVER_ERROR', `time column has type ${String(vector.type)}, expected a Timestamp`);
  }
  const scale = NS_PER_UNIT[(vector.type as Timestamp).unit];
  const out = new BigInt64Array(vector.length);
  let row = 0;
  for (const chunk of vector.data) {
    const raw = int64Values(chunk);
    if (scale === 1n) {
      out.set(raw, row);
      row += chunk.length;
    } else {
      for (let i = 0; i < chunk.length; i++, row++) out[row] = raw[i]! * scale;
    }
  }
  return out;
}

/** An int64 chunk's values as a BigInt64Array view (arrow-js may hand them as Int32 pairs). */
function int64Values(chunk: Data): BigInt64Array {
  const values = chunk.values as unknown as BigInt64Array | Int32Array;
  if (values instanceof BigInt64Array) return values.subarray(0, chunk.length);
  return new BigInt64Array(values.buffer, values.byteOffset, chunk.length);
}

/** Whether row i of a chunk is valid (not null), from its validity bitmap. */
function isValid(chunk: Data, i: number): boolean {
  const bitmap = chunk.nullBitmap;
  if (chunk.nullCount === 0 || bitmap === undefined || bitmap.length === 0) return true;
  const bit = chunk.offset + i;
  return ((bitmap[bit >> 3]! >> (bit & 7)) & 1) === 1;
}

/** A numeric column as float64 with a null mask; integer and float columns from their buffers, anything else by value. */
export function numberColumn(vector: Vector): NumberColumn {
  const values = new Float64Array(vector.length);
  let nulls: Uint8Array | undefined;
  let row = 0;
  for (const chunk of vector.data) {
    const n = chunk.length;
    const type = chunk.type;
    const buffer = chunk.values as unknown;
    if ((DataType.isFloat(type) && type.precision !== Precision.HALF) || (DataType.isInt(type) && type.bitWidth < 64)) {
      // float32/float64 and 8-32 bit integers: one typed-array copy.
      values.set((buffer as Float64Array).subarray(0, n), row);
    } else if (DataType.isInt(type) && (buffer instanceof BigInt64Array || buffer instanceof BigUint64Array)) {
      for (let i = 0; i < n; i++) values[row + i] = Number(buffer[i]!);
    } else {
      fillByValue(chunk, values, row);
    }
    if (chunk.nullCount > 0) {
      nulls ??= new Uint8Array(vector.length);
      for (let i = 0; i < n; i++) if (!isValid(chunk, i)) nulls[row + i] = 1;
    }
    row += n;
  }
  return { values, nulls };
}

/** The slow path for a column type without a plain numeric buffer (e.g. decimal): `Number(value)`. */
function fillByValue(chunk: Data, out: Float64Array, row: number): void {
  const vector = chunkVector(chunk);
  for (let i = 0; i < chunk.length; i++) {
    const v = vector.get(i) as unknown;
    out[row + i] = v === null || v === undefined ? NaN : Number(v);
  }
}

/** The key column as runs of equal symbols; a symbol met again after another is an error (Flight orders by key). */
export function keyRuns(vector: Vector): SymbolRun[] {
  const runs: SymbolRun[] = [];
  const seen = new Set<string>();
  let current: SymbolRun | undefined;
  let row = 0;
  const push = (symbol: string, at: number) => {
    if (current !== undefined && current.symbol === symbol) return;
    if (current !== undefined) current.end = at;
    if (seen.has(symbol)) {
      throw facadeError('INTERNAL_SERVER_ERROR', `Flight answer is not ordered by key: symbol ${JSON.stringify(symbol)} came back in two runs`);
    }
    seen.add(symbol);
    current = { symbol, start: at, end: at };
    runs.push(current);
  };
  for (const chunk of vector.data) {
    const n = chunk.length;
    if (DataType.isDictionary(chunk.type)) {
      const dictionary = (chunk as Data<Dictionary>).dictionary!;
      const indices = chunk.values as unknown as ArrayLike<number | bigint>;
      const names = new Map<number, string>();
      let last = -1;
      for (let i = 0; i < n; i++) {
        const index = Number(indices[i]!);
        if (index === last) continue;
        last = index;
        let name = names.get(index);
        if (name === undefined) {
          name = String(dictionary.get(index));
          names.set(index, name);
        }
        push(name, row + i);
      }
    } else if (DataType.isUtf8(chunk.type) || DataType.isLargeUtf8(chunk.type)) {
      const offsets = chunk.valueOffsets as unknown as ArrayLike<number | bigint>;
      const bytes = chunk.values as unknown as Uint8Array;
      let prevStart = -1;
      let prevEnd = -1;
      const vector = chunkVector(chunk);
      for (let i = 0; i < n; i++) {
        const s = Number(offsets[i]!);
        const e = Number(offsets[i + 1]!);
        if (prevStart >= 0 && e - s === prevEnd - prevStart && sameBytes(bytes, prevStart, s, e - s)) continue;
        prevStart = s;
        prevEnd = e;
        push(String(vector.get(i)), row + i);
      }
    } else {
      const vector = chunkVector(chunk);
      for (let i = 0; i < n; i++) push(String(vector.get(i)), row + i);
    }
    row += n;
  }
  if (current !== undefined) current.end = row;
  return runs;
}

function sameBytes(bytes: Uint8Array, a: number, b: number, length: number): boolean {
  for (let k = 0; k < length; k++) if (bytes[a + k] !== bytes[b + k]) return false;
  return true;
}

/** A Vector over one chunk, for the slow paths. */
function chunkVector(chunk: Data): Vector {
  return makeVector(chunk);
}

/** A bar read's table in columnar form. */
export function blockOfTable(table: Table, shape: BarShape): BarBlock {
  const n = table.numRows;
  if (n === 0) return EMPTY_BLOCK;
  const keys = table.getChild(shape.keyColumn);
  const times = table.getChild(shape.timeColumn);
  if (keys === null || times === null) {
    throw facadeError('INTERNAL_SERVER_ERROR', `Flight answer lacks column "${keys === null ? shape.keyColumn : shape.timeColumn}"`);
  }
  const values = {} as Record<ValueColumn, NumberColumn | undefined>;
  for (const c of VALUE_COLUMNS) {
    const vector = shape.valueColumns.includes(c) ? table.getChild(c) : null;
    values[c] = vector === null ? undefined : numberColumn(vector);
  }
  return { length: n, runs: keyRuns(keys), ts: timestampsNs(times), values };
}

/** The rows of one symbol in a block (possibly none, or cut to a per-symbol limit). */
export interface BarSlice {
  symbol: string;
  block: BarBlock;
  start: number;
  end: number;
}

export function sliceLength(slice: BarSlice): number {
  return slice.end - slice.start;
}

/** One slice per requested symbol (empty when the block holds none of it). */
export function slicesBySymbol(block: BarBlock, symbols: readonly string[]): Map<string, BarSlice> {
  const out = new Map<string, BarSlice>(symbols.map((symbol) => [symbol, { symbol, block, start: 0, end: 0 }]));
  for (const run of block.runs) out.set(run.symbol, { symbol: run.symbol, block, start: run.start, end: run.end });
  return out;
}

/** The first `limit` rows of a slice. */
export function limitSlice(slice: BarSlice, limit: number | undefined): BarSlice {
  if (limit === undefined || sliceLength(slice) <= limit) return slice;
  return { ...slice, end: slice.start + limit };
}

function valueAt(column: NumberColumn | undefined, i: number): number | null {
  if (column === undefined || column.nulls?.[i] === 1) return null;
  const v = column.values[i]!;
  return Number.isNaN(v) ? null : v;
}

export function barAt(block: BarBlock, symbol: string, i: number): Bar {
  const v = block.values;
  return {
    symbol,
    ts: block.ts[i]!,
    open: valueAt(v.open, i),
    high: valueAt(v.high, i),
    low: valueAt(v.low, i),
    close: valueAt(v.close, i),
    volume: valueAt(v.volume, i),
  };
}

/** `Bar` rows of a slice, in time order. */
export function barsOfSlice(slice: BarSlice): Bar[] {
  const out: Bar[] = new Array(sliceLength(slice));
  for (let i = slice.start, k = 0; i < slice.end; i++, k++) out[k] = barAt(slice.block, slice.symbol, i);
  return out;
}

const NS_PER_MS = 1_000_000n;

function seriesColumn(column: NumberColumn | undefined, start: number, end: number): ArrayLike<number | null> {
  if (column === undefined) return new Array<null>(end - start).fill(null);
  const { values, nulls } = column;
  let clean = true;
  for (let i = start; i < end; i++) {
    if (nulls?.[i] === 1 || Number.isNaN(values[i]!)) {
      clean = false;
      break;
    }
  }
  if (clean) return values.subarray(start, end);
  const out: (number | null)[] = new Array(end - start);
  for (let i = start; i < end; i++) out[i - start] = nulls?.[i] === 1 || Number.isNaN(values[i]!) ? null : values[i]!;
  return out;
}

/** A slice as parallel arrays; `ts` in epoch milliseconds (digits below the millisecond dropped, as DateTime prints). */
export function seriesOfSlice(slice: BarSlice): Series {
  const { block, start, end } = slice;
  const ts = new Float64Array(end - start);
  for (let i = start; i < end; i++) ts[i - start] = Number(floorDiv(block.ts[i]!, NS_PER_MS));
  const v = block.values;
  return {
    symbol: slice.symbol,
    ts,
    open: seriesColumn(v.open, start, end),
    high: seriesColumn(v.high, start, end),
    low: seriesColumn(v.low, start, end),
    close: seriesColumn(v.close, start, end),
    volume: seriesColumn(v.volume, start, end),
  };
}
