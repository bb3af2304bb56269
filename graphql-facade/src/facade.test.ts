/**
 * The facade against a real Flight server in-process (port 0, temp DATA_DIR), over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { startFacade, type RunningFacade } from './facade.js';
import { createLogger } from './logger.js';
import {
  createBarsDataset,
  iso,
  makeBars,
  ns,
  NS_PER_DAY,
  NS_PER_MINUTE,
  recordCalls,
  startFlightFixture,
  type CallRecorder,
  type FixtureBar,
  type FlightFixture,
} from './testing/flight-fixture.js';

let flight: FlightFixture;
let recorder: CallRecorder;
let facade: RunningFacade;
let tight: RunningFacade;
let tightRecorder: CallRecorder;
let capped: RunningFacade;
let cappedRecorder: CallRecorder;

const daily = [
  ...makeBars(['AAPL', 'MSFT'], ns('2022-01-03T00:00:00Z'), NS_PER_DAY, 400),
  ...makeBars(['OLD'], ns('2020-01-01T00:00:00Z'), NS_PER_DAY, 30),
];
const minute = [
  ...makeBars(['AAPL', 'MSFT', 'NVDA'], ns('2024-01-02T14:30:00Z'), NS_PER_MINUTE, 390),
  ...makeBars(['AAPL', 'MSFT'], ns('2024-01-03T14:30:00Z'), NS_PER_MINUTE, 390),
];

interface GqlResponse {
  data?: Record<string, any> | null;
  errors?: { message: string; extensions?: Record<string, any> }[];
}

async function gql(target: RunningFacade, query: string, variables: Record<string, unknown> = {}): Promise<GqlResponse> {
  const res = await fetch(target.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as GqlResponse;
}

function errorCodes(r: GqlResponse): unknown[] {
  return (r.errors ?? []).map((e) => e.extensions?.code);
}

function lastOf(bars: FixtureBar[], symbol: string): FixtureBar {
  return bars.filter((b) => b.symbol === symbol).at(-1)!;
}

beforeAll(async () => {
  flight = await startFlightFixture();
  await createBarsDataset(flight.client, 'bars_1d', 'year', daily);
  await createBarsDataset(flight.client, 'bars_1m', 'day', minute);
  await flight.client.doActionJson('create_dataset', {
    name: 'events',
    time_column: 'ts',
    key_columns: ['symbol'],
    fields: [
      { name: 'symbol', type: 'utf8', nullable: false },
      { name: 'ts', type: 'timestamp[ns, UTC]', nullable: false },
      { name: 'note', type: 'utf8', nullable: true },
    ],
  });
  await flight.client.doActionJson('create_dataset', {
    name: 'nokey',
    time_column: 'ts',
    key_columns: [],
    fields: [{ name: 'ts', type: 'timestamp[ns, UTC]', nullable: false }],
  });
  const logger = createLogger('silent');
  recorder = recordCalls(flight.client);
  facade = await startFacade(
    loadConfig({ FACADE_PORT: '0', FLIGHT_URL: flight.url, FACADE_MAX_ROWS: '1000', LOG_LEVEL: 'silent' }),
    { flight: recorder.port, logger },
  );
  tightRecorder = recordCalls(flight.client);
  tight = await startFacade(
    loadConfig({
      FACADE_PORT: '0',
      FLIGHT_URL: flight.url,
      FACADE_MAX_DEPTH: '2',
      FACADE_MAX_ALIASES: '2',
      FACADE_MAX_COST: '40',
      FACADE_DEFAULT_DATASET: 'bars_1m',
      LOG_LEVEL: 'silent',
    }),
    { flight: tightRecorder.port, logger },
  );
  cappedRecorder = recordCalls(flight.client);
  capped = await startFacade(
    loadConfig({ FACADE_PORT: '0', FLIGHT_URL: flight.url, FACADE_MAX_ROWS: '3', FACADE_DEFAULT_DATASET: 'bars_1m', LOG_LEVEL: 'silent' }),
    { flight: cappedRecorder.port, logger },
  );
});

afterAll(async () => {
  await facade?.close();
  await tight?.close();
  await capped?.close();
  await flight?.close();
});

describe('Query.bars', () => {
  it('reads one symbol of the default dataset between from (inclusive) and to (exclusive), exactly', async () => {
    const r = await gql(
      facade,
      `{ bars(symbol: "MSFT", from: "2022-01-05T00:00:00Z", to: "2022-01-08T00:00:00.000Z") { symbol ts open high low close volume } }`,
    );
    expect(r.errors).toBeUndefined();
    const expected = daily.filter((b) => b.symbol === 'MSFT' && b.ts >= ns('2022-01-05T00:00:00Z') && b.ts < ns('2022-01-08T00:00:00Z'));
    expect(r.data!.bars).toEqual(
      expected.map((b) => ({ symbol: 'MSFT', ts: iso(b.ts), open: b.open, high: b.high, low: b.low, close: b.close, volume: b.volume })),
    );
    expect(r.data!.bars[0].ts).toBe('2022-01-05T00:00:00.000Z');
  });

  it('takes a dataset, time zone offsets and a limit', async () => {
    const r = await gql(
      facade,
      `query($from: DateTime) { bars(dataset: "bars_1m", symbol: "AAPL", from: $from, limit: 3) { ts close } }`,
      { from: '2024-01-03T09:30:00-05:00' },
    );
    expect(r.errors).toBeUndefined();
    expect(r.data!.bars.map((b: { ts: string }) => b.ts)).toEqual([
      '2024-01-03T14:30:00.000Z',
      '2024-01-03T14:31:00.000Z',
      '2024-01-03T14:32:00.000Z',
    ]);
    const ticket = recorder.doGets().at(-1)!;
    expect(ticket).toMatchObject({ dataset: 'bars_1m', symbols: ['AAPL'], start: '2024-01-03T14:30:00.000000000Z', limit: 3 });
  });

  it('resamples on the Flight server with interval', async () => {
    recorder.reset();
    const r = await gql(
      facade,
      `{ bars(dataset: "bars_1m", symbol: "AAPL", from: "2024-01-02T15:00:00Z", to: "2024-01-02T17:00:00Z", interval: "1h") { ts open high low close volume } }`,
    );
    expect(r.errors).toBeUndefined();
    expect(recorder.doGets()).toEqual([expect.objectContaining({ interval: '1h' })]);
    const hour = (start: string) => {
      const rows = minute.filter((b) => b.symbol === 'AAPL' && b.ts >= ns(start) && b.ts < ns(start) + 60n * NS_PER_MINUTE);
      return {
        ts: new Date(start).toISOString(),
        open: rows[0]!.open,
        high: Math.max(...rows.map((b) => b.high)),
        low: Math.min(...rows.map((b) => b.low)),
        close: rows.at(-1)!.close,
        volume: rows.reduce((s, b) => s + b.volume, 0),
      };
    };
    expect(r.data!.bars).toEqual([hour('2024-01-02T15:00:00Z'), hour('2024-01-02T16:00:00Z')]);
  });
});

describe('Query.datasets and Query.instrument', () => {
  it('lists datasets with their description', async () => {
    const r = await gql(facade, `{ datasets { name timeColumn keyColumns partition rows version fields { name type nullable } } }`);
    expect(r.errors).toBeUndefined();
    const byName = Object.fromEntries(r.data!.datasets.map((d: { name: string }) => [d.name, d]));
    expect(Object.keys(byName).sort()).toEqual(['bars_1d', 'bars_1m', 'events', 'nokey']);
    expect(byName.bars_1d).toEqual({
      name: 'bars_1d',
      timeColumn: 'ts',
      keyColumns: ['symbol'],
      partition: 'year',
      rows: daily.length,
      version: 1,
      fields: [
        { name: 'symbol', type: 'utf8', nullable: false },
        { name: 'ts', type: 'timestamp[ns, UTC]', nullable: false },
        { name: 'open', type: 'float64', nullable: true },
        { name: 'high', type: 'float64', nullable: true },
        { name: 'low', type: 'float64', nullable: true },
        { name: 'close', type: 'float64', nullable: true },
        { name: 'volume', type: 'int64', nullable: true },
      ],
    });
    expect(byName.bars_1m.rows).toBe(minute.length);
  });

  it('finds an instrument in the default dataset or any other, and answers null for an unknown symbol', async () => {
    const r = await gql(facade, `{ a: instrument(symbol: "AAPL") { symbol } n: instrument(symbol: "NVDA") { symbol } x: instrument(symbol: "NOPE") { symbol } }`);
    expect(r.errors).toBeUndefined();
    expect(r.data).toEqual({ a: { symbol: 'AAPL' }, n: { symbol: 'NVDA' }, x: null });
  });

  it('reads an instrument\'s series once, and checks its existence only when that read finds no rows', async () => {
    const expected = minute.filter((b) => b.symbol === 'MSFT' && b.ts < ns('2024-01-02T14:35:00Z'));
    const literal = `{ instrument(symbol: "MSFT") { series(dataset: "bars_1m", from: "2024-01-02T14:30:00Z", to: "2024-01-02T14:35:00Z") { ts close } latest(dataset: "bars_1m") { close } } }`;
    const variables = `query($s: String!, $from: DateTime, $to: DateTime) { instrument(symbol: $s) { series(dataset: "bars_1m", from: $from, to: $to) { ts close } latest(dataset: "bars_1m") { close } } }`;
    const isExistenceCheck = (query: Record<string, unknown>) => query.limit === 1 && (query.columns as string[]).length === 2;
    for (const [query, vars] of [
      [literal, {}],
      [variables, { s: 'MSFT', from: '2024-01-02T14:30:00Z', to: '2024-01-02T14:35:00Z' }],
    ] as const) {
      recorder.reset();
      const r = await gql(facade, query, vars);
      expect(r.errors).toBeUndefined();
      expect(r.data!.instrument.series.close).toEqual(expected.map((b) => b.close));
      expect(r.data!.instrument.latest.close).toBe(lastOf(minute, 'MSFT').close);
      const spans = recorder.doGetSpans();
      // The series read found rows: that is the proof of existence, so no check and no ListFlights.
      expect(spans.filter((s) => isExistenceCheck(s.query))).toHaveLength(0);
      expect(spans.filter((s) => s.query.start !== undefined && s.query.end !== undefined)).toHaveLength(1);
      expect(recorder.calls.filter((c) => c.call === 'ListFlights')).toHaveLength(0);
    }
    // A known symbol with no rows in the range: the read comes back empty, then the check finds it.
    recorder.reset();
    const empty = await gql(facade, literal.replace('2024-01-02T14:30:00Z', '2020-01-02T14:30:00Z').replace('2024-01-02T14:35:00Z', '2020-01-02T14:35:00Z'));
    expect(empty.errors).toBeUndefined();
    expect(empty.data!.instrument.series.close).toEqual([]);
    const emptySpans = recorder.doGetSpans();
    const read = emptySpans.filter((s) => String(s.query.start).startsWith('2020-01-02'));
    const check = emptySpans.filter((s) => isExistenceCheck(s.query));
    expect(read).toHaveLength(1);
    expect(check).toHaveLength(1);
    expect(check[0]!.started).toBeGreaterThanOrEqual(read[0]!.ended!);
    // An unknown symbol: null, no error, after its read and the check.
    recorder.reset();
    const unknown = await gql(facade, literal.replace('"MSFT"', '"NOPE"'));
    expect(unknown.errors).toBeUndefined();
    expect(unknown.data).toEqual({ instrument: null });
    expect(recorder.doGetSpans().filter((s) => isExistenceCheck(s.query)).length).toBeGreaterThan(0);
    // A field that may not run (@include / @skip) is not read ahead.
    recorder.reset();
    const skipped = await gql(facade, `{ instrument(symbol: "MSFT") { symbol series(dataset: "bars_1m") @include(if: false) { ts } } }`);
    expect(skipped.data).toEqual({ instrument: { symbol: 'MSFT' } });
    expect(recorder.doGets()).toEqual([expect.objectContaining({ symbols: ['MSFT'], limit: 1 })]);
  });

  it('serves the federation SDL with Instrument as an entity', async () => {
    const r = await gql(facade, `{ _service { sdl } }`);
    expect(r.data!._service.sdl).toMatch(/type Instrument\s+@key\(fields: "symbol"\)/);
  });
});

describe('Instrument.latest', () => {
  it('finds the last bar of active, stale and unknown symbols', async () => {
    recorder.reset();
    const r = await gql(
      facade,
      `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Instrument { symbol latest { symbol ts close volume } } } }`,
      { reps: ['AAPL', 'MSFT', 'OLD', 'NONE'].map((symbol) => ({ __typename: 'Instrument', symbol })) },
    );
    expect(r.errors).toBeUndefined();
    const latest = (s: string) => {
      const b = lastOf(daily, s);
      return { symbol: s, ts: iso(b.ts), close: b.close, volume: b.volume };
    };
    expect(r.data!._entities).toEqual([
      { symbol: 'AAPL', latest: latest('AAPL') },
      { symbol: 'MSFT', latest: latest('MSFT') },
      { symbol: 'OLD', latest: latest('OLD') },
      { symbol: 'NONE', latest: null },
    ]);
    const reads = recorder.doGets();
    // The first window serves AAPL and MSFT in one read; OLD and NONE widen the window.
    expect(reads[0]).toMatchObject({ dataset: 'bars_1d', symbols: ['AAPL', 'MSFT', 'OLD', 'NONE'] });
    expect(reads[0]!.end).toBeUndefined();
    expect(reads.slice(1).every((q) => !(q.symbols as string[]).includes('AAPL'))).toBe(true);
    expect(reads.at(-1)!.start).toBeUndefined();
    expect(reads.length).toBeLessThanOrEqual(8);
  });

  it('finds the last 1-minute bar per symbol even when a window read hits the row cap', async () => {
    // FACADE_MAX_ROWS=3 on `capped`: the first window holds ~6 rows per symbol, so it is split.
    cappedRecorder.reset();
    const r = await gql(
      capped,
      `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Instrument { latest { symbol ts close } } } }`,
      { reps: ['AAPL', 'MSFT'].map((symbol) => ({ __typename: 'Instrument', symbol })) },
    );
    expect(r.errors).toBeUndefined();
    expect(r.data!._entities).toEqual(
      ['AAPL', 'MSFT'].map((s) => ({ latest: { symbol: s, ts: iso(lastOf(minute, s).ts), close: lastOf(minute, s).close } })),
    );
    const reads = cappedRecorder.doGets();
    expect(reads.length).toBeGreaterThan(1);
    expect(reads.every((q) => q.limit === 4)).toBe(true);
  });
});

describe('entity batching', () => {
  const reps = ['AAPL', 'MSFT', 'NVDA', 'AAPL'].map((symbol) => ({ __typename: 'Instrument', symbol }));

  it('turns N representations into ONE Flight query for bars', async () => {
    recorder.reset();
    const r = await gql(
      facade,
      `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Instrument { symbol bars(dataset: "bars_1m", from: "2024-01-02T14:30:00Z", to: "2024-01-02T14:33:00Z") { symbol ts close } } } }`,
      { reps },
    );
    expect(r.errors).toBeUndefined();
    expect(recorder.doGets()).toEqual([
      expect.objectContaining({ dataset: 'bars_1m', symbols: ['AAPL', 'MSFT', 'NVDA'], limit: 1001 }),
    ]);
    const entities = r.data!._entities as { symbol: string; bars: { symbol: string; ts: string }[] }[];
    expect(entities.map((e) => e.symbol)).toEqual(['AAPL', 'MSFT', 'NVDA', 'AAPL']);
    for (const e of entities) {
      expect(e.bars.map((b) => b.symbol)).toEqual([e.symbol, e.symbol, e.symbol]);
      expect(e.bars.map((b) => b.ts)).toEqual(['2024-01-02T14:30:00.000Z', '2024-01-02T14:31:00.000Z', '2024-01-02T14:32:00.000Z']);
    }
  });

  it('turns N representations into ONE Flight query for latest', async () => {
    recorder.reset();
    const r = await gql(
      facade,
      `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Instrument { latest(dataset: "bars_1m") { symbol ts } } } }`,
      { reps: reps.slice(0, 2) },
    );
    expect(r.errors).toBeUndefined();
    expect(recorder.doGets()).toHaveLength(1);
    expect(recorder.doGets()[0]).toMatchObject({ dataset: 'bars_1m', symbols: ['AAPL', 'MSFT'] });
    expect(r.data!._entities).toEqual([
      { latest: { symbol: 'AAPL', ts: iso(lastOf(minute, 'AAPL').ts) } },
      { latest: { symbol: 'MSFT', ts: iso(lastOf(minute, 'MSFT').ts) } },
    ]);
  });

  it('batches aliased Query.bars fields with the same arguments too', async () => {
    recorder.reset();
    const r = await gql(facade, `{ a: bars(symbol: "AAPL", limit: 2) { ts } m: bars(symbol: "MSFT", limit: 2) { ts } }`);
    expect(r.errors).toBeUndefined();
    expect(recorder.doGets()).toHaveLength(1);
    expect(r.data!.a).toHaveLength(2);
    expect(r.data!.m).toHaveLength(2);
  });
});

describe('FACADE_MAX_ROWS', () => {
  it('fails with ROW_LIMIT_EXCEEDED naming the limit, after reading at most max+1 rows', async () => {
    recorder.reset();
    const r = await gql(facade, `{ a: bars(dataset: "bars_1m", symbol: "AAPL") { ts } m: bars(dataset: "bars_1m", symbol: "MSFT") { ts } }`);
    expect(errorCodes(r)).toContain('ROW_LIMIT_EXCEEDED');
    expect(r.errors![0]!.message).toMatch(/FACADE_MAX_ROWS=1000/);
    expect(r.errors![0]!.extensions!.limit).toBe(1000);
    expect(recorder.doGets()).toEqual([expect.objectContaining({ limit: 1001 })]);
  });

  it('counts rows across the fields of one request', async () => {
    const r = await gql(
      facade,
      `{ a: bars(dataset: "bars_1m", symbol: "AAPL") { ts } m: bars(dataset: "bars_1m", symbol: "MSFT", from: "2024-01-03T00:00:00Z") { ts } }`,
    );
    expect(errorCodes(r)).toContain('ROW_LIMIT_EXCEEDED');
  });

  it('keeps a per-symbol limit when a batch would overflow, by asking per symbol', async () => {
    const r = await gql(
      facade,
      `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Instrument { bars(dataset: "bars_1m", limit: 2) { ts } } } }`,
      { reps: ['AAPL', 'MSFT'].map((symbol) => ({ __typename: 'Instrument', symbol })) },
    );
    expect(r.errors).toBeUndefined();
    expect(r.data!._entities).toEqual([
      { bars: [{ ts: '2024-01-02T14:30:00.000Z' }, { ts: '2024-01-02T14:31:00.000Z' }] },
      { bars: [{ ts: '2024-01-02T14:30:00.000Z' }, { ts: '2024-01-02T14:31:00.000Z' }] },
    ]);
  });
});

describe('errors', () => {
  it('maps Flight NOT_FOUND (unknown dataset) to NOT_FOUND', async () => {
    const r = await gql(facade, `{ bars(dataset: "nope", symbol: "AAPL") { ts } }`);
    expect(errorCodes(r)).toEqual(['NOT_FOUND']);
    expect(r.errors![0]!.message).toMatch(/nope/);
    expect(r.data).toEqual(null);
  });

  it('maps Flight INVALID_ARGUMENT to BAD_USER_INPUT', async () => {
    const badName = await gql(facade, `{ bars(dataset: "Bad-Name", symbol: "AAPL") { ts } }`);
    expect(errorCodes(badName)).toEqual(['BAD_USER_INPUT']);
    expect(badName.errors![0]!.message).toMatch(/Bad-Name/);
    const noOhlcv = await gql(facade, `{ bars(dataset: "events", symbol: "AAPL", interval: "1h") { ts } }`);
    expect(errorCodes(noOhlcv)).toEqual(['BAD_USER_INPUT']);
    expect(noOhlcv.errors![0]!.extensions!.flightCode).toBe('INVALID_ARGUMENT');
  });

  it('refuses bad arguments with BAD_USER_INPUT naming them', async () => {
    const cases: [string, RegExp][] = [
      [`{ bars(symbol: "AAPL", interval: "2m") { ts } }`, /interval "2m" must be one of 1m, 5m/],
      [`{ bars(symbol: "AAPL", limit: -1) { ts } }`, /limit must be 0 or more/],
      [`{ bars(symbol: "has space") { ts } }`, /symbol "has space"/],
      [`{ bars(dataset: "nokey", symbol: "AAPL") { ts } }`, /no key column/],
    ];
    for (const [query, message] of cases) {
      const r = await gql(facade, query);
      expect(errorCodes(r), query).toEqual(['BAD_USER_INPUT']);
      expect(r.errors![0]!.message).toMatch(message);
    }
    const badTime = await gql(facade, `query($from: DateTime) { bars(symbol: "AAPL", from: $from) { ts } }`, { from: '2024-02-30' });
    expect(errorCodes(badTime)).toEqual(['BAD_USER_INPUT']);
    expect(badTime.errors![0]!.message).toMatch(/2024-02-30/);
  });

  it('refuses a NUL or another control character in every string argument with BAD_USER_INPUT naming it, before any Flight call', async () => {
    const entity = (selection: string) =>
      `query($v: String) { _entities(representations: [{ __typename: "Instrument", symbol: "AAPL" }]) { ... on Instrument { ${selection} } } }`;
    const cases: [string, string, (v: string) => Record<string, unknown>][] = [
      [`query($v: String!) { instrument(symbol: $v) { symbol } }`, 'symbol', (v) => ({ v: `AA${v}PL` })],
      [`query($v: String!) { bars(symbol: $v) { ts } }`, 'symbol', (v) => ({ v: `AA${v}PL` })],
      [`query($v: String) { bars(dataset: $v, symbol: "AAPL") { ts } }`, 'dataset', (v) => ({ v: `bars${v}_1d` })],
      [`query($v: String) { bars(symbol: "AAPL", interval: $v) { ts } }`, 'interval', (v) => ({ v: `1h${v}` })],
      [entity('bars(dataset: $v) { ts }'), 'dataset', (v) => ({ v: `bars_1m${v}` })],
      [entity('bars(interval: $v) { ts }'), 'interval', (v) => ({ v: `${v}1d` })],
      [entity('latest(dataset: $v) { ts }'), 'dataset', (v) => ({ v: `${v}bars_1m` })],
      [
        `query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Instrument { bars { ts } } } }`,
        'symbol',
        (v) => ({ reps: [{ __typename: 'Instrument', symbol: `AA${v}PL` }] }),
      ],
    ];
    for (const control of ['\u0000', '\u0007']) {
      for (const [query, field, variables] of cases) {
        recorder.reset();
        const r = await gql(facade, query, variables(control));
        const label = `${JSON.stringify(control)} in ${field}: ${query}`;
        expect.soft(errorCodes(r), label).toEqual(['BAD_USER_INPUT']);
        expect.soft(r.errors?.[0]?.extensions?.field, label).toBe(field);
        expect.soft(r.errors?.[0]?.message, label).toMatch(new RegExp(`^${field} must not contain control characters \\(U\\+00${control === '\u0000' ? '00' : '07'} at`));
        expect.soft(recorder.calls, label).toEqual([]);
      }
    }
  });

  it('enforces depth, alias and cost limits, naming the limit', async () => {
    const depth = await gql(tight, `{ datasets { fields { name } } }`);
    expect(errorCodes(depth)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(depth.errors![0]!.message).toMatch(/FACADE_MAX_DEPTH=2/);
    const aliases = await gql(tight, `{ a: datasets { name } b: datasets { name } c: datasets { name } }`);
    expect(errorCodes(aliases)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(aliases.errors![0]!.message).toMatch(/FACADE_MAX_ALIASES=2/);
    const cost = await gql(tight, `{ datasets { name timeColumn keyColumns partition rows } }`);
    expect(errorCodes(cost)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(cost.errors![0]!.message).toMatch(/FACADE_MAX_COST=40/);
    expect(tightRecorder.calls.filter((c) => c.call === 'ListFlights')).toHaveLength(0);
    const introspection = await gql(tight, `{ __schema { types { name fields { name type { name ofType { name ofType { name } } } } } } }`);
    expect(introspection.errors).toBeUndefined();
  });

  it('reports SERVICE_UNAVAILABLE and fails readiness while Flight is unreachable', async () => {
    const down = await startFacade(loadConfig({ FACADE_PORT: '0', FLIGHT_URL: 'grpc://127.0.0.1:1', LOG_LEVEL: 'silent' }));
    try {
      const r = await gql(down, `{ bars(symbol: "AAPL") { ts } }`);
      expect(errorCodes(r)).toEqual(['SERVICE_UNAVAILABLE']);
      const base = down.url.replace(/\/graphql$/, '');
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { error: string }).error).toMatch(/grpc:\/\/127\.0\.0\.1:1/);
    } finally {
      await down.close();
    }
    const ready = await fetch(facade.url.replace(/\/graphql$/, '/readyz'));
    expect(ready.status).toBe(200);
  });
});
