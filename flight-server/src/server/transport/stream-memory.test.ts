/**
 * Memory held by DoGet streams (issue 16): stalled readers of a query JSON used as a ticket (one
 * stream merging every partition) hold a bounded window each, the server-wide budget
 * (FLIGHT_STREAM_MEMORY_MB) accounts for every open stream and refuses beyond it, and everything
 * is released once the readers go.
 */
import { EventEmitter } from 'node:events';
import { connect } from 'node:http2';
import { FlightError } from '@flightdeck/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.js';
import { encodeRequest } from '../../../test-support/raw-flight-calls.js';
import { StreamMemoryBudget, type StreamMemoryLease } from './stream-memory.js';
import { parseMetrics, seedBars, startTestServer, type TestServer } from '../../../test-support/test-fixture.js';

const MiB = 1024 * 1024;
/** What the README states one DoGet stream holds at most: 8 MiB unflushed plus an 8 MiB read window. */
const PER_STREAM_BYTES = 16 * MiB;
const DOGET = '/arrow.flight.protocol.FlightService/DoGet';
/** Every partition in one stream: the files interleave by key, so they are merged as they stream. */
const TICKET = '{"dataset":"bars"}';
const READERS = 8;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface StalledReader {
  /** Resolves once the reader has some of the first record batch (the server did its first round). */
  started: Promise<void>;
  close(): void;
}

/**
 * A DoGet on its own HTTP/2 connection that takes the first 32 KiB and then stops reading, like a
 * client that reads one batch and sleeps: the server can send no more than the flow-control window.
 */
function stalledReader(t: TestServer, ticket: string): StalledReader {
  const session = connect(`http://${t.server.url.replace('grpc://', '')}`);
  session.on('error', () => undefined);
  const req = session.request({ ':method': 'POST', ':path': DOGET, 'content-type': 'application/grpc', te: 'trailers' });
  req.on('error', () => undefined);
  const msg = encodeRequest('DoGet', { ticket: Buffer.from(ticket) });
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(msg.length, 1);
  req.end(Buffer.concat([prefix, msg]));
  const started = new Promise<void>((resolve, reject) => {
    let received = 0;
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received < 32 * 1024) return;
      req.off('data', onData);
      req.pause();
      resolve();
    };
    req.on('data', onData);
    req.on('close', () => reject(new Error(`the DoGet ended after ${received} bytes`)));
  });
  started.catch(() => undefined);
  return {
    started,
    close: () => {
      req.close();
      session.close();
    },
  };
}

