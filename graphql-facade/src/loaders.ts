/**
 * Per-request batching. Every `bars` / `latest` field of the same arguments that resolves in one
 * tick (the gateway's `_entities` representations, aliases, list items) is one DataLoader batch,
 * and a batch of symbols is ONE Flight query with `symbols: [...]` whose rows are split per symbol.
 */
import DataLoader from 'dataloader';
import type { Bar } from './bar-rows.js';
import { groupBySymbol } from './bar-rows.js';
import type { BarReader } from './bar-reader.js';
import type { DatasetCatalog } from './dataset-catalog.js';
import { formatIsoNs } from '@flightdeck/contract';
import { latestBars } from './latest.js';
import type { RowBudget } from './row-budget.js';

export interface BarArgs {
  dataset: string;
  from?: bigint | undefined;
  to?: bigint | undefined;
  interval?: string | undefined;
  limit?: number | undefined;
}

export interface FacadeLoaders {
  bars(args: BarArgs, symbol: string): Promise<Bar[]>;
  latest(dataset: string, symbol: string): Promise<Bar | null>;
  /** True when the dataset holds at least one row for the symbol. */
  hasSymbol(dataset: string, symbol: string): Promise<boolean>;
}

export function createLoaders(reader: BarReader, catalog: DatasetCatalog, budget: RowBudget): FacadeLoaders {
  const barLoaders = new Map<string, DataLoader<string, Bar[]>>();
  const latestLoaders = new Map<string, DataLoader<string, Bar | null>>();
  const existence = new Map<string, Promise<boolean>>();

  const barBatch = (args: BarArgs) => async (symbols: readonly string[]): Promise<Bar[][]> => {
    const shape = await reader.shape(args.dataset);
    const base = {
      ...(args.from === undefined ? {} : { start: formatIsoNs(args.from) }),
      ...(args.to === undefined ? {} : { end: formatIsoNs(args.to) }),
      ...(args.interval === undefined ? {} : { interval: args.interval }),
    };
    const perSymbol = args.limit;
    const single = symbols.length === 1;
    const rows = await reader.read(shape, {
      ...base,
      symbols: [...symbols],
      limit: budget.readLimit(single ? perSymbol : undefined),
    });
    let grouped: Map<string, Bar[]>;
    if (rows.length <= budget.remaining) {
      grouped = groupBySymbol(rows, symbols);
      if (perSymbol !== undefined) for (const [s, list] of grouped) grouped.set(s, list.slice(0, perSymbol));
    } else if (!single && perSymbol !== undefined) {
      // The batch overflowed, but each symbol only wants `limit` rows: Flight's limit is per
      // query, so ask per symbol.
      const lists = await Promise.all(
        symbols.map((symbol) => reader.read(shape, { ...base, symbols: [symbol], limit: budget.readLimit(perSymbol) })),
      );
      grouped = new Map(symbols.map((s, i) => [s, lists[i]!]));
    } else {
      throw budget.exceeded();
    }
    const result = symbols.map((s) => grouped.get(s) ?? []);
    budget.charge(result.reduce((n, list) => n + list.length, 0));
    return result;
  };

  const latestBatch = (dataset: string) => async (symbols: readonly string[]): Promise<(Bar | null)[]> => {
    const description = await catalog.describe(dataset);
    const shape = await reader.shape(dataset);
    const found = await latestBars(reader, shape, description, symbols, budget.max);
    const result = symbols.map((s) => found.get(s) ?? null);
    budget.charge(result.filter((b) => b !== null).length);
    return result;
  };

  return {
    bars(args, symbol) {
      const key = JSON.stringify([args.dataset, args.from?.toString(), args.to?.toString(), args.interval, args.limit]);
      let loader = barLoaders.get(key);
      if (loader === undefined) {
        loader = new DataLoader(barBatch(args));
        barLoaders.set(key, loader);
      }
      return loader.load(symbol);
    },
    latest(dataset, symbol) {
      let loader = latestLoaders.get(dataset);
      if (loader === undefined) {
        loader = new DataLoader(latestBatch(dataset));
        latestLoaders.set(dataset, loader);
      }
      return loader.load(symbol);
    },
    hasSymbol(dataset, symbol) {
      const key = JSON.stringify([dataset, symbol]);
      let answer = existence.get(key);
      if (answer === undefined) {
        answer = reader
          .shape(dataset)
          .then((shape) => reader.read(shape, { symbols: [symbol], keyOnly: true, limit: 1 }))
          .then((rows) => rows.length > 0);
        existence.set(key, answer);
      }
      return answer;
    },
  };
}
