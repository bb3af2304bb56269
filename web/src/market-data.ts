/**
 * The market-data questions the page asks the gateway (the facade's fields: `datasets`,
 * `instruments`, `Instrument.series`, `Instrument.latest`). Series come as parallel columns and
 * are turned into candles here; a dataset argument left undefined is omitted, so the facade's
 * default dataset (FACADE_DEFAULT_DATASET) answers.
 */
import { GraphQLRequestError, describeErrors, type GraphQLClient } from './graphql.js';
import type { Interval } from './intervals.js';

export interface DatasetInfo {
  name: string;
  rows: number;
  keyColumns: string[];
  /** Has a key column and open/high/low/close: the chart can draw it. */
  chartable: boolean;
}

/** One bar; `time` in epoch milliseconds. */
export interface Candle {
  time: number;
  open: number | null;
  high: number | null;
  low: number | null;
  close: number | null;
  volume: number | null;
}

export interface InstrumentBounds {
  /** The first row's time (epoch ms). */
  firstMs: number;
  /** The newest row's time (epoch ms). */
  latestMs: number;
  /** The smallest gap between the first rows, when there are two or more. */
  spacingMs: number | undefined;
}

interface SeriesColumns {
  ts: number[];
  open: (number | null)[] | null;
  high: (number | null)[] | null;
  low: (number | null)[] | null;
  close: (number | null)[] | null;
  volume: (number | null)[] | null;
}

const OHLC = ['open', 'high', 'low', 'close'];
/** The subgraph every query here reads. */
const MARKET_DATA = 'financial';

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Throws when an answer with data also carries errors: a half chart would mislead. */
function whole<T>(answer: { data: T; errors: { message: string; extensions?: { code?: string; serviceName?: string } }[] }): T {
  if (answer.errors.length > 0) {
    const { message, kind } = describeErrors(answer.errors, MARKET_DATA);
    throw new GraphQLRequestError(message, kind, answer.errors.map((e) => e.extensions?.code ?? 'UNKNOWN'));
  }
  return answer.data;
}

export function candlesOf(series: SeriesColumns): Candle[] {
  const at = (column: (number | null)[] | null, i: number) => column?.[i] ?? null;
  return series.ts.map((time, i) => ({
    time,
    open: at(series.open, i),
    high: at(series.high, i),
    low: at(series.low, i),
    close: at(series.close, i),
    volume: at(series.volume, i),
  }));
}

export async function listDatasets(client: GraphQLClient): Promise<DatasetInfo[]> {
  const data = whole(await client.request<{ datasets: { name: string; rows: number; keyColumns: string[]; fields: { name: string }[] }[] }>(
    'query ExplorerDatasets { datasets { name rows keyColumns fields { name } } }',
    {},
    MARKET_DATA,
  ));
  return data.datasets.map((d) => {
    const names = new Set(d.fields.map((f) => f.name));
    return { name: d.name, rows: d.rows, keyColumns: d.keyColumns, chartable: d.keyColumns.length > 0 && OHLC.every((c) => names.has(c)) };
  });
}

export async function searchInstruments(client: GraphQLClient, dataset: string | undefined, prefix: string, limit: number): Promise<string[]> {
  const data = whole(await client.request<{ instruments: { symbol: string }[] }>(
    'query ExplorerInstruments($dataset: String, $prefix: String, $limit: Int) { instruments(dataset: $dataset, prefix: $prefix, limit: $limit) { symbol } }',
    { dataset, prefix: prefix === '' ? undefined : prefix, limit },
    MARKET_DATA,
  ));
  return data.instruments.map((i) => i.symbol);
}

type BoundsFields = { first: { ts: number[] }; latest: { ts: string } | null };
const BOUNDS_FIELDS = 'first: series(dataset: $dataset, limit: 3) { ts } latest(dataset: $dataset) { ts }';

