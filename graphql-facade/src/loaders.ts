/**
 * Per-request batching. Every `bars` / `series` / `latest` field of the same arguments that
 * resolves in one tick (the gateway's `_entities` representations, aliases, list items) is one
 * DataLoader batch, and a batch of symbols is ONE Flight query with `symbols: [...]` whose rows are
 * split per symbol. `bars` and `series` of the same arguments share the batch (and the read).
 */
import DataLoader from 'dataloader';
import { limitSlice, sliceLength, slicesBySymbol, type Bar, type BarSlice } from './bar-block.js';
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
  /** One symbol's rows (for `bars` and `series`), charged to the request's row budget. */
  bars(args: BarArgs, symbol: string): Promise<BarSlice>;
  latest(dataset: string, symbol: string): Promise<Bar | null>;
  /** True when the dataset holds at least one row for the symbol. */
  hasSymbol(dataset: string, symbol: string): Promise<boolean>;
}

export function createLoaders(reader: BarReader, catalog: DatasetCatalog, budget: RowBudget): FacadeLoaders {
  const barLoaders = new Map<string, DataLoader<string, BarSlice>>();
  const latestLoaders = new Map<string, DataLoader<string, Bar | null>>();
  const existence = new Map<string, Promise<boolean>>();

  const barBatch = (args: BarArgs) => async (symbols: readonly string[]): Promise<BarSlice[]> => {
    const shape = await reader.shape(args.dataset);
    const base = {
      ...(args.from === undefined ? {} : { start: formatIsoNs(args.from) }),
      ...(args.to === undefined ? {} : { end: formatIsoNs(args.to) }),
      ...(args.interval === undefined ? {} : { interval: args.interval }),
    };
    const perSymbol = args.limit;
    const single = symbols.length === 1;
    const block = await reader.read(shape, {
      ...base,
      symbols: [...symbols],
      limit: budget.readLimit(single ? perSymbol : undefined),
    });
    let result: BarSlice[];
    if (block.length <= budget.remaining) {
      const grouped = slicesBySymbol(block, symbols);
      result = symbols.map((s) => limitSlice(grouped.get(s)!, perSymbol));
    } else if (!single && perSymbol !== undefined) {
      // The batch overflowed, but each symbol only wants `limit` rows: Flight's limit is per
      // query, so ask per symbol.
      const blocks = await Promise.all(
        symbols.map((symbol) => reader.read(shape, { ...base, symbols: [symbol], limit: budget.readLimit(perSymbol) })),
      );
      result = symbols.map((s, i) => limitSlice(slicesBySymbol(blocks[i]!, [s]).get(s)!, perSymbol));
    } else {
      throw budget.exceeded();
    }
    budget.charge(result.reduce((n, slice) => n + sliceLength(slice), 0));
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
          .then((block) => block.length > 0);
        existence.set(key, answer);
      }
      return answer;
    },
  };
}
