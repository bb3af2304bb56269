/**
 * The Flight service in-process on port 0, driven by our FlightClient over real gRPC.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlightClient, FlightError, cmdDescriptor, pathDescriptor } from '@flightdeck/proto';
import { Schema } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { DatasetStore } from '../storage/dataset-store.js';
import { project } from '../storage/read/reader.js';
import { BARS_FIELDS, makeBars, price } from '../../test-support/bars.js';
import { startFlightServer, type RunningFlightServer } from './server.js';

let dir: string;
let server: RunningFlightServer;
let client: FlightClient;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fd-service-'));
  const config = loadConfig({ FLIGHT_PORT: '0', DATA_DIR: dir, LOG_LEVEL: 'silent', FLIGHT_MAX_MESSAGE_BYTES: String(8 * 1024 * 1024) });
  const logger = createLogger(config.logLevel);
  const store = await DatasetStore.open(config, logger);
  server = await startFlightServer({ config, store, logger });
  client = new FlightClient(server.url);
});

afterAll(async () => {
  client.close();
  await server.close(1000);
  await rm(dir, { recursive: true, force: true });
});

async function expectFlightError(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FlightError);
  expect((err as FlightError).code).toBe(code);
  expect((err as FlightError).message).toMatch(message);
}

describe('Flight service', () => {
  it('creates, puts, plans and reads a dataset through every endpoint', async () => {
    const created = await client.doActionJson<{ version: number }>('create_dataset', {
      name: 'bars',
      time_column: 'ts',
      key_columns: ['symbol'],
      partition: 'day',
      fields: BARS_FIELDS,
    });
    expect(created.version).toBe(0);
    const batches = [
      makeBars({ symbols: ['AAPL', 'MSFT'], start: '2024-01-02T09:30:00Z', minutes: 600 }),
      makeBars({ symbols: ['AAPL', 'MSFT'], start: '2024-01-03T09:30:00Z', minutes: 600 }),
    ];
    const put = await client.doPut(pathDescriptor('bars'), batches);
    expect(JSON.parse(Buffer.from(put.appMetadata).toString())).toEqual({
      rows: 2400,
      version: 1,
      partitions: ['date=2024-01-02', 'date=2024-01-03'],
    });
    const info = await client.getFlightInfo(pathDescriptor('bars'));
    expect(info.totalRecords).toBe(2400);
    expect(info.schema.fields.map((f) => f.name)).toEqual(['symbol', 'ts', 'open', 'high', 'low', 'close', 'volume']);
    let rows = 0;
    for (const e of info.endpoint) rows += (await client.readTable(e.ticket!.ticket)).numRows;
    expect(rows).toBe(2400);
  });

  it('answers a CMD query with filters, projection and limit', async () => {
    const query = { dataset: 'bars', symbols: ['MSFT'], start: '2024-01-03T10:00:00Z', end: '2024-01-03T10:03:00Z', columns: ['ts', 'close'] };
    const info = await client.getFlightInfo(cmdDescriptor(query));
    expect(info.schema.fields.map((f) => f.name)).toEqual(['ts', 'close']);
    const table = await client.readTable(info.endpoint[0]!.ticket!.ticket);
    expect(table.getChild('close')!.toArray()).toEqual(Float64Array.from([30, 31, 32], (m) => price(1, m) + 0.5));
    const limited = await client.readTable(JSON.stringify({ dataset: 'bars', limit: 2, columns: ['symbol'] }));
    expect(limited.getChild('symbol')!.toArray()).toEqual(['AAPL', 'AAPL']);
    expect((await client.getSchema(cmdDescriptor({ dataset: 'bars', columns: ['volume'] }))).fields.map((f) => f.name)).toEqual(['volume']);
  });

  it('maps faults to the contract statuses and keeps serving', async () => {
    await expectFlightError(client.getFlightInfo(pathDescriptor('nope')), 'NOT_FOUND', /dataset "nope" does not exist/);
    await expectFlightError(client.getFlightInfo(cmdDescriptor({ dataset: 'bars', columns: ['x'] })), 'INVALID_ARGUMENT', /unknown column "x"/);
    await expectFlightError(client.getFlightInfo(cmdDescriptor({ dataset: 'bars', colums: ['x'] })), 'INVALID_ARGUMENT', /unknown field "colums"/);
    await expectFlightError(client.readTable('garbage'), 'INVALID_ARGUMENT', /ticket/);
    await expectFlightError(client.doActionJson('create_dataset', { name: 'Bad-Name', time_column: 'ts' }), 'INVALID_ARGUMENT', /dataset name/);
    await expectFlightError(
      client.doActionJson('create_dataset', { name: 'bars', time_column: 'ts', key_columns: ['symbol'] }),
      'ALREADY_EXISTS',
      /already exists/,
    );
    await expectFlightError(client.doActionJson('no_such_action', {}), 'INVALID_ARGUMENT', /unknown action type "no_such_action"/);
    const wrong = makeBars({ symbols: ['AAPL'], start: '2024-01-04T00:00:00Z', minutes: 5 });
    await expectFlightError(
      client.doPut(pathDescriptor('bars'), [project(wrong, new Schema(wrong.schema.fields.filter((f) => f.name !== 'open')))]),
      'INVALID_ARGUMENT',
      /does not match dataset "bars"/,
    );
    // A message over the configured receive limit (8 MiB here).
    const big = makeBars({ symbols: ['AAPL'], start: '2024-02-01T00:00:00Z', minutes: 200_000 });
    const unsplit = new FlightClient(server.url, { putMessageBytes: 64 * 1024 * 1024 });
    await expectFlightError(unsplit.doPut(pathDescriptor('bars'), [big]), 'RESOURCE_EXHAUSTED', /./);
    unsplit.close();
    expect((await client.doActionJson<{ version: number }>('describe_dataset', { name: 'bars' })).version).toBe(1);
    const health = await client.doActionJson<{ status: string }>('health', {});
    expect(health.status).toBe('ok');
    expect((await client.doActionJson<{ version: number; rows: number }>('describe_dataset', { name: 'bars' })).rows).toBe(2400);
  });

  it('handshakes without credentials configured and lists flights and actions', async () => {
    const token = await client.handshake('anyone', 'anything');
    expect(token.length).toBeGreaterThan(10);
    const names: string[] = [];
    for await (const info of client.listFlights()) names.push(info.flightDescriptor!.path[0]!);
    expect(names).toContain('bars');
    expect((await client.listActions()).map((a) => a.type)).toEqual(expect.arrayContaining(['create_dataset', 'describe_dataset', 'health']));
  });
});