function boundsOf(instrument: BoundsFields | null): InstrumentBounds | null {
  if (instrument === null || instrument.latest === null || instrument.first.ts.length === 0) return null;
  const ts = instrument.first.ts;
  let spacingMs: number | undefined;
  for (let i = 1; i < ts.length; i += 1) {
    const gap = ts[i]! - ts[i - 1]!;
    if (gap > 0 && (spacingMs === undefined || gap < spacingMs)) spacingMs = gap;
  }
  return { firstMs: ts[0]!, latestMs: Date.parse(instrument.latest.ts), spacingMs };
}

/** Where the symbol's rows start and end in the dataset; null when it has none there. */
export async function instrumentBounds(client: GraphQLClient, dataset: string | undefined, symbol: string): Promise<InstrumentBounds | null> {
  const data = whole(await client.request<{ instrument: BoundsFields | null }>(
    `query ExplorerBounds($symbol: String!, $dataset: String) { instrument(symbol: $symbol) { ${BOUNDS_FIELDS} } }`,
    { symbol, dataset },
    MARKET_DATA,
  ));
  return boundsOf(data.instrument);
}

/** The dataset's first instrument and where its rows lie, in one request; undefined when the dataset holds none. */
export async function firstInstrument(client: GraphQLClient, dataset: string | undefined): Promise<{ symbol: string; bounds: InstrumentBounds | null } | undefined> {
  const data = whole(await client.request<{ instruments: (BoundsFields & { symbol: string })[] }>(
    `query ExplorerFirstInstrument($dataset: String) { instruments(dataset: $dataset, limit: 1) { symbol ${BOUNDS_FIELDS} } }`,
    { dataset },
    MARKET_DATA,
  ));
  const [first] = data.instruments;
  return first === undefined ? undefined : { symbol: first.symbol, bounds: boundsOf(first) };
}

/** Resampled bars of [fromMs, toMs) (toMs undefined: to the end). */
export async function loadCandles(
  client: GraphQLClient,
  q: { dataset: string | undefined; symbol: string; interval: Interval; fromMs: number; toMs?: number | undefined },
): Promise<Candle[]> {
  const data = whole(await client.request<{ instrument: { series: SeriesColumns } | null }>(
    `query ExplorerSeries($symbol: String!, $dataset: String, $from: DateTime, $to: DateTime, $interval: String) {
      instrument(symbol: $symbol) { series(dataset: $dataset, from: $from, to: $to, interval: $interval) { ts open high low close volume } }
    }`,
    { symbol: q.symbol, dataset: q.dataset, from: iso(q.fromMs), to: q.toMs === undefined ? undefined : iso(q.toMs), interval: q.interval },
    MARKET_DATA,
  ));
  return data.instrument === null ? [] : candlesOf(data.instrument.series);
}

/** The close of the last daily bar before `beforeMs`'s UTC day, per symbol (null where none in the 14 days before). */
export async function previousCloses(
  client: GraphQLClient,
  dataset: string | undefined,
  quotes: readonly { symbol: string; latestMs: number }[],
): Promise<Map<string, number | null>> {
  const out = new Map<string, number | null>();
  if (quotes.length === 0) return out;
  const DAY = 86_400_000;
  const variables: Record<string, unknown> = { dataset };
  const params = ['$dataset: String'];
  const fields = quotes.map((q, i) => {
    const dayStart = Math.floor(q.latestMs / DAY) * DAY;
    variables[`s${i}`] = q.symbol;
    variables[`f${i}`] = iso(dayStart - 14 * DAY);
    variables[`t${i}`] = iso(dayStart);
    params.push(`$s${i}: String!`, `$f${i}: DateTime`, `$t${i}: DateTime`);
    return `q${i}: instrument(symbol: $s${i}) { series(dataset: $dataset, from: $f${i}, to: $t${i}, interval: "1d") { close } }`;
  });
  const data = whole(await client.request<Record<string, { series: { close: (number | null)[] | null } } | null>>(
    `query ExplorerPreviousCloses(${params.join(', ')}) { ${fields.join('\n')} }`,
    variables,
    MARKET_DATA,
  ));
  quotes.forEach((q, i) => {
    const closes = data[`q${i}`]?.series.close ?? [];
    out.set(q.symbol, closes.length > 0 ? (closes[closes.length - 1] ?? null) : null);
  });
  return out;
}
