/**
 * Resolvers: each validates its arguments and becomes Flight calls through the request's loaders.
 * Every resolver that takes input (arguments, or an entity representation) passes it to
 * {@link checkArguments} first, so no string with a control character reaches Flight.
 */
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { INTERVALS, isInterval } from '@flightdeck/contract';
import { argumentsFault, DateTimeScalar } from '@flightdeck/graphql-http';
import { getArgumentValues, GraphQLScalarType, isObjectType, Kind, type GraphQLResolveInfo } from 'graphql';
import type { Logger } from 'pino';
import { barShape, barsOfSlice, seriesOfSlice, sliceLength, type Bar, type Series } from './bar-block.js';
import type { DatasetCatalog } from './dataset-catalog.js';
import { facadeError, toGraphQLError } from './errors.js';
import type { DatasetDescription, FlightPort } from './flight-port.js';
import type { BarArgs, FacadeLoaders } from './loaders.js';

export interface FacadeContext {
  log: Logger;
  loaders: FacadeLoaders;
}

export interface ResolverDeps {
  flight: FlightPort;
  catalog: DatasetCatalog;
  defaultDataset: string;
}

const SYMBOL = /^[\x21-\x7e]{1,64}$/;
/** `instruments` without a limit: list_keys' own default. */
export const DEFAULT_INSTRUMENTS_LIMIT = 1000;
/** The most `instruments` one field may list: list_keys' own bound. */
export const MAX_INSTRUMENTS_LIMIT = 1_000_000;

interface InstrumentRef {
  symbol: string;
}

interface RawBarArgs {
  dataset?: string | null;
  /** Epoch nanoseconds as decimal text (see {@link FacadeDateTime}). */
  from?: string | null;
  to?: string | null;
  interval?: string | null;
  limit?: number | null;
}

/**
 * The supergraph's DateTime (same input forms, same output), except that an input's value inside
 * the facade is its epoch nanoseconds as decimal text rather than a bigint: graphql-jit inlines the
 * literal arguments of a compiled operation as JSON, which has no bigint.
 */
const FacadeDateTime = new GraphQLScalarType<bigint | string, string>({
  ...DateTimeScalar.toConfig(),
  parseValue: (value) => (DateTimeScalar.parseValue(value) as bigint).toString(),
  parseLiteral: (ast, variables) => (DateTimeScalar.parseLiteral(ast, variables) as bigint).toString(),
});

/**
 * No string input may hold a C0 or C1 control character (NUL, BEL, tab, newline, DEL, ...): none
 * belongs in a symbol, a dataset name or an interval. BAD_USER_INPUT naming the argument.
 */
function checkArguments(args: object): void {
  const fault = argumentsFault(args);
  if (fault !== undefined) throw facadeError('BAD_USER_INPUT', fault.message, { field: fault.field });
}

function checkSymbol(symbol: string): string {
  if (!SYMBOL.test(symbol)) {
    throw facadeError('BAD_USER_INPUT', `symbol ${JSON.stringify(symbol)} must be 1 to 64 printable ASCII characters without spaces`, {
      field: 'symbol',
    });
  }
  return symbol;
}

function barArgs(raw: RawBarArgs, defaultDataset: string): BarArgs {
  const interval = raw.interval ?? undefined;
  if (interval !== undefined && !isInterval(interval)) {
    throw facadeError('BAD_USER_INPUT', `interval ${JSON.stringify(interval)} must be one of ${INTERVALS.join(', ')}`, { field: 'interval' });
  }
  const limit = raw.limit ?? undefined;
  if (limit !== undefined && limit < 0) {
    throw facadeError('BAD_USER_INPUT', `limit must be 0 or more, got ${limit}`, { field: 'limit' });
  }
  return {
    dataset: raw.dataset ?? defaultDataset,
    from: raw.from == null ? undefined : BigInt(raw.from),
    to: raw.to == null ? undefined : BigInt(raw.to),
    interval,
    limit,
  };
}

/** Checks a resolver's input, runs its body; whatever it throws leaves as a GraphQLError with `extensions.code`. */
async function guard<T>(input: object, run: () => Promise<T>): Promise<T> {
  try {
    checkArguments(input);
    return await run();
  } catch (err) {
    throw toGraphQLError(err);
  }
}

function datasetOf(d: DatasetDescription) {
  return {
    name: d.name,
    timeColumn: d.time_column,
    keyColumns: d.key_columns,
    partition: d.partition,
    rows: d.rows,
    version: d.version,
    fields: d.schema,
  };
}

