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
import { describe, expect, it } from 'vitest';

type TKeys = Int8 | Int16 | Int32 | Uint8 | Uint16;
import {
  ceilFromNanoseconds,
  concatBatches,
  conformBatch,
  filterBatch,
  isSortedUnique,
  lastWinsUnique,
  sortPermutation,
  sortedRangeForKeys,
  takeRows,
  timeColumnInt64,
  timeValuesNs,
  toNanoseconds,
  type RowRange,
} from './batch-kernels.js';
import { StorageError } from './errors.js';

// ---------------------------------------------------------------------------------------------
// Seeded random data and a plain-JS reference model

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rng = () => number;
const int = (rng: Rng, n: number) => Math.floor(rng() * n);
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[int(rng, xs.length)]!;

/** Includes strings whose UTF-16 order differs from code-point order ('～' U+FF5E < '😀' U+1F600). */
const SYMBOLS = ['AAPL', 'MSFT', 'A', 'AA', 'B', 'Z', 'a', '', 'é', '中文', '～', '😀', 'AAPL ', 'x\u0000y', 'ZZZZZZZZZZZZZZZZZZZZZZZZ'];
const UNITS = [TimeUnit.SECOND, TimeUnit.MILLISECOND, TimeUnit.MICROSECOND, TimeUnit.NANOSECOND] as const;
const INDEX_TYPES: (() => TKeys)[] = [() => new Int8(), () => new Int16(), () => new Int32(), () => new Uint8(), () => new Uint16()];
const enc = new TextEncoder();

function bitmapOf(valid: boolean[]): Uint8Array {
  const bm = new Uint8Array(Math.ceil(valid.length / 8) + 8);
  valid.forEach((v, i) => {
    if (v) bm[i >> 3] = bm[i >> 3]! | (1 << (i & 7));
  });
  return bm;
}

