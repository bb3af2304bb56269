/**
 * `flightdeck put` and `get` end to end: the bin as a child process against a real server
 * process, real files of every input format, and every output format read back and compared
 * value by value with the rows that went in.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Bool,
  Dictionary,
  Field,
  Float64,
  Int32,
  Int64,
  RecordBatch,
  Schema,
  Struct,
  Table,
  TimeUnit,
  Timestamp,
  Utf8,
  makeData,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
  type Data,
} from 'apache-arrow';
import * as pq from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastLine, runFlightdeck, startServer, tableRows, tempDir, type ServerProcess } from './cli-harness.js';

interface Bar {
  symbol: string;
  ts: bigint;
  price: number;
  volume: bigint;
  note: string | null;
  flag: boolean;
}

const SYMBOLS = ['AAPL', 'MSFT', 'NVDA'];
const START_MS = Date.UTC(2024, 0, 2, 9, 30);

/** Rows in time order (as a crawler sends them), with ms fractions, awkward strings and nulls. */
function makeBars(minutes: number, opts: { nullNotes?: boolean; priceOffset?: number } = {}): Bar[] {
  const rows: Bar[] = [];
  for (let m = 0; m < minutes; m++) {
    SYMBOLS.forEach((symbol, s) => {
      const i = m * SYMBOLS.length + s;
      const note = i % 5 === 0 ? `line one\nline "two", ü ${i}` : i % 3 === 0 ? ` padded, ${i} ` : `n${i}`;
      rows.push({
        symbol,
        ts: BigInt(START_MS + m * 60_000 + (m % 7) * 123) * 1_000_000n,
        price: 100 + s * 10 + (m % 97) * 0.25 + (opts.priceOffset ?? 0),
        volume: BigInt(1000 + m) * 1_000_000_000n,
        note: opts.nullNotes && i % 4 === 0 ? null : note,
        flag: i % 2 === 0,
      });
    });
  }
  return rows;
}

function sorted(rows: Bar[]): Bar[] {
  return [...rows].sort((a, b) => (a.symbol === b.symbol ? (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0) : a.symbol < b.symbol ? -1 : 1));
}

function iso(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString();
}

function csvField(text: string): string {
  return /[",\n\r]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

function toCsv(rows: Bar[], tsText: (ns: bigint) => string = iso): string {
  const lines = ['symbol,ts,price,volume,note,flag'];
  for (const r of rows) lines.push([r.symbol, tsText(r.ts), String(r.price), String(r.volume), csvField(r.note ?? ''), String(r.flag)].join(','));
  return `${lines.join('\r\n')}\r\n`;
}

function toNdjson(rows: Bar[]): string {
  return rows
    .map((r) => JSON.stringify({ symbol: r.symbol, ts: Number(r.ts / 1_000_000n), price: r.price, volume: r.volume.toString(), note: r.note, flag: r.flag }))
    .join('\n');
}

/** Arrow with a dictionary symbol, a millisecond timestamp and an int32 volume/1e9: all need converting. */
function toArrowTable(rows: Bar[]): Table {
  const schema = new Schema([
    new Field('symbol', new Dictionary(new Utf8(), new Int32()), false),
    new Field('ts', new Timestamp(TimeUnit.MILLISECOND, 'UTC'), false),
    new Field('price', new Float64(), true),
    new Field('volume', new Int64(), true),
    new Field('note', new Utf8(), true),
    new Field('flag', new Bool(), true),
  ]);
  const batches: RecordBatch[] = [];
  // One dictionary for every batch: the IPC file format has no replacement dictionaries.
  const symbols = vectorFromArray(rows.map((r) => r.symbol), schema.fields[0]!.type).data[0]!;
  for (let start = 0; start < rows.length; start += 250) {
    const part = rows.slice(start, start + 250);
    const n = part.length;
    const children: Data[] = [
      symbols.slice(start, n),
      makeData({ type: schema.fields[1]!.type as Timestamp, length: n, data: BigInt64Array.from(part, (r) => r.ts / 1_000_000n) }),
      makeData({ type: new Float64(), length: n, data: Float64Array.from(part, (r) => r.price) }),
      makeData({ type: new Int64(), length: n, data: BigInt64Array.from(part, (r) => r.volume) }),
      vectorFromArray(part.map((r) => r.note), new Utf8()).data[0]!,
      vectorFromArray(part.map((r) => r.flag), new Bool()).data[0]!,
    ];
    batches.push(new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children })));
  }
  return new Table(schema, batches);
}

