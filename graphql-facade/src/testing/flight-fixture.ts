/**
 * Test fixture: a real Flight server in-process on port 0 over a temp DATA_DIR, a FlightClient
 * wrapper that records every call, and deterministic bars.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, DatasetStore, loadConfig, startFlightServer } from '@flightdeck/flight-server';
import { BARS_FIELDS } from '@flightdeck/flight-server/testing';
import { FlightClient, pathDescriptor } from '@flightdeck/proto';
import { Field, Float64, Int64, makeData, RecordBatch, Schema, Struct, Timestamp, TimeUnit, Utf8, vectorFromArray } from 'apache-arrow';
import type { FlightPort } from '../flight-port.js';

export interface FlightFixture {
  url: string;
  client: FlightClient;
  close(): Promise<void>;
}

export async function startFlightFixture(): Promise<FlightFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'fd-facade-'));
  const config = loadConfig({ FLIGHT_PORT: '0', DATA_DIR: dir, LOG_LEVEL: 'silent' });
  const logger = createLogger(config.logLevel);
  const store = await DatasetStore.open(config, logger);
  const server = await startFlightServer({ config, store, logger });
  const client = new FlightClient(server.url);
  return {
    url: server.url,
    client,
    close: async () => {
      client.close();
      await server.close(1000);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Every call the facade made, with the query JSON of each DoGet ticket. */
export interface CallRecorder {
  port: FlightPort;
  calls: { call: 'DoGet' | 'DoAction' | 'ListFlights'; detail: unknown }[];
  doGets(): Record<string, unknown>[];
  /** Each DoGet since the last reset with when it started and ended, in one sequence of events. */
  doGetSpans(): { query: Record<string, unknown>; started: number; ended: number | null }[];
  reset(): void;
}

export function recordCalls(client: FlightClient): CallRecorder {
  const calls: CallRecorder['calls'] = [];
  let spans: ReturnType<CallRecorder['doGetSpans']> = [];
  let events = 0;
  const port: FlightPort = {
    readTable: (ticket) => {
      const query = JSON.parse(String(ticket)) as Record<string, unknown>;
      calls.push({ call: 'DoGet', detail: query });
      const span = { query, started: events++, ended: null as number | null };
      spans.push(span);
      return client.readTable(ticket).finally(() => {
        span.ended = events++;
      });
    },
    doActionJson: (type, body) => {
      calls.push({ call: 'DoAction', detail: { type, body } });
      return client.doActionJson(type, body);
    },
    listFlights: (expression) => {
      calls.push({ call: 'ListFlights', detail: null });
      return client.listFlights(expression);
    },
  };
  return {
    port,
    calls,
    doGets: () => calls.filter((c) => c.call === 'DoGet').map((c) => c.detail as Record<string, unknown>),
    doGetSpans: () => spans,
    reset: () => {
      calls.splice(0);
      spans = [];
    },
  };
}

const barSchema = new Schema([
  new Field('symbol', new Utf8(), false),
  new Field('ts', new Timestamp(TimeUnit.NANOSECOND, 'UTC'), false),
  new Field('open', new Float64(), true),
  new Field('high', new Float64(), true),
  new Field('low', new Float64(), true),
  new Field('close', new Float64(), true),
  new Field('volume', new Int64(), true),
]);

export interface FixtureBar {
  symbol: string;
  ts: bigint;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/** Bars every `stepNs` from `start` (epoch ns), `count` per symbol; values derive from symbol index and step. */
export function makeBars(symbols: string[], start: bigint, stepNs: bigint, count: number): FixtureBar[] {
  const bars: FixtureBar[] = [];
  symbols.forEach((symbol, s) => {
    for (let i = 0; i < count; i++) {
      const p = 100 + s * 50 + (i % 37) * 0.5;
      bars.push({ symbol, ts: start + BigInt(i) * stepNs, open: p, high: p + 2, low: p - 1, close: p + 0.5, volume: 1000 + i });
    }
  });
  return bars;
}

export function barsBatch(bars: FixtureBar[]): RecordBatch {
  const n = bars.length;
  const children = [
    vectorFromArray(bars.map((b) => b.symbol), new Utf8()).data[0]!,
    makeData({ type: barSchema.fields[1]!.type, length: n, data: BigInt64Array.from(bars.map((b) => b.ts)) } as never),
    makeData({ type: new Float64(), length: n, data: Float64Array.from(bars.map((b) => b.open)) }),
    makeData({ type: new Float64(), length: n, data: Float64Array.from(bars.map((b) => b.high)) }),
    makeData({ type: new Float64(), length: n, data: Float64Array.from(bars.map((b) => b.low)) }),
    makeData({ type: new Float64(), length: n, data: Float64Array.from(bars.map((b) => b.close)) }),
    makeData({ type: new Int64(), length: n, data: BigInt64Array.from(bars.map((b) => BigInt(b.volume))) }),
  ];
  return new RecordBatch(barSchema, makeData({ type: new Struct(barSchema.fields), length: n, nullCount: 0, children }));
}

export async function createBarsDataset(client: FlightClient, name: string, partition: string, bars: FixtureBar[]): Promise<void> {
  await client.doActionJson('create_dataset', { name, time_column: 'ts', key_columns: ['symbol'], partition, fields: BARS_FIELDS });
  if (bars.length > 0) await client.doPut(pathDescriptor(name), [barsBatch(bars)]);
}

export const NS_PER_MINUTE = 60_000_000_000n;
export const NS_PER_DAY = 86_400_000_000_000n;

export function ns(iso: string): bigint {
  return BigInt(Date.parse(iso)) * 1_000_000n;
}

export function iso(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString();
}
