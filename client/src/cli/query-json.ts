/** The contract's query JSON from `get` and `delete-range` flags (`--from`, `--to`, `--as-of`). */
import { serializeQuery } from '@flightdeck/contract';

export interface QueryFlags {
  dataset: string;
  symbols?: string[];
  from?: string;
  to?: string;
  columns?: string[];
  interval?: string;
  limit?: number;
  asOf?: number;
}

export function queryJson(q: QueryFlags): string {
  return serializeQuery({
    dataset: q.dataset,
    symbols: q.symbols,
    start: q.from,
    end: q.to,
    columns: q.columns,
    interval: q.interval,
    limit: q.limit,
    as_of: q.asOf,
  });
}