describe('memory held by DoGet streams', () => {
  let t: TestServer;
  let rows: number;
  const symbols = Array.from({ length: 40 }, (_, i) => `S${String(i).padStart(2, '0')}`);

  beforeAll(async () => {
    // No hot cache: every stream decodes for itself, so what a stream holds is its own.
    t = await startTestServer({ METRICS_PORT: '0', CACHE_MB: '0', FLIGHT_STREAM_MEMORY_MB: '160', FLIGHT_STREAM_MEMORY_WAIT_MS: '1000' });
    // 7 day partitions of 57,600 rows (about 3 MiB decoded each): 403,200 rows.
    rows = await seedBars(t.client(), 'bars', { symbols, days: 7, minutes: 1440 });
  }, 120_000);
  afterAll(() => t.stop());

  const metrics = async () => parseMetrics(await (await fetch(`http://127.0.0.1:${t.server.metricsPort}/metrics`)).text());

  /** Polls (at most `tries` × 100 ms) until `done` holds; returns the last metrics read. */
  async function settle(done: (m: Map<string, number>) => boolean, tries = 50): Promise<Map<string, number>> {
    let m = await metrics();
    for (let i = 0; i < tries && !done(m); i++) {
      await sleep(100);
      m = await metrics();
    }
    return m;
  }

  it('stalled readers of a whole-dataset ticket hold a bounded window each; a fast reader is served; all is released when they go', async () => {
    // Warm up the read path once, so the baseline already holds what any first read leaves behind.
    expect((await t.client().readTable(TICKET)).numRows).toBe(rows);
    const baseline = process.memoryUsage().rss;

    const readers = Array.from({ length: READERS }, () => stalledReader(t, TICKET));
    try {
      await Promise.all(readers.map((r) => r.started));
      let peak = process.memoryUsage().rss;
      for (let i = 0; i < 10; i++) {
        await sleep(100);
        peak = Math.max(peak, process.memoryUsage().rss);
      }
      // Generous: each stream may hold its bound, plus slack for the test's own allocations.
      const growth = peak - baseline;
      expect(growth, `RSS grew ${(growth / MiB).toFixed(0)} MiB with ${READERS} stalled readers`).toBeLessThan(READERS * PER_STREAM_BYTES + 64 * MiB);

      // What the store's reads hold right now: a window of each file per stream, not row groups.
      const held = t.store.readWindowStats();
      expect(held.heldBytes, JSON.stringify(held)).toBeGreaterThan(0);
      expect(held.heldBytes, JSON.stringify(held)).toBeLessThanOrEqual(READERS * 8 * MiB);

      // The server-wide budget accounts for every open stream.
      const reserved = (await metrics()).get('flightdeck_doget_memory_bytes') ?? -1;
      expect(reserved).toBeGreaterThan(0);
      expect(reserved).toBeLessThanOrEqual(READERS * PER_STREAM_BYTES);

      // A reader that keeps reading gets every row, in key/time order, meanwhile.
      const table = await t.client().readTable(TICKET);
      expect(table.numRows).toBe(rows);
      const symbol = table.getChild('symbol')!;
      expect([symbol.get(0), symbol.get(rows - 1)]).toEqual([symbols[0], symbols.at(-1)]);
    } finally {
      readers.forEach((r) => r.close());
    }

    const m = await settle(
      (x) => x.get('flightdeck_flight_open_calls{call="DoGet"}') === 0 && x.get('flightdeck_doget_memory_bytes') === 0 && t.store.readWindowStats().heldBytes === 0,
    );
    expect(m.get('flightdeck_flight_open_calls{call="DoGet"}')).toBe(0);
    expect(m.get('flightdeck_doget_memory_bytes')).toBe(0);
    expect(m.get('flightdeck_doget_memory_waiting')).toBe(0);
    expect(t.store.readWindowStats().heldBytes).toBe(0);
  }, 90_000);

  it('beyond FLIGHT_STREAM_MEMORY_MB a DoGet waits for memory, and is refused with RESOURCE_EXHAUSTED naming the limit after FLIGHT_STREAM_MEMORY_WAIT_MS', async () => {
    // 160 MiB is 10 streams of 16 MiB.
    const readers = Array.from({ length: 10 }, () => stalledReader(t, TICKET));
    try {
      await Promise.all(readers.map((r) => r.started));
      expect((await metrics()).get('flightdeck_doget_memory_bytes')).toBe(160 * MiB);

      const refused = await t
        .client()
        .readTable(TICKET)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(refused).toBeInstanceOf(FlightError);
      expect((refused as FlightError).code).toBe('RESOURCE_EXHAUSTED');
      expect((refused as FlightError).message).toMatch(/FLIGHT_STREAM_MEMORY_MB=160/);

      // A reader that waits gets its turn as soon as another stream ends.
      const waiting = t.client().readTable(TICKET);
      const queued = await settle((x) => x.get('flightdeck_doget_memory_waiting') === 1, 20);
      expect(queued.get('flightdeck_doget_memory_waiting')).toBe(1);
      readers.pop()!.close();
      expect((await waiting).numRows).toBe(rows);
    } finally {
      readers.forEach((r) => r.close());
    }
    const m = await settle((x) => x.get('flightdeck_flight_open_calls{call="DoGet"}') === 0 && x.get('flightdeck_doget_memory_bytes') === 0);
    expect(m.get('flightdeck_doget_memory_bytes')).toBe(0);
  }, 60_000);
});

/** A call as the budget sees it: cancellable, with an optional deadline. */
class FakeCall extends EventEmitter {
  cancelled = false;
  constructor(private readonly deadline: number = Infinity) {
    super();
  }
  getDeadline(): number {
    return this.deadline;
  }
  cancel(): void {
    this.cancelled = true;
    this.emit('cancelled');
  }
}

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as FlightError,
  );

