/**
 * Query-to-ticket planning for bars: one Flight DoGet per call, with the query JSON as the ticket
 * (the contract accepts a query as a ticket, which saves the GetFlightInfo round trip).
 */
import type { Logger } from 'pino';
import { FlightError } from '@flightdeck/proto';
import { barColumns, barShape, blockOfTable, EMPTY_BLOCK, type BarBlock, type BarShape } from './bar-block.js';
import type { DatasetCatalog } from './dataset-catalog.js';
import { serializeQuery } from '@flightdeck/contract';
import type { FlightPort } from './flight-port.js';

export interface BarRead {
  symbols: string[];
  /** ISO-8601 strings as Flight takes them. */
  start?: string;
  end?: string;
  interval?: string;
  limit?: number;
  /** Read only the key column (existence checks). */
  keyOnly?: boolean;
}

export class BarReader {
  constructor(
    private readonly flight: FlightPort,
    private readonly catalog: DatasetCatalog,
    private readonly log: Logger,
  ) {}

  async shape(dataset: string): Promise<BarShape> {
    return barShape(await this.catalog.describe(dataset));
  }

  /** One DoGet; rows come ordered by key then time, converted to columns once. */
  async read(shape: BarShape, read: BarRead): Promise<BarBlock> {
    if (!shape.hasSchema) return EMPTY_BLOCK;
    const ticket = serializeQuery({
      dataset: shape.dataset,
      symbols: read.symbols,
      columns: read.keyOnly ? [shape.keyColumn, shape.timeColumn] : barColumns(shape),
      start: read.start,
      end: read.end,
      interval: read.interval,
      limit: read.limit,
    });
    const started = performance.now();
    try {
      const table = await this.flight.readTable(ticket);
      const block = blockOfTable(table, shape);
      this.log.debug(
        { flightCall: 'DoGet', dataset: shape.dataset, symbols: read.symbols.length, rows: block.length, durationMs: elapsed(started) },
        'flight read',
      );
      return block;
    } catch (err) {
      if (err instanceof FlightError && (err.code === 'NOT_FOUND' || err.code === 'INVALID_ARGUMENT')) {
        this.catalog.invalidate(shape.dataset);
      }
      throw err;
    }
  }
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}