function utf8Data(values: (string | null)[]): Data {
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
function dictData(rng: Rng, values: (string | null)[], indexType: TKeys = pick(rng, INDEX_TYPES)()): Data {
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

function fixedData(type: DataType, values: ArrayLike<number> | BigInt64Array, valid: boolean[]): Data {
  return makeData({ type, length: valid.length, data: values, nullBitmap: bitmapOf(valid) } as never);
}

function boolData(values: (boolean | null)[]): Data {
  return makeData({ type: new Bool(), length: values.length, data: bitmapOf(values.map((v) => v === true)), nullBitmap: bitmapOf(values.map((v) => v !== null)) });
}

function randomBigInt(rng: Rng, lo: bigint, hi: bigint): bigint {
  const span = hi - lo;
  const r = (BigInt(Math.floor(rng() * 2 ** 32)) << 32n) | BigInt(Math.floor(rng() * 2 ** 32));
  return lo + (r % span);
}

interface GenOptions {
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
function genBatch(rng: Rng, o: GenOptions): RecordBatch {
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

type Cell = string | number | bigint | boolean | null;
type Row = Record<string, Cell>;

/** Rows through arrow-js's own accessors (raw int64 for timestamps, which `get` would round). */
function refRows(batch: RecordBatch): Row[] {
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

function cmpCell(a: Cell, b: Cell): number {
  if (a === null || b === null) return (a === null ? 0 : 1) - (b === null ? 0 : 1);
  if (typeof a === 'string') return Buffer.compare(Buffer.from(a), Buffer.from(b as string));
  return a < b ? -1 : a > b ? 1 : 0;
}

function refSort(rows: Row[], keys: string[], time: string): number[] {
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

function expandRanges(ranges: RowRange[]): number[] {
  return ranges.flatMap(([s, e]) => Array.from({ length: e - s }, (_, k) => s + k));
}

function ipcRoundTrip(batch: RecordBatch): Row[] {
  return refRows(tableFromIPC(tableToIPC(new Table([batch]))).batches[0]!);
}

const UNIT_NS = { [TimeUnit.SECOND]: 1_000_000_000n, [TimeUnit.MILLISECOND]: 1_000_000n, [TimeUnit.MICROSECOND]: 1000n, [TimeUnit.NANOSECOND]: 1n };

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

// ---------------------------------------------------------------------------------------------

describe('time helpers', () => {
  it('reads raw int64 values offset-correctly and converts every unit to ns', () => {
    const rng = mulberry32(1);
    for (const unit of UNITS) {
      const batch = genBatch(rng, { n: 50, unit, slice: true, time: [-(10n ** 9n), 10n ** 9n] });
      const raw = timeColumnInt64(batch, 'ts');
      const ref = refRows(batch).map((r) => r['ts'] as bigint);
      expect([...raw]).toEqual(ref);
      expect([...timeValuesNs(batch.getChild('ts')!)]).toEqual(ref.map((v) => v * UNIT_NS[unit]));
      expect(toNanoseconds(-3n, unit)).toBe(-3n * UNIT_NS[unit]);
    }
    expect(() => timeColumnInt64(genBatch(rng, { n: 3 }), 'i64')).toThrow(StorageError);
    expect(() => timeColumnInt64(genBatch(rng, { n: 3 }), 'nope')).toThrow(/"nope"/);
  });

  it('rounds ns bounds up to the unit', () => {
    expect(ceilFromNanoseconds(1_500_000n, TimeUnit.MILLISECOND)).toBe(2n);
    expect(ceilFromNanoseconds(2_000_000n, TimeUnit.MILLISECOND)).toBe(2n);
    expect(ceilFromNanoseconds(-1_500_000n, TimeUnit.MILLISECOND)).toBe(-1n);
    expect(ceilFromNanoseconds(-2_000_000n, TimeUnit.MILLISECOND)).toBe(-2n);
    expect(ceilFromNanoseconds(7n, TimeUnit.NANOSECOND)).toBe(7n);
  });
});

describe('conformBatch', () => {
  it('converts utf8 <-> dictionary, reorders and fills evolved columns with nulls', () => {
    const rng = mulberry32(2);
    for (let round = 0; round < 20; round++) {
      const batch = genBatch(rng, { n: int(rng, 60), symbolKind: round % 2 ? 'dictionary' : 'utf8', slice: round % 3 !== 0 });
      const ref = refRows(batch);
      const f = (name: string) => batch.schema.fields.find((x) => x.name === name)!;
      const target = new Schema([
        new Field('ts', f('ts').type, false),
        new Field('symbol', round % 2 ? new Utf8() : new Dictionary(new Utf8(), new Int32()), false),
        new Field('d', new Utf8(), true),
        new Field('s', new Dictionary(new Utf8(), round % 4 < 2 ? new Int16() : new Int32()), true),
        f('f64'),
        f('b'),
        new Field('vwap', new Float64(), true),
        new Field('note', new Dictionary(new Utf8(), new Int32()), true),
        new Field('tag', new Utf8(), true),
      ]);
      const out = conformBatch(batch, target);
      expect(out.schema.fields.map((x) => x.name)).toEqual(target.fields.map((x) => x.name));
      out.schema.fields.forEach((x, c) => expect(out.data.children[c]!.type).toBe(x.type));
      expect(out.schema.fields.map((x) => String(x.type))).toEqual(target.fields.map((x) => String(x.type)));
      const expected = ref.map((r) => ({ ts: r['ts']!, symbol: r['symbol']!, d: r['d']!, s: r['s']!, f64: r['f64']!, b: r['b']!, vwap: null, note: null, tag: null }));
      expect(refRows(out)).toEqual(expected);
      expect(ipcRoundTrip(out)).toEqual(expected);
    }
  });

  it('treats utf8 and dictionary<utf8> as the same values both ways', () => {
    const rng = mulberry32(3);
    const batch = genBatch(rng, { n: 100, symbolKind: 'dictionary', slice: true });
    const asUtf8 = conformBatch(batch, new Schema([new Field('d', new Utf8(), true)]));
    const back = conformBatch(asUtf8, new Schema([new Field('d', new Dictionary(new Utf8(), new Int8()), true)]));
    const ref = refRows(batch).map((r) => ({ d: r['d']! }));
    expect(refRows(asUtf8)).toEqual(ref);
    expect(refRows(back)).toEqual(ref);
    expect(DataType.isDictionary(back.schema.fields[0]!.type)).toBe(true);
  });

  it('widens a dictionary index type that cannot address the values, keeping the dictionary id', () => {
    const values = Array.from({ length: 300 }, (_, i) => `v${i}`);
    const batch = new RecordBatch({ v: utf8Data(values) });
    const target = new Dictionary(new Utf8(), new Int8(), 77);
    const out = conformBatch(batch, new Schema([new Field('v', target, true)]));
    const t = out.schema.fields[0]!.type as Dictionary;
    expect(t.id).toBe(77);
    expect(t.indices.bitWidth).toBe(32);
    expect(refRows(out).map((r) => r['v'])).toEqual(values);
  });

  it('refuses an incompatible column', () => {
    const batch = genBatch(mulberry32(4), { n: 3 });
    expect(() => conformBatch(batch, new Schema([new Field('i32', new Float64())]))).toThrow(/"i32".*float64.*int32/);
  });
});

describe('concatBatches', () => {
  it('matches the reference over batches with different dictionaries, index types, slices and nulls', () => {
    const rng = mulberry32(5);
    for (let round = 0; round < 15; round++) {
      const k = int(rng, 5) + 1;
      const batches = Array.from({ length: k }, (_, j) =>
        genBatch(rng, { n: int(rng, 40), symbolKind: (round + j) % 2 ? 'dictionary' : 'utf8', slice: rng() < 0.6 }),
      );
      const first = batches[0]!.schema;
      const schema = new Schema(
        first.fields.map((f) => (f.name === 'symbol' ? new Field('symbol', new Dictionary(new Utf8(), new Int32()), false) : f.name === 'd' ? new Field('d', new Dictionary(new Utf8(), new Int32()), true) : f)),
      );
      const out = concatBatches(schema, batches);
      const expected = batches.flatMap((b) => refRows(b));
      expect(out.numRows).toBe(expected.length);
      expect(refRows(out)).toEqual(expected);
      if (k > 1) {
        for (const d of out.data.children) {
          expect(d.offset).toBe(0);
          if (DataType.isDictionary(d.type)) expect(d.dictionary!.data.length).toBe(1);
        }
      }
      expect(ipcRoundTrip(out)).toEqual(expected);
    }
  });

  it('gives a zero-row batch of the schema for no batches', () => {
    const schema = genBatch(mulberry32(6), { n: 1 }).schema;
    const out = concatBatches(schema, []);
    expect(out.numRows).toBe(0);
    expect(out.schema.fields.map((f) => f.name)).toEqual(schema.fields.map((f) => f.name));
    expect(ipcRoundTrip(out)).toEqual([]);
  });

  it('unifies dictionaries that hold null entries', () => {
    const dict = (entries: (string | null)[], idx: number[]) =>
      makeData({ type: new Dictionary(new Utf8(), new Int32()), length: idx.length, data: Int32Array.from(idx), dictionary: new Vector([utf8Data(entries)]) } as never) as Data;
    const a = new RecordBatch({ v: dict(['x', null, 'y'], [0, 1, 2, 1]) });
    const b = new RecordBatch({ v: dict(['y', 'z'], [1, 0]) });
    const out = concatBatches(a.schema, [a, b]);
    expect(refRows(out).map((r) => r['v'])).toEqual(['x', null, 'y', null, 'z', 'y']);
    expect(out.data.children[0]!.nullCount).toBe(2);
  });
});

describe('takeRows', () => {
  it('gathers every type, with repeats, nulls and sliced inputs', () => {
    const rng = mulberry32(7);
    for (let round = 0; round < 20; round++) {
      const batch = genBatch(rng, { n: int(rng, 80) + 1, symbolKind: round % 2 ? 'dictionary' : 'utf8', slice: round % 3 !== 0 });
      const ref = refRows(batch);
      const idx = Array.from({ length: int(rng, 120) }, () => int(rng, batch.numRows));
      const out = takeRows(batch, round % 2 ? idx : Uint32Array.from(idx));
      const expected = idx.map((i) => ref[i]!);
      expect(refRows(out)).toEqual(expected);
      expect(ipcRoundTrip(out)).toEqual(expected);
    }
  });

  it('rejects out-of-range indices', () => {
    const batch = genBatch(mulberry32(8), { n: 5 });
    expect(() => takeRows(batch, [0, 5])).toThrow(StorageError);
  });
});

describe('sortPermutation', () => {
  it('is the stable (keys, time) order of the reference, for every unit and key kind', () => {
    const rng = mulberry32(9);
    for (let round = 0; round < 40; round++) {
      const unit = UNITS[round % 4]!;
      const wide = round % 5 === 0;
      const batch = genBatch(rng, {
        n: int(rng, 300),
        unit,
        symbolKind: round % 2 ? 'dictionary' : 'utf8',
        slice: round % 3 === 0,
        symbols: SYMBOLS.slice(0, int(rng, SYMBOLS.length) + 1),
        time: wide ? [-(2n ** 63n) + 1n, 2n ** 63n - 1n] : [-5n, int(rng, 3) === 0 ? 3n : 10_000n],
      });
      const ref = refRows(batch);
      const keySets = [['symbol'], [], ['symbol', 'd'], ['i32', 'symbol'], ['b', 's'], ['day'], ['f64'], ['i64'], ['t2', 'symbol']];
      const keys = keySets[round % keySets.length]!;
      expect([...sortPermutation(batch, keys, 'ts')]).toEqual(refSort(ref, keys, 'ts'));
    }
  });

  it('sorts times on a grid (common divisors, trailing zero words) like the reference', () => {
    const rng = mulberry32(16);
    const steps = [1n, 60_000_000_000n, 2n ** 33n, 3n * 2n ** 35n, 86_400_000_000_000n, 7n];
    for (let round = 0; round < 24; round++) {
      const step = steps[round % steps.length]!;
      const base = randomBigInt(rng, -(10n ** 15n), 10n ** 15n);
      const n = int(rng, 400) + 2;
      const raw = BigInt64Array.from({ length: n }, () => base + BigInt(int(rng, 1000)) * step);
      const batch = new RecordBatch({
        symbol: round % 2 ? dictData(rng, Array.from({ length: n }, () => pick(rng, SYMBOLS))) : utf8Data(Array.from({ length: n }, () => pick(rng, SYMBOLS))),
        ts: fixedData(new Timestamp(UNITS[round % 4]!, 'UTC'), raw, Array<boolean>(n).fill(true)),
      });
      const ref = refRows(batch);
      expect([...sortPermutation(batch, ['symbol'], 'ts')]).toEqual(refSort(ref, ['symbol'], 'ts'));
      expect([...sortPermutation(batch, [], 'ts')]).toEqual(refSort(ref, [], 'ts'));
    }
  });

  it('orders strings by code point, not UTF-16 unit', () => {
    const batch = new RecordBatch({
      symbol: utf8Data(['😀', '～', 'z', 'é', '']),
      ts: fixedData(new Timestamp(TimeUnit.SECOND, 'UTC'), new BigInt64Array(5), [true, true, true, true, true]),
    });
    expect([...sortPermutation(batch, ['symbol'], 'ts')]).toEqual([4, 2, 3, 1, 0]);
  });

  it('returns the identity for sorted input and handles time-ordered-per-key input', () => {
    const rng = mulberry32(10);
    const batch = genBatch(rng, { n: 500, symbols: ['A', 'B', 'C', 'D'], time: [0n, 50n], nullRate: 0 });
    const sorted = takeRows(batch, sortPermutation(batch, ['symbol'], 'ts'));
    const perm = sortPermutation(sorted, ['symbol'], 'ts');
    expect([...perm]).toEqual(Array.from({ length: 500 }, (_, i) => i));
    // interleaved keys, time ascending overall (one bar per symbol per minute)
    const interleaved = takeRows(batch, sortPermutation(batch, [], 'ts'));
    expect([...sortPermutation(interleaved, ['symbol'], 'ts')]).toEqual(refSort(refRows(interleaved), ['symbol'], 'ts'));
  });

  it('sorts 1M rows (logged, not asserted)', () => {
    const rng = mulberry32(11);
    const n = 1_000_000;
    const t0 = performance.now();
    const symbols = Array.from({ length: 500 }, (_, i) => enc.encode(`SYM${i}`));
    const dictOffsets = new Int32Array(symbols.length + 1);
    symbols.forEach((b, k) => (dictOffsets[k + 1] = dictOffsets[k]! + b.length));
    const dictBytes = new Uint8Array(dictOffsets[symbols.length]!);
    symbols.forEach((b, k) => dictBytes.set(b, dictOffsets[k]!));
    const symIdx = Int32Array.from({ length: n }, () => int(rng, symbols.length));
    const offsets = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i]! + symbols[symIdx[i]!]!.length;
    const bytes = new Uint8Array(offsets[n]!);
    for (let i = 0; i < n; i++) bytes.set(symbols[symIdx[i]!]!, offsets[i]!);
    // one year of 1-minute bars, in random order
    const start = 1_704_067_200_000_000_000n;
    const ts = new BigInt64Array(n);
    for (let i = 0; i < n; i++) ts[i] = start + BigInt(int(rng, 365 * 24 * 60)) * 60_000_000_000n;
    const columns = (symbol: Data) => ({
      symbol,
      ts: makeData({ type: new Timestamp(TimeUnit.NANOSECOND, 'UTC'), length: n, data: ts }),
      close: makeData({ type: new Float64(), length: n, data: Float64Array.from({ length: n }, () => rng() * 100) }),
    });
    const utf8 = new RecordBatch(columns(makeData({ type: new Utf8(), length: n, valueOffsets: offsets, data: bytes })));
    const dictType = new Dictionary(new Utf8(), new Int32());
    const dictionary = new Vector([makeData({ type: new Utf8(), length: symbols.length, valueOffsets: dictOffsets, data: dictBytes })]);
    const dict = new RecordBatch(columns(makeData({ type: dictType, length: n, data: symIdx, dictionary } as never) as Data));
    const build = performance.now() - t0;

    const t1 = performance.now();
    const permUtf8 = sortPermutation(utf8, ['symbol'], 'ts');
    const t2 = performance.now();
    const permDict = sortPermutation(dict, ['symbol'], 'ts');
    const t3 = performance.now();
    const sorted = takeRows(utf8, permUtf8);
    const t4 = performance.now();
    const again = sortPermutation(sorted, ['symbol'], 'ts');
    const t5 = performance.now();
    const unique = lastWinsUnique(utf8, permUtf8, ['symbol'], 'ts');
    const t6 = performance.now();
    const halves = [utf8.slice(0, n / 2), utf8.slice(n / 2)];
    const t7 = performance.now();
    const joined = concatBatches(utf8.schema, halves);
    const t8 = performance.now();
    const joinedDict = concatBatches(dict.schema, [dict.slice(0, n / 2), dict.slice(n / 2)]);
    const t9 = performance.now();
    const takeDict = takeRows(dict, permDict);
    const t10 = performance.now();
    const deduped = takeRows(utf8, unique);
    const t10b = performance.now();
    const sortedOk = isSortedUnique(deduped, ['symbol'], 'ts');
    const t11 = performance.now();
    log(
      `[batch-kernels 1M rows, 500 symbols, random order] build ${build.toFixed(0)} ms | ` +
        `sortPermutation utf8 ${(t2 - t1).toFixed(0)} ms, dictionary ${(t3 - t2).toFixed(0)} ms, already sorted ${(t5 - t4).toFixed(0)} ms | ` +
        `takeRows utf8 ${(t4 - t3).toFixed(0)} ms, dictionary ${(t10 - t9).toFixed(0)} ms | lastWinsUnique ${(t6 - t5).toFixed(0)} ms | ` +
        `concat 2 halves utf8 ${(t8 - t7).toFixed(0)} ms, dictionary ${(t9 - t8).toFixed(0)} ms | isSortedUnique ${(t11 - t10b).toFixed(0)} ms`,
    );
    let samePerm = permDict.length === permUtf8.length;
    for (let i = 0; i < n && samePerm; i++) samePerm = permDict[i] === permUtf8[i];
    expect(samePerm).toBe(true);
    expect(again[n - 1]).toBe(n - 1);
    expect(joined.numRows).toBe(n);
    expect(joinedDict.numRows).toBe(n);
    expect(takeDict.numRows).toBe(n);
    expect(sortedOk).toBe(true);
    const tsSorted = timeColumnInt64(sorted, 'ts');
    const symSorted = sorted.getChild('symbol')!;
    for (let i = 1; i < n; i += 997) {
      const c = Buffer.compare(Buffer.from(symSorted.get(i - 1) as string), Buffer.from(symSorted.get(i) as string));
      expect(c < 0 || (c === 0 && tsSorted[i - 1]! <= tsSorted[i]!)).toBe(true);
    }
  }, 120_000);
});

describe('lastWinsUnique / isSortedUnique', () => {
  it('keeps exactly the last write of each primary key', () => {
    const rng = mulberry32(12);
    for (let round = 0; round < 30; round++) {
      const unit = UNITS[round % 4]!;
      const batch = genBatch(rng, {
        n: int(rng, 400),
        unit,
        symbolKind: round % 2 ? 'dictionary' : 'utf8',
        symbols: ['A', 'B', 'é', '😀'],
        time: [-3n, 12n],
        slice: round % 3 === 0,
      });
      const keys = round % 3 === 2 ? ['symbol', 'b'] : ['symbol'];
      const ref = refRows(batch);
      const perm = sortPermutation(batch, keys, 'ts');
      const out = takeRows(batch, lastWinsUnique(batch, perm, keys, 'ts'));

      const latest = new Map<string, Row>();
      for (const r of ref) latest.set(JSON.stringify([...keys.map((k) => r[k]), String(r['ts'])]), r);
      const expectedRows = [...latest.values()];
      const expected = refSort(expectedRows, keys, 'ts').map((i) => expectedRows[i]!);
      expect(refRows(out)).toEqual(expected);
      expect(isSortedUnique(out, keys, 'ts')).toBe(true);
      if (out.numRows < batch.numRows) expect(isSortedUnique(takeRows(batch, perm), keys, 'ts')).toBe(false);
    }
  });

  it('prefers the later of two equal keys written in one batch', () => {
    const batch = new RecordBatch({
      symbol: dictData(mulberry32(13), ['X', 'X', 'Y', 'X']),
      ts: fixedData(new Timestamp(TimeUnit.MILLISECOND, 'UTC'), BigInt64Array.from([5n, 5n, 5n, 4n]), [true, true, true, true]),
      v: fixedData(new Float64(), Float64Array.from([1, 2, 3, 4]), [true, true, true, true]),
    });
    const perm = sortPermutation(batch, ['symbol'], 'ts');
    expect([...perm]).toEqual([3, 0, 1, 2]);
    expect([...lastWinsUnique(batch, perm, ['symbol'], 'ts')]).toEqual([3, 1, 2]);
  });

  it('agrees with the reference on random batches', () => {
    const rng = mulberry32(14);
    for (let round = 0; round < 60; round++) {
      const batch = genBatch(rng, { n: int(rng, 12), symbols: ['A', 'B', 'C'], time: [0n, 4n], symbolKind: round % 2 ? 'dictionary' : 'utf8', slice: round % 2 === 0 });
      const ref = refRows(batch);
      const sortedUnique = ref.every((r, i) => i === 0 || cmpCell(ref[i - 1]!['symbol']!, r['symbol']!) < 0 || (cmpCell(ref[i - 1]!['symbol']!, r['symbol']!) === 0 && (ref[i - 1]!['ts'] as bigint) < (r['ts'] as bigint)));
      expect(isSortedUnique(batch, ['symbol'], 'ts')).toBe(sortedUnique);
      const dedup = takeRows(batch, lastWinsUnique(batch, sortPermutation(batch, ['symbol'], 'ts'), ['symbol'], 'ts'));
      expect(isSortedUnique(dedup, ['symbol'], 'ts')).toBe(true);
    }
  });
});

describe('sortedRangeForKeys / filterBatch', () => {
  function sortedUniqueBatch(rng: Rng, o: GenOptions, keys: string[]): RecordBatch {
    const b = genBatch(rng, o);
    return takeRows(b, lastWinsUnique(b, sortPermutation(b, keys, 'ts'), keys, 'ts'));
  }

  it('matches a row-by-row reference filter, for every unit, key subset and bound', () => {
    const rng = mulberry32(15);
    for (let round = 0; round < 80; round++) {
      const unit = UNITS[round % 4]!;
      const multi = round % 5 === 4;
      const keyCols = multi ? ['symbol', 'b'] : ['symbol'];
      const batch = sortedUniqueBatch(rng, { n: int(rng, 300), unit, symbolKind: round % 2 ? 'dictionary' : 'utf8', symbols: SYMBOLS.slice(0, 8), time: [-50n, 50n] }, keyCols);
      const ref = refRows(batch);
      const f = UNIT_NS[unit];
      const times = ref.map((r) => (r['ts'] as bigint) * f);
      const bound = (): bigint | null => {
        const r = rng();
        if (r < 0.2) return null;
        if (r < 0.6 && times.length > 0) return pick(rng, times);
        return randomBigInt(rng, -60n * f, 60n * f);
      };
      const start = bound();
      const end = bound();
      const keys = rng() < 0.3 ? null : [...SYMBOLS.slice(0, 10)].filter(() => rng() < 0.4);
      const ranges = sortedRangeForKeys(batch, multi ? keyCols : 'symbol', keys, 'ts', start, end);
      const expected = ref
        .map((r, i) => ({ r, i, t: times[i]! }))
        .filter(({ r, t }) => (keys === null || keys.includes(r['symbol'] as string)) && (start === null || t >= start) && (end === null || t < end))
        .map(({ i }) => i);
      expect(expandRanges(ranges)).toEqual(expected);
      for (let k = 1; k < ranges.length; k++) expect(ranges[k]![0]).toBeGreaterThan(ranges[k - 1]![1]);
      expect(refRows(filterBatch(batch, ranges))).toEqual(expected.map((i) => ref[i]!));
    }
  });

  it('includes start and excludes end exactly, with ns bounds inside a coarser unit', () => {
    const ms = 1_000_000n;
    const batch = new RecordBatch({
      symbol: utf8Data(['A', 'A', 'A', 'A', 'B', 'B', 'C']),
      ts: fixedData(new Timestamp(TimeUnit.MILLISECOND, 'UTC'), BigInt64Array.from([1n, 2n, 3n, 4n, 2n, 3n, 2n]), Array(7).fill(true)),
    });
    const rows = (keys: string[] | null, s: bigint | null, e: bigint | null) => expandRanges(sortedRangeForKeys(batch, 'symbol', keys, 'ts', s, e));
    expect(rows(['A'], 2n * ms, 4n * ms)).toEqual([1, 2]);
    expect(rows(['A'], 2n * ms - 1n, 4n * ms + 1n)).toEqual([1, 2, 3]);
    expect(rows(['A'], 2n * ms + 1n, 4n * ms - 1n)).toEqual([2]);
    expect(rows(null, 2n * ms, 3n * ms)).toEqual([1, 4, 6]);
    expect(rows(['C', 'A', 'C', 'nope'], null, null)).toEqual([0, 1, 2, 3, 6]);
    expect(rows(['A', 'B'], null, null)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(sortedRangeForKeys(batch, 'symbol', ['A', 'B'], 'ts', null, null)).toEqual([[0, 6]]);
    expect(rows(null, 3n * ms, 3n * ms)).toEqual([]);
    expect(rows(null, 5n * ms, 1n * ms)).toEqual([]);
    expect(rows([], null, null)).toEqual([]);
    expect(filterBatch(batch, []).numRows).toBe(0);
    const one = filterBatch(batch, [[1, 3]]);
    expect(refRows(one).map((r) => r['ts'])).toEqual([2n, 3n]);
  });

  it('handles datasets without key columns', () => {
    const batch = new RecordBatch({
      ts: fixedData(new Timestamp(TimeUnit.SECOND, 'UTC'), BigInt64Array.from([-2n, 0n, 1n, 7n]), Array(4).fill(true)),
    });
    expect(sortedRangeForKeys(batch, null, null, 'ts', 0n, 7_000_000_000n)).toEqual([[1, 3]]);
    expect(sortedRangeForKeys(batch, [], null, 'ts', null, 0n)).toEqual([[0, 1]]);
    expect(() => sortedRangeForKeys(batch, null, ['A'], 'ts', null, null)).toThrow(StorageError);
  });
});