describe('StreamMemoryBudget', () => {
  it('grants while reservations fit, then in arrival order as streams end; release is idempotent', async () => {
    const budget = new StreamMemoryBudget(100, 10_000);
    const a = await budget.acquire(60, new FakeCall());
    const b = await budget.acquire(40, new FakeCall());
    const granted: string[] = [];
    const c = budget.acquire(50, new FakeCall()).then((l) => (granted.push('c'), l));
    const d = budget.acquire(10, new FakeCall()).then((l) => (granted.push('d'), l));
    expect(budget.stats()).toEqual({ reservedBytes: 100, limitBytes: 100, waiting: 2 });
    a.release();
    a.release();
    const [lc, ld] = await Promise.all([c, d]);
    // d fitted as soon as c did, but never overtook it.
    expect(granted).toEqual(['c', 'd']);
    expect(budget.stats()).toEqual({ reservedBytes: 100, limitBytes: 100, waiting: 0 });
    for (const l of [b, lc, ld] as StreamMemoryLease[]) l.release();
    expect(budget.stats().reservedBytes).toBe(0);
  });

  it('refuses at once a stream needing more than the whole budget, naming the limit', async () => {
    const budget = new StreamMemoryBudget(32 * MiB, 10_000);
    const err = await refusal(budget.acquire(33 * MiB, new FakeCall()));
    expect(err?.code).toBe('RESOURCE_EXHAUSTED');
    expect(err?.message).toMatch(/FLIGHT_STREAM_MEMORY_MB=32/);
    expect(budget.stats()).toEqual({ reservedBytes: 0, limitBytes: 32 * MiB, waiting: 0 });
  });

  it('refuses after FLIGHT_STREAM_MEMORY_WAIT_MS, or at the deadline, and stops waiting when the call is cancelled', async () => {
    const budget = new StreamMemoryBudget(16 * MiB, 150);
    const held = await budget.acquire(16 * MiB, new FakeCall());
    const waited = await refusal(budget.acquire(MiB, new FakeCall()));
    expect(waited?.code).toBe('RESOURCE_EXHAUSTED');
    expect(waited?.message).toMatch(/FLIGHT_STREAM_MEMORY_MB=16.*FLIGHT_STREAM_MEMORY_WAIT_MS=150/);
    const late = await refusal(budget.acquire(MiB, new FakeCall(Date.now() + 50)));
    expect(late?.code).toBe('DEADLINE_EXCEEDED');
    const call = new FakeCall();
    const cancelled = refusal(budget.acquire(MiB, call));
    // The one behind the cancelled waiter is not held back by it.
    const behind = budget.acquire(MiB, new FakeCall());
    expect(budget.stats().waiting).toBe(2);
    call.cancel();
    expect((await cancelled)?.code).toBe('CANCELLED');
    expect(budget.stats().waiting).toBe(1);
    held.release();
    (await behind).release();
    expect(budget.stats()).toEqual({ reservedBytes: 0, limitBytes: 16 * MiB, waiting: 0 });
  });

  it('counts but never refuses with no limit, and is configured by FLIGHT_STREAM_MEMORY_MB', async () => {
    const budget = new StreamMemoryBudget(0, 0);
    const leases = await Promise.all([1, 2, 3].map(() => budget.acquire(1024 * MiB, new FakeCall())));
    expect(budget.stats().reservedBytes).toBe(3 * 1024 * MiB);
    leases.forEach((l) => l.release());
    expect(loadConfig({}).streamMemoryBytes).toBe(1024 * MiB);
    expect(loadConfig({ FLIGHT_STREAM_MEMORY_MB: '0' }).streamMemoryBytes).toBe(0);
    expect(loadConfig({ FLIGHT_STREAM_MEMORY_WAIT_MS: '500' }).streamMemoryWaitMs).toBe(500);
    expect(() => loadConfig({ FLIGHT_STREAM_MEMORY_MB: '8' })).toThrow(/FLIGHT_STREAM_MEMORY_MB=8 must be 0 \(unlimited\) or at least 16/);
  });
});
