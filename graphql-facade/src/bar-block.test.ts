/** The Arrow-to-columns conversion on real arrow-js tables: chunked, dictionary keys, nulls, other units and types. */
import {
  Dictionary,
  Field,
  Float32,
  Float64,
  Int32,
  Int64,
  RecordBatch,
  Schema,
  Table,
  Timestamp,
  TimeUnit,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { barsOfSlice, barShape, blockOfTable, limitSlice, seriesOfSlice, slicesBySymbol, type BarShape } from './bar-block.js';

const shape = (valueColumns: BarShape['valueColumns']): BarShape => ({ dataset: 'd', keyColumn: 'symbol', timeColumn: 'ts', valueColumns, hasSchema: true });
const T0 = Date.parse('2024-01-02T00:00:00Z');

function table(rows: { symbol: string; ts: number; close: number | null; volume: number | null }[], keyType: Utf8 | Dictionary<Utf8, Int32> = new Utf8()): Table {
  const schema = new Schema([
    new Field('symbol', keyType, false),
    new Field('ts', new Timestamp(TimeUnit.MILLISECOND, 'UTC'), false),
    new Field('close', new Float64(), true),
    new Field('volume', new Int64(), true),
  ]);
  return new Table(schema, {
    symbol: vectorFromArray(rows.map((r) => r.symbol), keyType),
    ts: vectorFromArray(rows.map((r) => r.ts), new Timestamp(TimeUnit.MILLISECOND, 'UTC')),
    close: vectorFromArray(rows.map((r) => r.close), new Float64()),
    volume: vectorFromArray(rows.map((r) => (r.volume === null ? null : BigInt(r.volume))), new Int64()),
  });
}

const rows = [
  { symbol: 'AAPL', ts: T0, close: 1, volume: 10 },
  { symbol: 'AAPL', ts: T0 + 60_000, close: null, volume: 11 },
  { symbol: 'AAPL', ts: T0 + 120_000, close: 3, volume: null },
  { symbol: 'MSFT', ts: T0, close: 4, volume: 40 },
  { symbol: 'MSFT', ts: T0 + 60_000, close: 5, volume: 41 },
];

describe('blockOfTable', () => {
  for (const [name, keyType] of [
    ['utf8', new Utf8()],
    ['dictionary<utf8>', new Dictionary(new Utf8(), new Int32())],
  ] as const) {
    it(`reads ${name} keys as runs, times exactly, values with nulls, across record batches`, () => {
      // Two batches that split AAPL's run: the run continues across the chunk boundary.
      const a = table(rows.slice(0, 2), keyType);
      const b = table(rows.slice(2), keyType);
      const t = new Table([...a.batches, ...b.batches] as RecordBatch[]);
      expect(t.batches).toHaveLength(2);
      const block = blockOfTable(t, shape(['close', 'volume']));
      expect(block.runs).toEqual([
        { symbol: 'AAPL', start: 0, end: 3 },
        { symbol: 'MSFT', start: 3, end: 5 },
      ]);
      expect([...block.ts]).toEqual(rows.map((r) => BigInt(r.ts) * 1_000_000n));
      const slices = slicesBySymbol(block, ['AAPL', 'MSFT', 'NONE']);
      expect(barsOfSlice(slices.get('AAPL')!)).toEqual(
        rows.slice(0, 3).map((r) => ({ symbol: 'AAPL', ts: BigInt(r.ts) * 1_000_000n, open: null, high: null, low: null, close: r.close, volume: r.volume })),
      );
      expect(seriesOfSlice(slices.get('MSFT')!)).toEqual({
        symbol: 'MSFT',
        ts: Float64Array.from([T0, T0 + 60_000]),
        open: [null, null],
        high: [null, null],
        low: [null, null],
        close: Float64Array.from([4, 5]),
        volume: Float64Array.from([40, 41]),
      });
      const aapl = seriesOfSlice(slices.get('AAPL')!);
      expect(Array.from(aapl.close)).toEqual([1, null, 3]);
      expect(Array.from(aapl.volume)).toEqual([10, 11, null]);
      expect(seriesOfSlice(slices.get('NONE')!).ts).toHaveLength(0);
      expect(seriesOfSlice(limitSlice(slices.get('AAPL')!, 2)).ts).toEqual(Float64Array.from([T0, T0 + 60_000]));
    });
  }

  it('reads a sliced table (chunks with an offset) and float32/int32 columns', () => {
    const schema = new Schema([
      new Field('symbol', new Utf8(), false),
      new Field('ts', new Timestamp(TimeUnit.NANOSECOND, 'UTC'), false),
      new Field('open', new Float32(), true),
      new Field('volume', new Int32(), true),
    ]);
    const n = 20;
    const whole = new Table(schema, {
      symbol: vectorFromArray(Array.from({ length: n }, (_, i) => (i < 10 ? 'A' : 'B')), new Utf8()),
      ts: vectorFromArray(Array.from({ length: n }, (_, i) => T0 + i), new Timestamp(TimeUnit.NANOSECOND, 'UTC')),
      open: vectorFromArray(Array.from({ length: n }, (_, i) => (i % 3 === 0 ? null : i + 0.5)), new Float32()),
      volume: vectorFromArray(Array.from({ length: n }, (_, i) => (i % 4 === 0 ? null : i)), new Int32()),
    });
    const part = whole.slice(5, 15);
    const block = blockOfTable(part, shape(['open', 'volume']));
    expect(block.runs).toEqual([
      { symbol: 'A', start: 0, end: 5 },
      { symbol: 'B', start: 5, end: 10 },
    ]);
    const bars = [...barsOfSlice(slicesBySymbol(block, ['A']).get('A')!), ...barsOfSlice(slicesBySymbol(block, ['B']).get('B')!)];
    expect(bars.map((b) => b.open)).toEqual(Array.from({ length: 10 }, (_, k) => (((k + 5) % 3 === 0 ? null : k + 5 + 0.5))));
    expect(bars.map((b) => b.volume)).toEqual(Array.from({ length: 10 }, (_, k) => ((k + 5) % 4 === 0 ? null : k + 5)));
    // ns timestamps stay exact; series drops digits below the millisecond (floor).
    const ts = whole.getChild('ts')!;
    expect(bars[0]!.ts).toBe((ts.data[0]!.values as BigInt64Array)[5]);
  });

  it('refuses an answer whose symbol comes back in two runs', () => {
    const t = table([rows[0]!, rows[3]!, rows[1]!]);
    expect(() => blockOfTable(t, shape(['close']))).toThrow(/not ordered by key: symbol "AAPL" came back in two runs/);
  });

  it('needs a key column', () => {
    expect(() =>
      barShape({ name: 'x', schema: [], time_column: 'ts', key_columns: [], partition: 'day', version: 0, rows: 0, bytes: 0, partitions: [] } as never),
    ).toThrow(/has no key column/);
  });
});
