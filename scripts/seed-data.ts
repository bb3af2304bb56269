/**
 * Sample data for a first `npm start`, put through Flight (DoPut with FlightClient), idempotent:
 * a dataset that already holds rows is left alone.
 *
 * - `bars_1d`: real daily OHLCV of the S&P 500 index (symbol `SPX`), 2000-01-03 .. 2020-04-17, from
 *   the vega-datasets package (`data/sp500-2000.csv`: date,open,high,low,close,adjclose,volume).
 *   One bar per trading day stamped at 00:00 UTC of its date; partitioned by `year`. It also holds
 *   the daily bars of the minute symbols below (their sessions aggregated), so `bars` and `latest`
 *   find every seeded symbol in the default dataset.
 * - `bars_1m`: generated 1-minute bars (a seeded random walk, the same on every machine) for
 *   AAPL, MSFT, NVDA and AMZN over the five trading days 2024-01-02 .. 2024-01-08, regular session
 *   09:30-16:00 New York (14:30-21:00 UTC), 390 bars per symbol and day; partitioned by `day`.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { FlightError, pathDescriptor, type FlightClient } from '@flightdeck/proto';
import { Field, Float64, Int64, makeData, RecordBatch, Schema, Struct, Timestamp, TimeUnit, Utf8, vectorFromArray } from 'apache-arrow';

export interface SeedLogger {
  info(obj: object, msg?: string): void;
}

export interface SeedOutcome {
  dataset: string;
  status: 'created' | 'skipped';
  rows: number;
}

interface BarColumns {
  symbol: string[];
  ts: bigint[];
  open: number[];
  high: number[];
  low: number[];
  close: number[];
  adjClose?: number[];
  volume: bigint[];
}

const BAR_FIELDS = [
  { name: 'symbol', type: 'utf8', nullable: false },
  { name: 'ts', type: 'timestamp[ns, UTC]', nullable: false },
  { name: 'open', type: 'float64', nullable: true },
  { name: 'high', type: 'float64', nullable: true },
  { name: 'low', type: 'float64', nullable: true },
  { name: 'close', type: 'float64', nullable: true },
  { name: 'volume', type: 'int64', nullable: true },
];
const DAILY_FIELDS = [...BAR_FIELDS.slice(0, 6), { name: 'adj_close', type: 'float64', nullable: true }, BAR_FIELDS[6]!];

export const SP500_SYMBOL = 'SPX';
export const MINUTE_SYMBOLS = ['AAPL', 'MSFT', 'NVDA', 'AMZN'] as const;
export const MINUTE_DAYS = ['2024-01-02', '2024-01-03', '2024-01-04', '2024-01-05', '2024-01-08'] as const;
const MINUTE_START_PRICES: Record<(typeof MINUTE_SYMBOLS)[number], number> = { AAPL: 185, MSFT: 370, NVDA: 480, AMZN: 150 };

/** The path of vega-datasets' `data/sp500-2000.csv` (the package exports only its JS entry). */
export function sp500CsvPath(): string {
  const entry = createRequire(import.meta.url).resolve('vega-datasets');
  return join(dirname(dirname(entry)), 'data', 'sp500-2000.csv');
}

/** Parses the CSV into bar columns; every line must be complete. */
export function parseSp500Csv(text: string): Required<BarColumns> {
  const lines = text.trim().split(/\r?\n/);
  const header = lines.shift();
  if (header !== 'date,open,high,low,close,adjclose,volume') throw new Error(`sp500-2000.csv: unexpected header ${header}`);
  const out: Required<BarColumns> = { symbol: [], ts: [], open: [], high: [], low: [], close: [], adjClose: [], volume: [] };
  lines.forEach((line, i) => {
    const [date, open, high, low, close, adj, volume] = line.split(',');
    const ms = Date.parse(`${date}T00:00:00Z`);
    const values = [open, high, low, close, adj].map(Number);
    if (Number.isNaN(ms) || values.some((v) => !Number.isFinite(v)) || !/^\d+$/.test(volume ?? '')) {
      throw new Error(`sp500-2000.csv line ${i + 2}: cannot parse ${JSON.stringify(line)}`);
    }
    out.symbol.push(SP500_SYMBOL);
    out.ts.push(BigInt(ms) * 1_000_000n);
    out.open.push(values[0]!);
    out.high.push(values[1]!);
    out.low.push(values[2]!);
    out.close.push(values[3]!);
    out.adjClose.push(values[4]!);
    out.volume.push(BigInt(volume!));
  });
  return out;
}

/** mulberry32: a tiny seeded PRNG, so the generated bars are the same everywhere. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const cents = (x: number) => Math.round(x * 100) / 100;

/** Deterministic 1-minute bars: a random walk per symbol across the session minutes of MINUTE_DAYS. */
export function generateMinuteBars(): BarColumns {
  const out: BarColumns = { symbol: [], ts: [], open: [], high: [], low: [], close: [], volume: [] };
  MINUTE_SYMBOLS.forEach((symbol, s) => {
    const random = prng(0x5eed + s);
    let price = MINUTE_START_PRICES[symbol];
    for (const day of MINUTE_DAYS) {
      const sessionStart = BigInt(Date.parse(`${day}T14:30:00Z`)) * 1_000_000n;
      for (let m = 0; m < 390; m++) {
        const open = price;
        const close = open * (1 + (random() - 0.5) * 0.002);
        const high = Math.max(open, close) * (1 + random() * 0.0008);
        const low = Math.min(open, close) * (1 - random() * 0.0008);
        // U-shaped intraday volume: busy at the open and the close.
        const shape = 1 + 2 * ((m - 195) / 195) ** 2;
        out.symbol.push(symbol);
        out.ts.push(sessionStart + BigInt(m) * 60_000_000_000n);
        out.open.push(cents(open));
        out.high.push(cents(high));
        out.low.push(cents(low));
        out.close.push(cents(close));
        out.volume.push(BigInt(Math.round((20_000 + random() * 30_000) * shape)));
        price = close;
      }
    }
  });
  return out;
}

