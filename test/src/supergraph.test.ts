/**
 * End to end over HTTP through the gateway: the Flight server (seeded with the sample data of
 * `npm start`), the financial facade, the user service (PGlite in a temp dir) and the gateway,
 * all in-process on port 0. One query walks from a user's watchlist into each instrument's
 * latest bar and daily bars.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger as flightLogger, DatasetStore, loadConfig as loadFlightConfig, startFlightServer } from '@flightdeck/flight-server';
import { loadConfig as loadGatewayConfig, startGateway, type RunningGateway } from '@flightdeck/gateway';
import { loadConfig as loadFacadeConfig, startFacade, type RunningFacade } from '@flightdeck/graphql-facade';
import { FlightClient } from '@flightdeck/proto';
import { loadConfig as loadUsersConfig, startUserService, userSubgraphSchema, type RunningUserService } from '@flightdeck/user-service';
import type { GraphQLScalarType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSp500Csv, seedSampleData, sp500CsvPath } from '../../scripts/seed-data.js';

interface GqlResponse {
  data?: any;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

let dir: string;
let flight: Awaited<ReturnType<typeof startFlightServer>>;
let facade: RunningFacade;
let users: RunningUserService;
let gateway: RunningGateway;

async function gql(query: string, variables: Record<string, unknown> = {}): Promise<GqlResponse> {
  const res = await fetch(gateway.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as GqlResponse;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fd-supergraph-'));
  const flightConfig = loadFlightConfig({ FLIGHT_PORT: '0', DATA_DIR: join(dir, 'flight'), LOG_LEVEL: 'silent' });
  const logger = flightLogger('silent');
  flight = await startFlightServer({ config: flightConfig, store: await DatasetStore.open(flightConfig, logger), logger });
  const client = new FlightClient(flight.url);
  try {
    await seedSampleData(client, { info: () => undefined });
  } finally {
    client.close();
  }
  facade = await startFacade(loadFacadeConfig({ FACADE_PORT: '0', FLIGHT_URL: flight.url, LOG_LEVEL: 'silent' }));
  users = await startUserService(loadUsersConfig({ USERS_PORT: '0', USERS_DATA_DIR: join(dir, 'users'), LOG_LEVEL: 'silent' }));
  gateway = await startGateway(
    loadGatewayConfig({ GATEWAY_PORT: '0', FACADE_URL: facade.url, USERS_URL: users.url, LOG_LEVEL: 'silent' }),
  );
});

afterAll(async () => {
  await gateway?.close();
  await facade?.close();
  await users?.close();
  await flight?.close(1000);
  await rm(dir, { recursive: true, force: true });
});

describe('supergraph through the gateway', () => {
  it('creates a user and a watchlist, then walks from the watchlist into latest and daily bars in one query', async () => {
    const created = await gql(`mutation { createUser(email: "ada@example.com", name: "Ada") { id } }`);
    expect(created.errors).toBeUndefined();
    const userId = created.data.createUser.id as string;
    const list = await gql(`mutation($u: ID!) { createWatchlist(userId: $u, name: "core") { id } }`, { u: userId });
    expect(list.errors).toBeUndefined();
    const listId = list.data.createWatchlist.id as string;
    for (const symbol of ['SPX', 'AAPL', 'MSFT']) {
      const added = await gql(`mutation($w: ID!, $s: String!) { addToWatchlist(watchlistId: $w, symbol: $s) { symbols } }`, { w: listId, s: symbol });
      expect(added.errors).toBeUndefined();
    }

    const r = await gql(
      `query($id: ID!) {
        user(id: $id) {
          name
          watchlists {
            name
            instruments {
              symbol
              latest { ts close }
              daily: bars(from: "2020-04-13", to: "2020-04-18") { ts open high low close volume }
              minute: latest(dataset: "bars_1m") { ts close }
            }
          }
        }
      }`,
      { id: userId },
    );
    expect(r.errors).toBeUndefined();
    const spx = parseSp500Csv(await readFile(sp500CsvPath(), 'utf8'));
    const week = spx.ts
      .map((ts, i) => ({ ts, i }))
      .filter(({ ts }) => ts >= BigInt(Date.parse('2020-04-13T00:00:00Z')) * 1_000_000n)
      .map(({ ts, i }) => ({
        ts: new Date(Number(ts / 1_000_000n)).toISOString(),
        open: spx.open[i],
        high: spx.high[i],
        low: spx.low[i],
        close: spx.close[i],
        volume: Number(spx.volume[i]),
      }));
    expect(week).toHaveLength(5);
    const [watchlist] = r.data.user.watchlists;
    expect(watchlist.name).toBe('core');
    const bySymbol = Object.fromEntries(watchlist.instruments.map((i: { symbol: string }) => [i.symbol, i]));
    expect(Object.keys(bySymbol).sort()).toEqual(['AAPL', 'MSFT', 'SPX']);
    expect(bySymbol.SPX).toEqual({
      symbol: 'SPX',
      latest: { ts: '2020-04-17T00:00:00.000Z', close: 2874.560059 },
      daily: week,
      minute: null,
    });
    // AAPL and MSFT come from the 1-minute sample; their daily bars (sessions aggregated) are seeded
    // into the default dataset too, so the last daily close is the last minute's close.
    for (const symbol of ['AAPL', 'MSFT']) {
      expect(bySymbol[symbol].latest.ts).toBe('2024-01-08T00:00:00.000Z');
      expect(bySymbol[symbol].daily).toEqual([]);
      expect(bySymbol[symbol].minute.ts).toBe('2024-01-08T20:59:00.000Z');
      expect(bySymbol[symbol].latest.close).toBe(bySymbol[symbol].minute.close);
    }
  });

  it('serves the columnar chart fields: instruments by prefix, then series equal to bars, and series from a watchlist', async () => {
    const all = await gql(`{ instruments(dataset: "bars_1m") { symbol } }`);
    expect(all.errors).toBeUndefined();
    expect(all.data.instruments).toEqual(['AAPL', 'AMZN', 'MSFT', 'NVDA'].map((symbol) => ({ symbol })));
    const range = 'dataset: "bars_1m", from: "2024-01-03T14:30:00Z", to: "2024-01-03T16:00:00Z"';
    const r = await gql(
      `{ instruments(dataset: "bars_1m", prefix: "A") { symbol series(${range}) { symbol ts open high low close volume } bars(${range}) { ts open high low close volume } } }`,
    );
    expect(r.errors).toBeUndefined();
    expect(r.data.instruments.map((i: { symbol: string }) => i.symbol)).toEqual(['AAPL', 'AMZN']);
    for (const { symbol, series, bars } of r.data.instruments) {
      expect(bars).toHaveLength(90);
      expect(series).toEqual({
        symbol,
        ts: bars.map((b: { ts: string }) => Date.parse(b.ts)),
        open: bars.map((b: { open: number }) => b.open),
        high: bars.map((b: { high: number }) => b.high),
        low: bars.map((b: { low: number }) => b.low),
        close: bars.map((b: { close: number }) => b.close),
        volume: bars.map((b: { volume: number }) => b.volume),
      });
    }
    // From the user subgraph into the facade's series.
    const created = await gql(`mutation { createUser(email: "charts@example.com", name: "Charts") { id } }`);
    const list = await gql(`mutation($u: ID!) { createWatchlist(userId: $u, name: "chips") { id } }`, { u: created.data.createUser.id });
    await gql(`mutation($w: ID!) { addToWatchlist(watchlistId: $w, symbol: "NVDA") { symbols } }`, { w: list.data.createWatchlist.id });
    const walk = await gql(
      `query($u: ID!) { user(id: $u) { watchlists { instruments { symbol series(dataset: "bars_1m", from: "2024-01-02T14:30:00Z", interval: "1d", limit: 2) { ts close } } } } }`,
      { u: created.data.createUser.id },
    );
    expect(walk.errors).toBeUndefined();
    const nvda = walk.data.user.watchlists[0].instruments[0];
    expect(nvda.symbol).toBe('NVDA');
    expect(nvda.series.ts).toEqual([Date.parse('2024-01-02T00:00:00Z'), Date.parse('2024-01-03T00:00:00Z')]);
    expect(nvda.series.close).toHaveLength(2);
    // Errors keep their codes through the gateway.
    const bad = await gql(`{ instruments(dataset: "nope") { symbol } }`);
    expect(bad.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const badSeries = await gql(`{ instrument(symbol: "AAPL") { series(dataset: "bars_1m", interval: "7m") { ts } } }`);
    expect(badSeries.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('passes the facade error codes through', async () => {
    const missing = await gql(`{ bars(dataset: "nope", symbol: "SPX") { ts } }`);
    expect(missing.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const bad = await gql(`{ bars(symbol: "SPX", interval: "7m") { ts } }`);
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('seeds only once: a second run skips datasets that hold rows', async () => {
    const client = new FlightClient(flight.url);
    try {
      expect(await seedSampleData(client, { info: () => undefined })).toEqual([
        { dataset: 'bars_1d', status: 'skipped', rows: 5105 + 4 * 5 },
        { dataset: 'bars_1m', status: 'skipped', rows: 7800 },
      ]);
    } finally {
      client.close();
    }
  });

  it('resamples the seeded 1-minute bars to one hour through the gateway', async () => {
    const r = await gql(
      `{ bars(dataset: "bars_1m", symbol: "NVDA", from: "2024-01-02T14:30:00Z", to: "2024-01-02T21:00:00Z", interval: "1h") { ts volume } }`,
    );
    expect(r.errors).toBeUndefined();
    expect(r.data.bars.map((b: { ts: string }) => b.ts)).toEqual([
      '2024-01-02T14:00:00.000Z',
      '2024-01-02T15:00:00.000Z',
      '2024-01-02T16:00:00.000Z',
      '2024-01-02T17:00:00.000Z',
      '2024-01-02T18:00:00.000Z',
      '2024-01-02T19:00:00.000Z',
      '2024-01-02T20:00:00.000Z',
    ]);
  });

  it('one DateTime for the supergraph: both subgraphs take and print the same forms', async () => {
    const inputs = ['2024-01-02', '2024-01-02T09:30', '2024-01-02 09:30:00.5+01:00', '2024-01-02T09:30:00.123456789Z', 'yesterday', '2024-02-30', '2020-13-45'];
    const userScalar = userSubgraphSchema.getType('DateTime') as GraphQLScalarType;
    for (const input of inputs) {
      const viaFacade = await gql(`query($t: DateTime) { bars(dataset: "bars_1m", symbol: "AAPL", from: $t, limit: 1) { ts } }`, { t: input });
      let userAccepts = true;
      try {
        userScalar.parseValue(input);
      } catch {
        userAccepts = false;
      }
      expect(viaFacade.errors === undefined, `facade on ${input}`).toBe(userAccepts);
    }
    const created = await gql(`mutation { createUser(email: "dt@example.com", name: "Dt") { createdAt } }`);
    const bar = await gql(`{ bars(dataset: "bars_1m", symbol: "AAPL", limit: 1) { ts } }`);
    for (const printed of [created.data.createUser.createdAt, bar.data.bars[0].ts]) {
      expect(printed).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    }
  });

  it('counts requests and error codes at /metrics on each GraphQL process', async () => {
    // The earlier tests sent queries, one of them refused with BAD_USER_INPUT.
    const scrape = async (graphqlUrl: string) => (await (await fetch(graphqlUrl.replace(/\/graphql$/, '/metrics'))).text());
    for (const [service, url] of [['gateway', gateway.url], ['graphql-facade', facade.url], ['user-service', users.url]] as const) {
      const text = await scrape(url);
      const ok = text.match(new RegExp(`^flightdeck_graphql_http_requests_total\\{[^}]*route="/graphql"[^}]*status="200"[^}]*service="${service}"[^}]*\\} (\\d+)`, 'm'));
      expect(Number(ok?.[1] ?? 0), `${service} /graphql 200 count`).toBeGreaterThan(0);
      expect(text).toMatch(/^flightdeck_graphql_request_duration_seconds_count\{[^}]*\} [1-9]/m);
    }
    expect(await scrape(gateway.url)).toMatch(/^flightdeck_graphql_errors_total\{code="BAD_USER_INPUT"[^}]*\} [1-9]/m);
  });
});
