/**
 * The columnar fields for charts, `Query.instruments` and `Instrument.series`, against a real
 * Flight server in-process (port 0, temp DATA_DIR), over HTTP.
 */
import { pathDescriptor } from '@flightdeck/proto';
import { Field, Float64, RecordBatch, Schema, Table, Timestamp, TimeUnit, Utf8, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { startFacade, type RunningFacade } from './facade.js';
import { createLogger } from './logger.js';
import {
  createBarsDataset,
  makeBars,
  ns,
  NS_PER_MINUTE,
  recordCalls,
  startFlightFixture,
  type CallRecorder,
  type FlightFixture,
} from './testing/flight-fixture.js';

let flight: FlightFixture;
let recorder: CallRecorder;
let facade: RunningFacade;

const symbols = ['AAPL', 'AMD', 'AMZN', 'MSFT', 'NVDA'];
const minute = makeBars(symbols, ns('2024-01-02T14:30:00Z'), NS_PER_MINUTE, 390);

interface GqlResponse {
  data?: Record<string, any> | null;
  errors?: { message: string; extensions?: Record<string, any> }[];
}

async function gql(query: string, variables: Record<string, unknown> = {}): Promise<GqlResponse> {
  const res = await fetch(facade.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as GqlResponse;
}

const codes = (r: GqlResponse) => (r.errors ?? []).map((e) => e.extensions?.code);

beforeAll(async () => {
  flight = await startFlightFixture();
  await createBarsDataset(flight.client, 'bars_1m', 'day', minute);
  await createBarsDataset(flight.client, 'empty', 'day', []);
  await flight.client.doActionJson('create_dataset', {
    name: 'nokey',
    time_column: 'ts',
    key_columns: [],
    fields: [{ name: 'ts', type: 'timestamp[ns, UTC]', nullable: false }],
  });
  // A dataset with only `close`, some of it null: series has null elements and null-filled columns.
  await flight.client.doActionJson('create_dataset', {
    name: 'closes',
    time_column: 'ts',
    key_columns: ['symbol'],
    partition: 'day',
    fields: [
      { name: 'symbol', type: 'utf8', nullable: false },
      { name: 'ts', type: 'timestamp[ms, UTC]', nullable: false },
      { name: 'close', type: 'float64', nullable: true },
    ],
  });
  const schema = new Schema([
    new Field('symbol', new Utf8(), false),
    new Field('ts', new Timestamp(TimeUnit.MILLISECOND, 'UTC'), false),
    new Field('close', new Float64(), true),
  ]);
  const t0 = Date.parse('2024-01-02T00:00:00Z');
  const table = new Table(schema, {
    symbol: vectorFromArray(['ZZ', 'ZZ', 'ZZ'], new Utf8()),
    ts: vectorFromArray([t0, t0 + 60_000, t0 + 120_000], new Timestamp(TimeUnit.MILLISECOND, 'UTC')),
    close: vectorFromArray([1.5, null, 2.5], new Float64()),
  });
  await flight.client.doPut(pathDescriptor('closes'), table.batches as RecordBatch[]);

  recorder = recordCalls(flight.client);
  facade = await startFacade(
    loadConfig({ FACADE_PORT: '0', FLIGHT_URL: flight.url, FACADE_MAX_ROWS: '1000', FACADE_DEFAULT_DATASET: 'bars_1m', LOG_LEVEL: 'silent' }),
    { flight: recorder.port, logger: createLogger('silent') },
  );
});

afterAll(async () => {
  await facade?.close();
  await flight?.close();
});

describe('Query.instruments', () => {
  it('lists the symbols of the default dataset, sorted, from the list_keys action (no DoGet)', async () => {
    recorder.reset();
    const r = await gql(`{ instruments { symbol } }`);
    expect(r.errors).toBeUndefined();
    expect(r.data!.instruments).toEqual(symbols.map((symbol) => ({ symbol })));
    expect(recorder.doGets()).toEqual([]);
    expect(recorder.calls.filter((c) => c.call === 'DoAction').map((c) => c.detail)).toContainEqual({
      type: 'list_keys',
      body: { dataset: 'bars_1m', limit: 1000 },
    });
  });

  it('filters by prefix and keeps the first `limit`', async () => {
    const r = await gql(`{ a: instruments(dataset: "bars_1m", prefix: "AM") { symbol } b: instruments(prefix: "A", limit: 2) { symbol } c: instruments(prefix: "Q") { symbol } }`);
    expect(r.errors).toBeUndefined();
    expect(r.data).toEqual({
      a: [{ symbol: 'AMD' }, { symbol: 'AMZN' }],
      b: [{ symbol: 'AAPL' }, { symbol: 'AMD' }],
      c: [],
    });
  });

  it('answers [] for limit 0 and for a dataset never written', async () => {
    const r = await gql(`{ z: instruments(limit: 0) { symbol } e: instruments(dataset: "empty") { symbol } }`);
    expect(r.errors).toBeUndefined();
    expect(r.data).toEqual({ z: [], e: [] });
  });

  it('refuses bad input naming it, before any Flight read', async () => {
    const cases: [string, string, RegExp][] = [
      [`{ instruments(limit: -1) { symbol } }`, 'BAD_USER_INPUT', /limit must be between 0 and 1000000, got -1/],
      [`{ instruments(limit: 1000001) { symbol } }`, 'BAD_USER_INPUT', /limit must be between 0 and 1000000/],
      [`{ instruments(dataset: "nokey") { symbol } }`, 'BAD_USER_INPUT', /no key column/],
      [`{ instruments(dataset: "nope") { symbol } }`, 'NOT_FOUND', /nope/],
    ];
    for (const [query, code, message] of cases) {
      const r = await gql(query);
      expect(codes(r), query).toEqual([code]);
      expect(r.errors![0]!.message, query).toMatch(message);
    }
    recorder.reset();
    const control = await gql(`query($p: String) { instruments(prefix: $p) { symbol } }`, { p: 'A\u0000' });
    expect(codes(control)).toEqual(['BAD_USER_INPUT']);
    expect(control.errors![0]!.extensions!.field).toBe('prefix');
    expect(recorder.calls).toEqual([]);
  });

  it('walks into series of every instrument with ONE Flight read', async () => {
    recorder.reset();
    const r = await gql(
      `{ instruments(prefix: "AM") { symbol series(from: "2024-01-02T14:30:00Z", to: "2024-01-02T14:33:00Z") { symbol ts close } } }`,
    );
    expect(r.errors).toBeUndefined();
    expect(recorder.doGets()).toEqual([expect.objectContaining({ dataset: 'bars_1m', symbols: ['AMD', 'AMZN'] })]);
    const t = Date.parse('2024-01-02T14:30:00Z');
    for (const [i, symbol] of ['AMD', 'AMZN'].entries()) {
      const closes = minute.filter((b) => b.symbol === symbol).slice(0, 3).map((b) => b.close);
      expect(r.data!.instruments[i]).toEqual({ symbol, series: { symbol, ts: [t, t + 60_000, t + 120_000], close: closes } });
    }
  });
});

describe('Instrument.series', () => {
  const seriesQuery = (args: string) =>
    `{ instrument(symbol: "MSFT") { series(${args}) { symbol ts open high low close volume } bars(${args}) { ts open high low close volume } } }`;

  it('holds exactly the rows of bars, as parallel arrays in time order with ts in epoch ms, from one shared read', async () => {
    const args = 'from: "2024-01-02T15:00:00Z", to: "2024-01-02T17:00:00Z"';
    recorder.reset();
    const r = await gql(seriesQuery(args));
    expect(r.errors).toBeUndefined();
    const { series, bars } = r.data!.instrument;
    const expected = minute.filter((b) => b.symbol === 'MSFT' && b.ts >= ns('2024-01-02T15:00:00Z') && b.ts < ns('2024-01-02T17:00:00Z'));
    expect(expected).toHaveLength(120);
    expect(series).toEqual({
      symbol: 'MSFT',
      ts: expected.map((b) => Number(b.ts / 1_000_000n)),
      open: expected.map((b) => b.open),
      high: expected.map((b) => b.high),
      low: expected.map((b) => b.low),
      close: expected.map((b) => b.close),
      volume: expected.map((b) => b.volume),
    });
    expect(series.ts.map((ms: number) => new Date(ms).toISOString())).toEqual(bars.map((b: { ts: string }) => b.ts));
    // One bar read (the instrument's existence check reads only the key and time columns).
    expect(recorder.doGets().filter((q) => (q.columns as string[]).includes('close'))).toHaveLength(1);
  });

  it('resamples with interval and keeps the first `limit`', async () => {
    const r = await gql(seriesQuery('from: "2024-01-02T14:30:00Z", interval: "1h", limit: 3'));
    expect(r.errors).toBeUndefined();
    const { series, bars } = r.data!.instrument;
    expect(series.ts).toHaveLength(3);
    expect(series.ts.map((ms: number) => new Date(ms).toISOString())).toEqual(['2024-01-02T14:00:00.000Z', '2024-01-02T15:00:00.000Z', '2024-01-02T16:00:00.000Z']);
    expect(series.volume).toEqual(bars.map((b: { volume: number }) => b.volume));
    expect(series.close).toEqual(bars.map((b: { close: number }) => b.close));
  });

  it('has null elements where a value is null and null-filled arrays for a column the dataset lacks', async () => {
    const r = await gql(`{ instrument(symbol: "ZZ") { series(dataset: "closes") { symbol ts open close volume } } }`);
    expect(r.errors).toBeUndefined();
    const t0 = Date.parse('2024-01-02T00:00:00Z');
    expect(r.data!.instrument.series).toEqual({
      symbol: 'ZZ',
      ts: [t0, t0 + 60_000, t0 + 120_000],
      open: [null, null, null],
      close: [1.5, null, 2.5],
      volume: [null, null, null],
    });
  });

  it('is empty for a symbol without rows', async () => {
    const r = await gql(`{ _entities(representations: [{ __typename: "Instrument", symbol: "NONE" }]) { ... on Instrument { series { symbol ts close } } } }`);
    expect(r.errors).toBeUndefined();
    expect(r.data!._entities).toEqual([{ series: { symbol: 'NONE', ts: [], close: [] } }]);
  });

  it('counts against FACADE_MAX_ROWS like bars', async () => {
    recorder.reset();
    // 3 × 390 rows over FACADE_MAX_ROWS=1000, across fields of one request.
    const r = await gql(
      `{ a: instrument(symbol: "AAPL") { series { ts } } m: instrument(symbol: "MSFT") { series(to: "2024-01-02T23:00:00Z") { ts } } n: instrument(symbol: "NVDA") { series { ts } } }`,
    );
    expect(codes(r)).toContain('ROW_LIMIT_EXCEEDED');
    expect(r.errors!.find((e) => e.extensions?.code === 'ROW_LIMIT_EXCEEDED')!.message).toMatch(/FACADE_MAX_ROWS=1000/);
    expect(recorder.doGets().every((q) => (q.limit as number) <= 1001)).toBe(true);
  });

  it('refuses bad arguments with the errors of bars', async () => {
    const cases: [string, string, RegExp][] = [
      ['interval: "2m"', 'BAD_USER_INPUT', /interval "2m" must be one of 1m, 5m/],
      ['limit: -1', 'BAD_USER_INPUT', /limit must be 0 or more/],
      ['dataset: "nokey"', 'BAD_USER_INPUT', /no key column/],
      ['dataset: "nope"', 'NOT_FOUND', /nope/],
    ];
    for (const [args, code, message] of cases) {
      const r = await gql(`{ instrument(symbol: "AAPL") { series(${args}) { ts } } }`);
      expect(codes(r), args).toEqual([code]);
      expect(r.errors![0]!.message, args).toMatch(message);
    }
    const badTime = await gql(`query($to: DateTime) { instrument(symbol: "AAPL") { series(to: $to) { ts } } }`, { to: '2024-13-01' });
    expect(codes(badTime)).toEqual(['BAD_USER_INPUT']);
    // The server is still up and answering.
    const ok = await gql(`{ instrument(symbol: "AAPL") { series(limit: 1) { ts } } }`);
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.instrument.series.ts).toEqual([Date.parse('2024-01-02T14:30:00Z')]);
  });
});