/** One daily bar per symbol and session of the minute bars (stamped 00:00 UTC of the date, adj_close = close). */
export function dailyFromMinutes(minutes: BarColumns): Required<BarColumns> {
  const out: Required<BarColumns> = { symbol: [], ts: [], open: [], high: [], low: [], close: [], adjClose: [], volume: [] };
  const DAY_NS = 86_400_000_000_000n;
  for (let i = 0; i < minutes.ts.length; i++) {
    const day = minutes.ts[i]! - (minutes.ts[i]! % DAY_NS);
    const last = out.ts.length - 1;
    if (last >= 0 && out.symbol[last] === minutes.symbol[i] && out.ts[last] === day) {
      out.high[last] = Math.max(out.high[last]!, minutes.high[i]!);
      out.low[last] = Math.min(out.low[last]!, minutes.low[i]!);
      out.close[last] = out.adjClose[last] = minutes.close[i]!;
      out.volume[last]! += minutes.volume[i]!;
      continue;
    }
    out.symbol.push(minutes.symbol[i]!);
    out.ts.push(day);
    out.open.push(minutes.open[i]!);
    out.high.push(minutes.high[i]!);
    out.low.push(minutes.low[i]!);
    out.close.push(minutes.close[i]!);
    out.adjClose.push(minutes.close[i]!);
    out.volume.push(minutes.volume[i]!);
  }
  return out;
}

function concatBars(a: Required<BarColumns>, b: Required<BarColumns>): Required<BarColumns> {
  const keys = Object.keys(a) as (keyof BarColumns)[];
  return Object.fromEntries(keys.map((k) => [k, [...a[k]!, ...b[k]!]])) as unknown as Required<BarColumns>;
}

function toBatch(c: BarColumns): RecordBatch {
  const n = c.ts.length;
  const fields = [
    new Field('symbol', new Utf8(), false),
    new Field('ts', new Timestamp(TimeUnit.NANOSECOND, 'UTC'), false),
    new Field('open', new Float64(), true),
    new Field('high', new Float64(), true),
    new Field('low', new Float64(), true),
    new Field('close', new Float64(), true),
    ...(c.adjClose ? [new Field('adj_close', new Float64(), true)] : []),
    new Field('volume', new Int64(), true),
  ];
  const schema = new Schema(fields);
  const f64 = (values: number[]) => makeData({ type: new Float64(), length: n, data: Float64Array.from(values) });
  const children = [
    vectorFromArray(c.symbol, new Utf8()).data[0]!,
    makeData({ type: fields[1]!.type as Timestamp, length: n, data: BigInt64Array.from(c.ts) } as never),
    f64(c.open),
    f64(c.high),
    f64(c.low),
    f64(c.close),
    ...(c.adjClose ? [f64(c.adjClose)] : []),
    makeData({ type: new Int64(), length: n, data: BigInt64Array.from(c.volume) }),
  ];
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children }));
}

async function rowsOf(client: FlightClient, name: string): Promise<number | undefined> {
  try {
    return (await client.doActionJson<{ rows: number }>('describe_dataset', { name })).rows;
  } catch (err) {
    if (err instanceof FlightError && err.code === 'NOT_FOUND') return undefined;
    throw err;
  }
}

async function seedDataset(
  client: FlightClient,
  log: SeedLogger,
  spec: { name: string; partition: string; fields: object[] },
  load: () => Promise<BarColumns> | BarColumns,
): Promise<SeedOutcome> {
  const existing = await rowsOf(client, spec.name);
  if (existing !== undefined && existing > 0) {
    log.info({ dataset: spec.name, rows: existing }, 'seed skipped: dataset already holds rows');
    return { dataset: spec.name, status: 'skipped', rows: existing };
  }
  if (existing === undefined) {
    try {
      await client.doActionJson('create_dataset', { name: spec.name, time_column: 'ts', key_columns: ['symbol'], partition: spec.partition, fields: spec.fields });
    } catch (err) {
      if (!(err instanceof FlightError && err.code === 'ALREADY_EXISTS')) throw err;
    }
  }
  const columns = await load();
  const put = await client.doPut(pathDescriptor(spec.name), [toBatch(columns)]);
  const result = JSON.parse(Buffer.from(put.appMetadata).toString('utf8')) as { rows: number; version: number };
  log.info({ dataset: spec.name, rows: result.rows, version: result.version }, 'seeded dataset');
  return { dataset: spec.name, status: 'created', rows: result.rows };
}

/** Seeds `bars_1d` (S&P 500, real, plus the stocks' daily bars) and `bars_1m` (generated) unless they already hold rows. */
export async function seedSampleData(client: FlightClient, log: SeedLogger): Promise<SeedOutcome[]> {
  return [
    await seedDataset(client, log, { name: 'bars_1d', partition: 'year', fields: DAILY_FIELDS }, async () =>
      concatBars(parseSp500Csv(await readFile(sp500CsvPath(), 'utf8')), dailyFromMinutes(generateMinuteBars())),
    ),
    await seedDataset(client, log, { name: 'bars_1m', partition: 'day', fields: BAR_FIELDS }, generateMinuteBars),
  ];
}
