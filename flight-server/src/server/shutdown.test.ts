/**
 * Graceful shutdown (close(graceMs)): DoPuts still receiving are aborted with nothing committed,
 * running DoGets finish within the grace period or are cut at its end.
 */
import { connect, constants } from 'node:http2';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FlightError, pathDescriptor } from '@flightdeck/proto';
import type { RecordBatch } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { DatasetStore } from '../storage/dataset-store.js';
import { makeBars } from '../../test-support/bars.js';
import { encodeRequest } from '../../test-support/raw-flight-calls.js';
import { listFiles, seedBars, startTestServer } from '../../test-support/test-fixture.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


describe('shutdown', () => {
  it('aborts a DoPut still receiving: the client gets UNAVAILABLE and nothing is committed', async () => {
    const t = await startTestServer();
    await seedBars(t.client(), 'bars');
    const before = await listFiles(join(t.dir, 'bars'));
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    let sent = 0;
    async function* batches(): AsyncGenerator<RecordBatch> {
      for (let d = 0; d < 3; d++) {
        yield makeBars({ symbols: ['NEW'], start: `2024-02-0${d + 1}T09:30:00Z`, minutes: 390 });
        sent++;
      }
      await hold;
    }
    const put = t.client().doPut(pathDescriptor('bars'), batches());
    put.catch(() => undefined);
    while (sent < 3) await sleep(20);
    await sleep(100);
    const started = performance.now();
    await t.server.close(5000);
    expect(performance.now() - started).toBeLessThan(3000);
    const err = await put.then(
      () => undefined,
      (e: unknown) => e,
    );
    release();
    expect(err).toBeInstanceOf(FlightError);
    expect((err as FlightError).code).toBe('UNAVAILABLE');
    expect((err as FlightError).message).toMatch(/shutting down.*nothing of it was committed/);

    const reopened = await DatasetStore.open(t.config, createLogger('silent'));
    const d = await reopened.describe('bars');
    expect({ version: d.version, rows: d.rows }).toEqual({ version: 1, rows: 780 });
    expect(await listFiles(join(t.dir, 'bars'))).toEqual(before);
    await rm(t.dir, { recursive: true, force: true });
  });

  it('lets a running DoGet finish within the grace period', async () => {
    const t = await startTestServer({ FLIGHT_BATCH_ROWS: '1000' });
    const rows = await seedBars(t.client(), 'bars', { symbols: ['A', 'B', 'C', 'D'], days: 10 });
    const reader = t.client().doGet('{"dataset":"bars"}');
    let read = 0;
    let closing: Promise<void> | undefined;
    const started = performance.now();
    for await (const batch of reader) {
      read += batch.numRows;
      if (closing === undefined) closing = t.server.close(10_000);
      await sleep(20); // a slow but steady reader
    }
    expect(read).toBe(rows);
    await closing;
    expect(performance.now() - started).toBeLessThan(10_000);
    await expect(t.client().listActions()).rejects.toBeInstanceOf(FlightError);
    await rm(t.dir, { recursive: true, force: true });
  });

  it('cuts a DoGet whose reader stalls when the grace period ends', async () => {
    const t = await startTestServer({ FLIGHT_ROW_GROUP_ROWS: '1024' });
    await seedBars(t.client(), 'ticks', { symbols: ['T'], minutes: 200_000, keyColumns: [], partition: 'month' });
    const session = connect(`http://${t.server.url.replace('grpc://', '')}`);
    session.on('error', () => undefined);
    const req = session.request({ ':method': 'POST', ':path': '/arrow.flight.protocol.FlightService/DoGet', 'content-type': 'application/grpc', te: 'trailers' });
    req.on('error', () => undefined);
    const msg = encodeRequest('DoGet', { ticket: Buffer.from('{"dataset":"ticks"}') });
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(msg.length, 1);
    req.end(Buffer.concat([prefix, msg]));
    await new Promise<void>((resolve) => req.once('data', () => resolve()));
    req.pause();
    const closed = new Promise<void>((resolve) => req.on('close', () => resolve()));
    await sleep(200);
    const started = performance.now();
    await t.server.close(500);
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(450);
    expect(took).toBeLessThan(3000);
    await closed; // the stream was cut: reset (CANCEL), not left to the connection's end
    expect(req.rstCode).toBe(constants.NGHTTP2_CANCEL);
    session.destroy();
    await rm(t.dir, { recursive: true, force: true });
  });
});
