/**
 * LocationReader against small in-process Flight servers on 127.0.0.1: one that serves every
 * ticket whole, one that breaks each stream with UNAVAILABLE after its first batches (a replica
 * going away mid-stream), one that refuses with NOT_FOUND. Endpoints are read in order, at most
 * `concurrency` at once, and a broken endpoint is read again from the next location with the rows
 * already delivered skipped: no row twice, none lost.
 */
import { once } from 'node:events';
import { Server, ServerCredentials, type ServerWritableStream } from '@grpc/grpc-js';
import { Table, makeTable, type RecordBatch } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlightClient } from './client.js';
import { FlightError, toServiceError } from './errors.js';
import { encodeFlightData } from './encode.js';
import { LocationReader, type FailoverEvent } from './location-reader.js';
import type { FlightData, FlightEndpoint, Ticket } from './messages.js';
import { flightServiceDefinition } from './service-definition.js';

/** Endpoint `n`'s rows: 8 batches of 100 rows, values n*1000 + 0..799. */
function endpointBatches(n: number): RecordBatch[] {
  const t = makeTable({ v: Int32Array.from({ length: 800 }, (_, i) => n * 1000 + i) });
  const out: RecordBatch[] = [];
  for (let i = 0; i < 8; i++) out.push(...new Table(t.slice(i * 100, (i + 1) * 100)).batches);
  return out;
}

type Mode = 'whole' | 'breaks' | 'not-found';

interface TestServer {
  url: string;
  server: Server;
  calls: number;
  open: number;
  maxOpen: number;
}

async function startServer(mode: Mode): Promise<TestServer> {
  const server = new Server();
  const state: TestServer = { url: '', server, calls: 0, open: 0, maxOpen: 0 };
  server.addService(flightServiceDefinition, {
    DoGet(call: ServerWritableStream<Ticket, FlightData>) {
      state.calls++;
      state.open++;
      state.maxOpen = Math.max(state.maxOpen, state.open);
      const n = Number(call.request.ticket.toString('utf8'));
      void (async () => {
        try {
          if (mode === 'not-found') throw new FlightError('NOT_FOUND', `no endpoint ${n} here`);
          // Slow enough that several endpoints' streams overlap.
          await new Promise((r) => setTimeout(r, 30));
          let sent = 0;
          for await (const message of encodeFlightData(endpointBatches(n))) {
            if (mode === 'breaks' && sent++ === 4) throw new FlightError('UNAVAILABLE', 'replica going away');
            if (!call.write(message)) await once(call, 'drain');
          }
          call.end();
        } catch (err) {
          call.emit('error', toServiceError(err));
        } finally {
          state.open--;
        }
      })();
    },
  } as never);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  state.url = `grpc://127.0.0.1:${port}`;
  return state;
}

let whole: TestServer;
let breaks: TestServer;
let notFound: TestServer;
let home: FlightClient;

beforeAll(async () => {
  [whole, breaks, notFound] = await Promise.all([startServer('whole'), startServer('breaks'), startServer('not-found')]);
  home = new FlightClient(whole.url);
});
afterAll(() => {
  home.close();
  for (const s of [whole, breaks, notFound]) s.server.forceShutdown();
});

const endpoint = (n: number, ...urls: string[]): FlightEndpoint => ({ ticket: { ticket: Buffer.from(String(n)) }, location: urls.map((uri) => ({ uri })) });

async function readValues(reader: LocationReader, endpoints: FlightEndpoint[]): Promise<number[]> {
  const values: number[] = [];
  for await (const b of reader.batches({ endpoint: endpoints })) for (const v of b.getChild('v')!) values.push(v as number);
  return values;
}

const expected = (...ns: number[]) => ns.flatMap((n) => Array.from({ length: 800 }, (_, i) => n * 1000 + i));

describe('LocationReader', () => {
  it('reads each endpoint from its first location, in order, at most `concurrency` at once', async () => {
    const reader = new LocationReader(home, { concurrency: 2 });
    whole.maxOpen = 0;
    try {
      expect(await readValues(reader, [0, 1, 2, 3, 4, 5].map((n) => endpoint(n, whole.url, breaks.url)))).toEqual(expected(0, 1, 2, 3, 4, 5));
    } finally {
      reader.close();
    }
    expect(whole.maxOpen).toBe(2);
  });

  it('an endpoint broken mid-stream by UNAVAILABLE is read again from the next location, skipping the rows delivered: no row twice, none lost', async () => {
    const failovers: FailoverEvent[] = [];
    const reader = new LocationReader(home, { concurrency: 3, onFailover: (e) => failovers.push(e) });
    const before = breaks.calls;
    try {
      const values = await readValues(reader, [endpoint(0, breaks.url, whole.url), endpoint(1, whole.url, breaks.url), endpoint(2, breaks.url, whole.url)]);
      expect(values).toEqual(expected(0, 1, 2));
    } finally {
      reader.close();
    }
    expect(breaks.calls - before).toBe(2);
    expect(failovers.map((f) => [f.endpoint, f.location, f.error.code])).toEqual([
      [0, breaks.url, 'UNAVAILABLE'],
      [2, breaks.url, 'UNAVAILABLE'],
    ]);
    // The broken streams had delivered 3 batches (the schema, then 3 of 100 rows): skipped on the retry.
    expect(failovers.map((f) => f.deliveredRows)).toEqual([300, 300]);
  });

  it('an endpoint with no location is read from the client’s own server', async () => {
    const reader = new LocationReader(home);
    try {
      expect(await readValues(reader, [endpoint(7), endpoint(8, 'arrow-flight-reuse-connection://?')])).toEqual(expected(7, 8));
    } finally {
      reader.close();
    }
  });

  it('every location UNAVAILABLE: UNAVAILABLE naming each; another error is not failed over', async () => {
    const reader = new LocationReader(home);
    try {
      const err = await readValues(reader, [endpoint(0, breaks.url, breaks.url)]).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(FlightError);
      expect((err as FlightError).code).toBe('UNAVAILABLE');
      expect((err as FlightError).message).toBe(`endpoint 0: every location failed (${breaks.url}: replica going away; ${breaks.url}: replica going away)`);
      await expect(readValues(reader, [endpoint(3, notFound.url, whole.url)])).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'no endpoint 3 here' });
    } finally {
      reader.close();
    }
  });

  it('stopping early cancels the reads still running', async () => {
    const reader = new LocationReader(home, { concurrency: 3, bufferBatches: 2 });
    try {
      const it = reader.batches({ endpoint: [endpoint(0, whole.url), endpoint(1, whole.url), endpoint(2, whole.url)] });
      const first = await it.next();
      expect(first.done).toBe(false);
      await it.return(undefined);
    } finally {
      reader.close();
    }
    // Stopped early, every stream was cancelled or ended: none is left open.
    await new Promise((r) => setTimeout(r, 200));
    expect(whole.open).toBe(0);
  });

  it('refuses a concurrency or buffer below 1', () => {
    expect(() => new LocationReader(home, { concurrency: 0 })).toThrow('concurrency must be an integer >= 1, not 0');
    expect(() => new LocationReader(home, { bufferBatches: 0 })).toThrow('bufferBatches must be an integer >= 1, not 0');
  });
});
