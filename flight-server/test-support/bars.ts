/** Synthetic 1-minute OHLCV bars for tests: deterministic values derived from symbol and minute. */
import { Dictionary, Field, Float64, Int32, Int64, RecordBatch, Schema, Struct, Timestamp, TimeUnit, Utf8, makeData, vectorFromArray, type DataType } from 'apache-arrow';

export interface BarsOptions {
  symbols: string[];
  /** ISO time of the first bar. */
  start: string;
  minutes: number;
  /** Added to every price, to tell a re-sent bar from the original. */
  priceOffset?: number;
  symbolType?: 'utf8' | 'dictionary';
}

export const barsSchema = (symbolType: 'utf8' | 'dictionary' = 'utf8'): Schema =>
  new Schema([
    new Field('symbol', symbolType === 'utf8' ? new Utf8() : new Dictionary(new Utf8(), new Int32()), false),
    new Field('ts', new Timestamp(TimeUnit.NANOSECOND, 'UTC'), false),
    new Field('open', new Float64(), true),
    new Field('high', new Float64(), true),
    new Field('low', new Float64(), true),
    new Field('close', new Float64(), true),
    new Field('volume', new Int64(), true),
  ]);

export const BARS_FIELDS = [
  { name: 'symbol', type: 'utf8', nullable: false },
  { name: 'ts', type: 'timestamp[ns, UTC]', nullable: false },
  { name: 'open', type: 'float64', nullable: true },
  { name: 'high', type: 'float64', nullable: true },
  { name: 'low', type: 'float64', nullable: true },
  { name: 'close', type: 'float64', nullable: true },
  { name: 'volume', type: 'int64', nullable: true },
];

export function price(symbolIndex: number, minute: number): number {
  return 100 + symbolIndex * 10 + (minute % 97) * 0.25;
}

/** Rows ordered minute-major (all symbols of one minute, then the next), as a crawler sends them. */
export function makeBars(opts: BarsOptions): RecordBatch {
  const n = opts.symbols.length * opts.minutes;
  const start = BigInt(Date.parse(opts.start)) * 1_000_000n;
  const symbols: string[] = new Array(n);
  const ts = new BigInt64Array(n);
  const open = new Float64Array(n);
  const high = new Float64Array(n);
  const low = new Float64Array(n);
  const close = new Float64Array(n);
  const volume = new BigInt64Array(n);
  const offset = opts.priceOffset ?? 0;
  let row = 0;
  for (let m = 0; m < opts.minutes; m++) {
    opts.symbols.forEach((symbol, s) => {
      const p = price(s, m) + offset;
      symbols[row] = symbol;
      ts[row] = start + BigInt(m) * 60_000_000_000n;
      open[row] = p;
      high[row] = p + 1;
      low[row] = p - 1;
      close[row] = p + 0.5;
      volume[row] = BigInt(1000 + m);
      row++;
    });
  }
  const schema = barsSchema(opts.symbolType);
  const plain = (type: DataType, values: ArrayLike<unknown>) => makeData({ type, length: n, data: values } as never);
  const children = [
    vectorFromArray(symbols, schema.fields[0]!.type).data[0]!,
    plain(schema.fields[1]!.type, ts),
    plain(new Float64(), open),
    plain(new Float64(), high),
    plain(new Float64(), low),
    plain(new Float64(), close),
    plain(new Int64(), volume),
  ];
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children }));
}
