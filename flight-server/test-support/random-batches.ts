/**
 * Seeded random RecordBatches of every type the kernels handle (utf8 and dictionary<utf8> with
 * unused and duplicated entries, nulls, sliced inputs) and a plain-JS reference model to check
 * kernel results against.
 */
import {
  Bool,
  Data,
  DataType,
  DateDay,
  Dictionary,
  Field,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimeUnit,
  Timestamp,
  Uint16,
  Uint8,
  Utf8,
  Vector,
  makeData,
  tableFromIPC,
  tableToIPC,
} from 'apache-arrow';

type TKeys = Int8 | Int16 | Int32 | Uint8 | Uint16;

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Rng = () => number;
export const int = (rng: Rng, n: number) => Math.floor(rng() * n);
export const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[int(rng, xs.length)]!;

/** Includes strings whose UTF-16 order differs from code-point order ('～' U+FF5E < '😀' U+1F600). */
export const SYMBOLS = ['AAPL', 'MSFT', 'A', 'AA', 'B', 'Z', 'a', '', 'é', '中文', '～', '😀', 'AAPL ', 'x\u0000y', 'ZZZZZZZZZZZZZZZZZZZZZZZZ'];
export const UNITS = [TimeUnit.SECOND, TimeUnit.MILLISECOND, TimeUnit.MICROSECOND, TimeUnit.NANOSECOND] as const;
const INDEX_TYPES: (() => TKeys)[] = [() => new Int8(), () => new Int16(), () => new Int32(), () => new Uint8(), () => new Uint16()];
const enc = new TextEncoder();

function bitmapOf(valid: boolean[]): Uint8Array {
  const bm = new Uint8Array(Math.ceil(valid.length / 8) + 8);
  valid.forEach((v, i) => {
    if (v) bm[i >> 3] = bm[i >> 3]! | (1 << (i & 7));
  });
  return bm;
}

export function utf8Data(values: (string | null)[]): Data {
  const offsets = new Int32Array(values.length + 1);
  const chunks = values.map((v) => enc.encode(v ?? ''));
  let total = 0;
  chunks.forEach((c, i) => {
    total += values[i] === null ? 0 : c.length;
    offsets[i + 1] = total;
  });
  const bytes = new Uint8Array(total);
  chunks.forEach((c, i) => {
    if (values[i] !== null) bytes.set(c, offsets[i]!);
  });
  return makeData({ type: new Utf8(), length: values.length, valueOffsets: offsets, data: bytes, nullBitmap: bitmapOf(values.map((v) => v !== null)) });
}