function toParquet(table: Table): Uint8Array {
  const props = new pq.WriterPropertiesBuilder().setMaxRowGroupSize(200).setCompression(pq.Compression.SNAPPY).build();
  return pq.writeParquet(pq.Table.fromIPCStream(tableToIPC(table, 'stream')), props);
}

function asBars(rows: Record<string, unknown>[]): Bar[] {
  return rows.map((r) => ({
    symbol: r.symbol as string,
    ts: r.ts as bigint,
    price: r.price as number,
    volume: r.volume as bigint,
    note: r.note as string | null,
    flag: r.flag as boolean,
  }));
}

let server: ServerProcess;
let dir: Awaited<ReturnType<typeof tempDir>>;
const cli = (args: string[]) => runFlightdeck(args, { url: server.url, cwd: dir.path });
const file = (name: string) => join(dir.path, name);

async function ok(args: string[]): Promise<string> {
  const r = await cli(args);
  expect(r.stderr, `flightdeck ${args.join(' ')}`).not.toMatch(/flightdeck:/);
  expect(r.code, `flightdeck ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

async function readBack(dataset: string, extra: string[] = []): Promise<Bar[]> {
  const out = file(`${dataset}-${Math.random().toString(36).slice(2)}.arrow`);
  await ok(['get', '--dataset', dataset, '-o', out, ...extra]);
  return asBars(tableRows(tableFromIPC(await readFile(out))));
}

async function describeJson(dataset: string): Promise<{ version: number; rows: number; schema: { name: string; type: string }[] }> {
  return JSON.parse(await ok(['describe', dataset, '--json'])) as { version: number; rows: number; schema: { name: string; type: string }[] };
}

beforeAll(async () => {
  dir = await tempDir('fd-cli-put-get-');
  // Small endpoints, so gets read several of them.
  server = await startServer(join(dir.path, 'data'), 0, { FLIGHT_ENDPOINT_ROWS: '500' });
});

afterAll(async () => {
  await server?.stop();
  await dir?.remove();
});

describe('flightdeck put and get', () => {
  const bars = makeBars(400);
  const nullBars = makeBars(400, { nullNotes: true, priceOffset: 0.5 });

  it('puts a CSV with inferred types and reads back equal rows', async () => {
    await writeFile(file('bars.csv'), toCsv(bars));
    const out = await ok(['put', file('bars.csv'), '--dataset', 'csv_bars', '--create', '--time-column', 'ts', '--key', 'symbol']);
    expect(out).toMatch(/csv_bars: put 1,200 rows from 1 file .* committed version 1, 1 partition/);
    const d = await describeJson('csv_bars');
    expect(d.schema).toEqual([
      { name: 'symbol', type: 'utf8', nullable: false },
      { name: 'ts', type: 'timestamp[ns, UTC]', nullable: false },
      { name: 'price', type: 'float64', nullable: true },
      { name: 'volume', type: 'int64', nullable: true },
      { name: 'note', type: 'utf8', nullable: true },
      { name: 'flag', type: 'bool', nullable: true },
    ]);
    expect(await readBack('csv_bars')).toEqual(sorted(bars));
  });

  it('puts a CSV with explicit types (--schema) and epoch-millisecond times', async () => {
    await writeFile(file('epoch.csv'), toCsv(bars, (ns) => String(ns / 1_000_000n)));
    await ok([
      'put', file('epoch.csv'), '--dataset', 'typed_bars', '--create', '--time-column', 'ts', '--key', 'symbol', '--partition', 'month',
      '--schema', 'ts:timestamp[ms, UTC],price:float32,note:utf8', '--epoch-unit', 'ms',
    ]);
    const d = await describeJson('typed_bars');
    expect(d.schema.map((f) => `${f.name}:${f.type}`)).toEqual([
      'symbol:utf8', 'ts:timestamp[ms, UTC]', 'price:float32', 'volume:int64', 'note:utf8', 'flag:bool',
    ]);
    const back = await readBack('typed_bars');
    expect(back.map((r) => ({ ...r, price: Math.fround(r.price) }))).toEqual(sorted(bars).map((r) => ({ ...r, price: Math.fround(r.price) })));
  });

  it('puts NDJSON (epoch numbers, int64 as text, nulls) and reads back equal rows', async () => {
    await writeFile(file('bars.ndjson'), toNdjson(nullBars));
    await ok(['put', file('bars.ndjson'), '--dataset', 'json_bars', '--create', '--time-column', 'ts', '--key', 'symbol', '--schema', 'volume:int64']);
    expect(await readBack('json_bars')).toEqual(sorted(nullBars));
  });

  it('puts Parquet (several row groups, dictionary strings, ms timestamps) and reads back equal rows', async () => {
    await writeFile(file('bars.parquet'), toParquet(toArrowTable(nullBars)));
    await ok(['put', file('bars.parquet'), '--dataset', 'pq_bars', '--create', '--time-column', 'ts', '--key', 'symbol']);
    expect((await describeJson('pq_bars')).schema[1]).toEqual({ name: 'ts', type: 'timestamp[ms, UTC]', nullable: false });
    expect(await readBack('pq_bars')).toEqual(sorted(nullBars));
  });

  it('puts Arrow IPC files and streams into an existing nanosecond dataset, upserting by key', async () => {
    const table = toArrowTable(nullBars);
    await writeFile(file('bars.arrow'), tableToIPC(table, 'file'));
    await writeFile(file('bars.arrows'), tableToIPC(table, 'stream'));
    // csv_bars holds the same keys: the Arrow rows replace them (ms times rescaled to ns).
    const out = await ok(['put', file('bars.arrow'), '--dataset', 'csv_bars']);
    expect(out).toMatch(/committed version 2/);
    expect(await readBack('csv_bars')).toEqual(sorted(nullBars));
    await ok(['put', file('bars.arrows'), '--dataset', 'arrow_stream', '--create', '--time-column', 'ts', '--key', 'symbol']);
    expect(await readBack('arrow_stream')).toEqual(sorted(nullBars));
    expect((await describeJson('csv_bars')).rows).toBe(nullBars.length);
  });

  it('puts several files of different formats as one commit', async () => {
    const early = makeBars(400).slice(0, 600);
    const late = makeBars(400).slice(600);
    await writeFile(file('early.csv'), toCsv(early));
    await writeFile(file('late.ndjson'), toNdjson(late));
    const out = await ok(['put', file('early.csv'), file('late.ndjson'), '--dataset', 'multi', '--create', '--time-column', 'ts', '--key', 'symbol', '--json']);
    const summary = JSON.parse(out) as { rows: number; version: number; files: number };
    expect(summary).toMatchObject({ rows: 1200, version: 1, files: 2 });
    expect(await readBack('multi')).toEqual(sorted(bars));
  });

  it('commits every N rows with --chunk-rows', async () => {
    await writeFile(file('chunked.csv'), toCsv(bars));
    const out = await ok(['put', file('chunked.csv'), '--dataset', 'chunked', '--create', '--time-column', 'ts', '--key', 'symbol', '--batch-rows', '250', '--chunk-rows', '500']);
    expect(out).toMatch(/chunked: put 1,200 rows from 1 file .* in 3 commits; committed version 3\n$/);
    expect(await readBack('chunked')).toEqual(sorted(bars));
  });

  it('writes every output format, each reading back as the same rows', async () => {
    const expected = sorted(nullBars);
    await ok(['get', '--dataset', 'pq_bars', '-o', file('out.parquet')]);
    const parquet = tableFromIPC(pq.readParquet(await readFile(file('out.parquet'))).intoIPCStream());
    expect(asBars(tableRows(parquet))).toEqual(expected);

    await ok(['get', '--dataset', 'pq_bars', '-o', file('out.arrows')]);
    expect(asBars(tableRows(tableFromIPC(await readFile(file('out.arrows')))))).toEqual(expected);

    await ok(['get', '--dataset', 'pq_bars', '-o', file('out.ndjson')]);
    const lines = (await readFile(file('out.ndjson'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(expected.length);
    expect(JSON.parse(lines[0]!)).toEqual({
      symbol: 'AAPL',
      ts: '2024-01-02T09:30:00.000Z',
      price: expected[0]!.price,
      volume: 1_000_000_000_000,
      note: expected[0]!.note,
      flag: expected[0]!.flag,
    });

    // CSV to a file and CSV on a pipe are the same text; both put back to equal rows.
    await ok(['get', '--dataset', 'pq_bars', '-o', file('out.csv')]);
    const piped = await ok(['get', '--dataset', 'pq_bars']);
    expect(await readFile(file('out.csv'), 'utf8')).toBe(piped);
    expect(piped.split('\n')[0]).toBe('symbol,ts,price,volume,note,flag');
    for (const f of ['out.csv', 'out.ndjson', 'out.parquet', 'out.arrows']) {
      const name = `re_${f.replace('.', '_')}`;
      await ok(['put', file(f), '--dataset', name, '--create', '--time-column', 'ts', '--key', 'symbol', '--schema', 'volume:int64']);
      const back = await readBack(name);
      // CSV cannot tell an empty string from null.
      expect(back).toEqual(f === 'out.csv' ? expected.map((r) => ({ ...r, note: r.note ?? '' })) : expected);
    }
  });

  it('answers query flags: symbols, from/to, columns, limit, as-of, and a terminal table', async () => {
    const all = sorted(nullBars);
    const from = iso(all[10]!.ts);
    const to = (all[20]!.ts + 1n).toString(); // epoch nanoseconds, exact
    const msft = await readBack('csv_bars', ['--symbols', 'MSFT', '--from', from, '--to', to]);
    expect(msft).toEqual(sorted(nullBars).filter((r) => r.symbol === 'MSFT' && r.ts >= all[10]!.ts && r.ts <= all[20]!.ts));

    const cols = await cli(['get', '--dataset', 'csv_bars', '--columns', 'symbol,price', '--limit', '3', '--format', 'csv']);
    expect(cols.stdout.trim().split('\n')).toEqual(['symbol,price', ...all.slice(0, 3).map((r) => `AAPL,${r.price}`)]);

    // Version 1 of csv_bars is the CSV put, before the Arrow upsert.
    expect(await readBack('csv_bars', ['--as-of', '1'])).toEqual(sorted(bars));

    const table = await ok(['get', '--dataset', 'csv_bars', '--format', 'table', '--max-rows', '5', '--columns', 'symbol,ts,volume']);
    const tableLines = table.trimEnd().split('\n');
    expect(tableLines[0]).toMatch(/^symbol\s+ts\s+volume$/);
    expect(tableLines).toHaveLength(2 + 5 + 1);
    expect(tableLines.at(-1)).toBe('(first 5 of 1,200 rows; use -o FILE or a pipe for all, or --max-rows)');
  });

  it('resamples OHLCV bars with --interval', async () => {
    const lines = ['symbol,ts,open,high,low,close,volume'];
    for (let m = 0; m < 120; m++) lines.push(`AAPL,${new Date(START_MS + m * 60_000).toISOString()},${m},${m + 2},${m - 1},${m + 1},${10}`);
    await writeFile(file('ohlc.csv'), lines.join('\n'));
    await ok(['put', file('ohlc.csv'), '--dataset', 'ohlc', '--create', '--time-column', 'ts', '--key', 'symbol', '--schema', 'open:float64,high:float64,low:float64,close:float64']);
    const hourly = await ok(['get', '--dataset', 'ohlc', '--interval', '1h', '--format', 'ndjson']);
    const buckets = hourly.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(buckets.map((b) => b.ts)).toEqual(['2024-01-02T09:00:00.000000000Z', '2024-01-02T10:00:00.000000000Z', '2024-01-02T11:00:00.000000000Z']);
    expect(buckets[0]).toMatchObject({ open: 0, high: 31, low: -1, close: 30, volume: 300 });
  });

  it('keeps nanosecond fractions exact from ISO text', async () => {
    await writeFile(file('ns.csv'), 'symbol,ts,v\nX,2024-01-02T09:30:00.123456789Z,1\nX,1704187800123456790,2\nX,2024-01-02T10:30:00.5+01:00,3\n');
    await ok(['put', file('ns.csv'), '--dataset', 'ns_times', '--create', '--time-column', 'ts', '--key', 'symbol']);
    await ok(['get', '--dataset', 'ns_times', '-o', file('ns.arrow')]);
    const rows = tableRows(tableFromIPC(await readFile(file('ns.arrow'))));
    expect(rows.map((r) => r.ts)).toEqual([1704187800123456789n, 1704187800123456790n, 1704187800500000000n]);
  });
});