export function createResolvers(deps: ResolverDeps): GraphQLResolverMap<FacadeContext> {
  const { flight, catalog, defaultDataset } = deps;

  return {
    DateTime: FacadeDateTime,
    Query: {
      datasets: () =>
        guard({}, async () => {
          const names: string[] = [];
          for await (const info of flight.listFlights()) {
            const name = info.flightDescriptor?.path?.[0];
            if (name !== undefined) names.push(name);
          }
          const descriptions = await Promise.all(names.map((name) => catalog.describe(name, { fresh: true })));
          return descriptions.map(datasetOf);
        }),
      instrument: (_: unknown, args: { symbol: string }, ctx: FacadeContext, info: GraphQLResolveInfo) =>
        guard(args, async (): Promise<InstrumentRef | null> => {
          const symbol = checkSymbol(args.symbol);
          // A read of the selection that finds rows of the symbol proves it exists: a chart's
          // `instrument { series }` then costs that one Flight call, and no existence check.
          const rowsRead = await Promise.all(prefetchReads(info, ctx, symbol, defaultDataset));
          if (rowsRead.some((rows) => rows > 0)) return { symbol };
          const exists = async (): Promise<boolean> => {
            if (await hasSymbolIn(ctx, defaultDataset, symbol)) return true;
            const others: string[] = [];
            for await (const flightInfo of flight.listFlights()) {
              const name = flightInfo.flightDescriptor?.path?.[0];
              if (name !== undefined && name !== defaultDataset && flightInfo.totalRecords !== 0) others.push(name);
            }
            const answers = await Promise.all(others.map((name) => hasSymbolIn(ctx, name, symbol)));
            return answers.some(Boolean);
          };
          return (await exists()) ? { symbol } : null;
        }),
      bars: (_: unknown, args: RawBarArgs & { symbol: string }, ctx: FacadeContext) =>
        guard(args, async () => barsOfSlice(await ctx.loaders.bars(barArgs(args, defaultDataset), checkSymbol(args.symbol)))),
      instruments: (_: unknown, args: { dataset?: string | null; prefix?: string | null; limit?: number | null }) =>
        guard(args, async (): Promise<InstrumentRef[]> => {
          const dataset = args.dataset ?? defaultDataset;
          const limit = args.limit ?? DEFAULT_INSTRUMENTS_LIMIT;
          if (limit < 0 || limit > MAX_INSTRUMENTS_LIMIT) {
            throw facadeError('BAD_USER_INPUT', `limit must be between 0 and ${MAX_INSTRUMENTS_LIMIT}, got ${limit}`, { field: 'limit' });
          }
          // NOT_FOUND for an unknown dataset, BAD_USER_INPUT for one without a key column.
          const shape = barShape(await catalog.describe(dataset));
          if (limit === 0 || !shape.hasSchema) return [];
          const body = { dataset, limit, ...(args.prefix == null || args.prefix === '' ? {} : { prefix: args.prefix }) };
          const { keys } = await flight.doActionJson<{ keys: string[]; truncated: boolean }>('list_keys', body);
          return keys.map((symbol) => ({ symbol }));
        }),
    },
    Instrument: {
      __resolveReference: (ref: InstrumentRef): InstrumentRef => {
        checkArguments({ symbol: ref.symbol });
        return { symbol: ref.symbol };
      },
      bars: (parent: InstrumentRef, args: RawBarArgs, ctx: FacadeContext) =>
        guard(args, async () => barsOfSlice(await ctx.loaders.bars(barArgs(args, defaultDataset), parent.symbol))),
      series: (parent: InstrumentRef, args: RawBarArgs, ctx: FacadeContext) =>
        guard(args, async (): Promise<Series> => seriesOfSlice(await ctx.loaders.bars(barArgs(args, defaultDataset), parent.symbol))),
      latest: (parent: InstrumentRef, args: { dataset?: string | null }, ctx: FacadeContext) =>
        guard(args, (): Promise<Bar | null> => ctx.loaders.latest(args.dataset ?? defaultDataset, parent.symbol)),
    },
  };
}

/**
 * Starts the reads an `instrument(symbol) { bars / series }` selection will make, before the
 * symbol's existence is known: the child resolvers then find them in the request's loaders (same
 * arguments, same DataLoader key) and no second read is made; and a read that finds rows makes the
 * existence check needless. Only plain fields of the selection (no directive) whose arguments
 * check out are started; anything else is left to its resolver. `latest` is not started: for a
 * symbol that turns out unknown it probes ever wider windows, several reads for nothing. Returns
 * each read's row count (0 for a read that failed: its resolver reports the failure).
 */
function prefetchReads(info: GraphQLResolveInfo | undefined, ctx: FacadeContext, symbol: string, defaultDataset: string): Promise<number>[] {
  const instrument = info?.schema.getType('Instrument');
  if (!info || !isObjectType(instrument)) return [];
  const fields = instrument.getFields();
  const started: Promise<number>[] = [];
  for (const node of info.fieldNodes) {
    for (const selection of node.selectionSet?.selections ?? []) {
      // A field under @skip / @include may not run at all: its resolver reads, if it runs.
      if (selection.kind !== Kind.FIELD || (selection.directives?.length ?? 0) > 0) continue;
      const name = selection.name.value;
      if (name !== 'bars' && name !== 'series') continue;
      try {
        const raw = getArgumentValues(fields[name]!, selection, info.variableValues) as RawBarArgs;
        checkArguments(raw);
        started.push(ctx.loaders.bars(barArgs(raw, defaultDataset), symbol).then(sliceLength, () => 0));
      } catch {
        // Arguments its resolver will refuse, with the message it gives: nothing to start.
      }
    }
  }
  return started;
}

/** Existence in one dataset; a dataset that does not exist (yet) holds no symbol, and one without a key column neither. */
async function hasSymbolIn(ctx: FacadeContext, dataset: string, symbol: string): Promise<boolean> {
  try {
    return await ctx.loaders.hasSymbol(dataset, symbol);
  } catch (err) {
    const code = toGraphQLError(err).extensions.code;
    if (code === 'NOT_FOUND' || code === 'BAD_USER_INPUT') return false;
    throw err;
  }
}