/** Dictionary column with a shuffled dictionary holding unused and duplicated entries. */
export function dictData(rng: Rng, values: (string | null)[], indexType: TKeys = pick(rng, INDEX_TYPES)()): Data {
  const distinct = [...new Set(values.filter((v): v is string => v !== null))];
  const entries = [...distinct, ...distinct.filter(() => rng() < 0.2), ...SYMBOLS.filter(() => rng() < 0.2).map((s) => `unused-${s}`)];
  for (let i = entries.length - 1; i > 0; i--) {
    const j = int(rng, i + 1);
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  const positions = new Map<string, number[]>();
  entries.forEach((e, k) => positions.set(e, [...(positions.get(e) ?? []), k]));
  const type = new Dictionary(new Utf8(), indexType);
  const indices = new (type.indices.ArrayType as Int32ArrayConstructor)(values.length);
  values.forEach((v, i) => {
    indices[i] = v === null ? 0 : pick(rng, positions.get(v)!);
  });
  const dictionary = new Vector([utf8Data(entries)]);
  return makeData({ type, length: values.length, data: indices, nullBitmap: bitmapOf(values.map((v) => v !== null)), dictionary } as never) as Data;
}

export function fixedData(type: DataType, values: ArrayLike<number> | BigInt64Array, valid: boolean[]): Data {
  return makeData({ type, length: valid.length, data: values, nullBitmap: bitmapOf(valid) } as never);
}

function boolData(values: (boolean | null)[]): Data {
  return makeData({ type: new Bool(), length: values.length, data: bitmapOf(values.map((v) => v === true)), nullBitmap: bitmapOf(values.map((v) => v !== null)) });
}

export function randomBigInt(rng: Rng, lo: bigint, hi: bigint): bigint {
  const span = hi - lo;
  const r = (BigInt(Math.floor(rng() * 2 ** 32)) << 32n) | BigInt(Math.floor(rng() * 2 ** 32));
  return lo + (r % span);
}

export interface GenOptions {
  n: number;
  unit?: TimeUnit;
  symbolKind?: 'utf8' | 'dictionary';
  symbols?: readonly string[];
  /** Raw time values (in the unit) are drawn from [lo, hi). */
  time?: [bigint, bigint];
  nullRate?: number;
  /** Rows generated before and after the returned slice. */
  slice?: boolean;
}

/** A random batch of every supported type; `seq` numbers the rows in write order. */
export function genBatch(rng: Rng, o: GenOptions): RecordBatch {
  const pre = o.slice ? int(rng, 13) + 1 : 0;
  const post = o.slice ? int(rng, 13) : 0;
  const m = pre + o.n + post;
  const unit = o.unit ?? TimeUnit.NANOSECOND;
  const [tlo, thi] = o.time ?? [0n, 1000n];
  const nullRate = o.nullRate ?? 0.2;
  const valid = () => Array.from({ length: m }, () => rng() >= nullRate);
  const symbols = o.symbols ?? SYMBOLS;
  const sym = Array.from({ length: m }, () => pick(rng, symbols));
  const ts = BigInt64Array.from({ length: m }, () => randomBigInt(rng, tlo, thi));
  const sv = valid();
  const dv = valid();
  const bools = valid().map((v) => (v ? rng() < 0.5 : null));
  const columns: [string, Data][] = [
    ['symbol', o.symbolKind === 'dictionary' ? dictData(rng, sym) : utf8Data(sym)],
    ['ts', fixedData(new Timestamp(unit, 'UTC'), ts, Array<boolean>(m).fill(true))],
    ['s', utf8Data(sym.map((_, i) => (sv[i] ? pick(rng, SYMBOLS) + int(rng, 3) : null)))],
    ['d', dictData(rng, sym.map((_, i) => (dv[i] ? pick(rng, SYMBOLS) : null)))],
    ['b', boolData(bools)],
    ['i32', fixedData(new Int32(), Int32Array.from({ length: m }, () => int(rng, 2 ** 32) - 2 ** 31), valid())],
    ['i64', fixedData(new Int64(), BigInt64Array.from({ length: m }, () => randomBigInt(rng, -(2n ** 62n), 2n ** 62n)), valid())],
    ['f32', fixedData(new Float32(), Float32Array.from({ length: m }, () => (rng() - 0.5) * 1e6), valid())],
    ['f64', fixedData(new Float64(), Float64Array.from({ length: m }, () => (rng() - 0.5) * 1e12), valid())],
    ['t2', fixedData(new Timestamp(TimeUnit.MILLISECOND, 'UTC'), BigInt64Array.from({ length: m }, () => randomBigInt(rng, -(10n ** 12n), 10n ** 13n)), valid())],
    ['day', fixedData(new DateDay(), Int32Array.from({ length: m }, () => int(rng, 200000) - 100000), valid())],
    ['seq', fixedData(new Int32(), Int32Array.from({ length: m }, (_, i) => i), Array.from({ length: m }, () => true))],
  ];
  const fields = columns.map(([name, d]) => new Field(name, d.type, name !== 'symbol' && name !== 'ts' && name !== 'seq'));
  const schema = new Schema(fields);
  const batch = new RecordBatch(schema, makeData({ type: new Struct(fields), length: m, nullCount: 0, children: columns.map(([, d]) => d) }));
  return o.slice ? batch.slice(pre, pre + o.n) : batch;
}

export type Cell = string | number | bigint | boolean | null;
export type Row = Record<string, Cell>;

/** Rows through arrow-js's own accessors (raw int64 for timestamps, which `get` would round). */
export function refRows(batch: RecordBatch): Row[] {
  const rows: Row[] = Array.from({ length: batch.numRows }, () => ({}));
  batch.schema.fields.forEach((f, c) => {
    const d = batch.data.children[c]!;
    const v = new Vector([d]);
    for (let i = 0; i < batch.numRows; i++) {
      let x: Cell;
      if (!v.isValid(i)) x = null;
      else if (DataType.isTimestamp(d.type)) x = (d.values as BigInt64Array)[i]!;
      else x = v.get(i) as Cell;
      rows[i]![f.name] = x;
    }
  });
  return rows;
}

export function cmpCell(a: Cell, b: Cell): number {
  if (a === null || b === null) return (a === null ? 0 : 1) - (b === null ? 0 : 1);
  if (typeof a === 'string') return Buffer.compare(Buffer.from(a), Buffer.from(b as string));
  return a < b ? -1 : a > b ? 1 : 0;
}

export function refSort(rows: Row[], keys: string[], time: string): number[] {
  return rows
    .map((_, i) => i)
    .sort((i, j) => {
      for (const k of keys) {
        const c = cmpCell(rows[i]![k]!, rows[j]![k]!);
        if (c !== 0) return c;
      }
      return cmpCell(rows[i]![time]!, rows[j]![time]!) || i - j;
    });
}

export function ipcRoundTrip(batch: RecordBatch): Row[] {
  return refRows(tableFromIPC(tableToIPC(new Table([batch]))).batches[0]!);
}
