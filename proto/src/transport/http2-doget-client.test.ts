/**
 * DoGet over node:http2 against a real gRPC server we did not frame ourselves (grpc-js), beside the
 * grpc-js client path: same batches, same errors. flightdeck's own server is covered in
 * test/src/http2-doget-client.test.ts.
 */
import { once } from 'node:events';
import { Server, ServerCredentials, type ServerWritableStream } from '@grpc/grpc-js';
import {
  Dictionary,
  Float64,
  Int32,
  Int64,
  RecordBatch,
  Table,
  TimeUnit,
  Timestamp,
  Utf8,
  vectorFromArray,
} from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlightClient } from '../client.js';
import { encodeFlightData } from '../encode.js';
import { FlightError, toServiceError } from '../errors.js';
import type { FlightData, Ticket } from '../messages.js';
import { flightServiceDefinition } from '../service-definition.js';

function table(rows: number, offset = 0): Table {
  const idx = Array.from({ length: rows }, (_, i) => i + offset);
  return new Table({
    symbol: vectorFromArray(
      idx.map((i) => (i % 13 === 0 ? null : ['AAPL', 'MSFT', 'GOOG'][i % 3]!)),
      new Dictionary(new Utf8(), new Int32()),
    ),
    ts: vectorFromArray(
      idx.map((i) => (i % 17 === 0 ? null : 1_704_067_200_000 + i * 60_000)),
      new Timestamp(TimeUnit.MILLISECOND, 'UTC'),
    ),
    qty: vectorFromArray(
      idx.map((i) => (i % 11 === 0 ? null : BigInt(i))),
      new Int64(),
    ),
    close: vectorFromArray(
      idx.map((i) => i / 4),
      new Float64(),
    ),
    note: vectorFromArray(
      idx.map((i) => (i % 5 === 0 ? null : `row ${i}`)),
      new Utf8(),
    ),
  });
}

interface Served {
  written: number;
  cancelled: boolean;
}

/** A grpc-js Flight server whose DoGet behaviour the ticket picks. */
function createServer(tables: Map<string, Table>, served: Map<string, Served>): Server {
  const server = new Server({ 'grpc.max_send_message_length': 256 * 1024 * 1024 });
  const unimplemented = (_call: unknown, callback?: (err: unknown) => void) =>
    callback?.(toServiceError(new FlightError('UNIMPLEMENTED', 'not here')));
  const handlers = Object.fromEntries(Object.keys(flightServiceDefinition).map((name) => [name, unimplemented]));
  server.addService(flightServiceDefinition, {
    ...handlers,
    DoGet(call: ServerWritableStream<Ticket, FlightData>) {
      const [name = '', mode = ''] = call.request.ticket.toString('utf8').split(':');
      const state: Served = { written: 0, cancelled: false };
      served.set(call.request.ticket.toString('utf8'), state);
      call.on('cancelled', () => {
        state.cancelled = true;
      });
      const source = tables.get(name);
      if (source === undefined) {
        call.emit('error', toServiceError(new FlightError('NOT_FOUND', `dataset '${name}' not found: ünïcode % ok`)));
        return;
      }
      void (async () => {
        for await (const message of encodeFlightData(source.batches, { schema: source.schema })) {
          if (call.cancelled) return;
          state.written++;
          if (!call.write(message)) await once(call, 'drain');
        }
        if (mode === 'fail') throw new FlightError('INVALID_ARGUMENT', "column 'qty' went bad mid-stream");
        if (mode === 'hang') return; // never ends: the client's deadline must
        call.end();
      })().catch((err: unknown) => call.emit('error', toServiceError(err)));
    },
  });
  return server;
}

const rows = (t: Table | RecordBatch[]) =>
  (Array.isArray(t) ? new Table(t) : t).toArray().map((r) => JSON.stringify(r.toJSON(), (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));

describe('FlightClient.doGet over node:http2 against a grpc-js server', () => {
  const tables = new Map<string, Table>();
  const served = new Map<string, Served>();
  const server = createServer(tables, served);
  let url = '';
  let fast: FlightClient;
  let slow: FlightClient;

  beforeAll(async () => {
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    url = `grpc://127.0.0.1:${port}`;
    fast = new FlightClient(url);
    slow = new FlightClient(url, { doGetTransport: 'grpc-js' });
    tables.set('small', table(1000));
    // Batches of ~2.5 MB: each message spans over a hundred HTTP/2 DATA frames.
    const big = table(60_000).batches[0]!;
    tables.set('big', new Table([big, big]));
    // Many 1 MB messages, for backpressure.
    const batch = table(25_000).batches[0]!;
    tables.set('many', new Table(Array.from({ length: 200 }, () => batch)));
  });

  afterAll(() => {
    fast.close();
    slow.close();
    server.forceShutdown();
  });

  it('reads the same rows and types as the grpc-js path: dictionaries, nulls, timestamps, multi-frame batches', async () => {
    for (const name of ['small', 'big']) {
      const [a, b] = await Promise.all([fast.readTable(name), slow.readTable(name)]);
      expect(a.schema.fields.map((f) => `${f.name}:${String(f.type)}:${f.nullable}`)).toEqual(
        b.schema.fields.map((f) => `${f.name}:${String(f.type)}:${f.nullable}`),
      );
      expect(a.numRows).toBe(tables.get(name)!.numRows);
      expect(rows(a)).toEqual(rows(b));
      expect(rows(a)).toEqual(rows(tables.get(name)!));
    }
  }, 60_000);

  it('gives the Arrow buffers of large batches 8-byte aligned views, not copies', async () => {
    for await (const batch of fast.doGet('big')) {
      const close = batch.getChild('close')!.data[0]!.values;
      expect(close.byteOffset % 8).toBe(0);
      expect(close.buffer.byteLength).toBeGreaterThan(close.byteLength * 2); // a view of the whole message
    }
  }, 30_000);

  it('turns an error status in the trailers into the same FlightError, after the batches sent before it', async () => {
    const got: number[] = [];
    const read = async (client: FlightClient) => {
      let n = 0;
      try {
        for await (const batch of client.doGet('small:fail')) n += batch.numRows;
      } finally {
        got.push(n);
      }
    };
    const expected = { code: 'INVALID_ARGUMENT', message: "column 'qty' went bad mid-stream" };
    await expect(read(fast)).rejects.toMatchObject(expected);
    await expect(read(slow)).rejects.toMatchObject(expected);
    expect(got).toEqual([1000, 1000]);
  });

  it('turns a trailers-only error into the same FlightError, message decoded', async () => {
    const failure = (client: FlightClient) => client.readTable('missing').then(() => null, (err: unknown) => err as FlightError);
    const [a, b] = await Promise.all([failure(fast), failure(slow)]);
    expect(a).toBeInstanceOf(FlightError);
    expect({ code: a?.code, message: a?.message }).toEqual({ code: b?.code, message: b?.message });
    expect(a).toMatchObject({ code: 'NOT_FOUND', message: "dataset 'missing' not found: ünïcode % ok" });
  });

  it('fails with DEADLINE_EXCEEDED at the deadline and the server sees the call end', async () => {
    const started = Date.now();
    await expect(fast.doGet('small:hang', { deadline: Date.now() + 300 }).readAll()).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    expect(Date.now() - started).toBeLessThan(5000);
    await expect.poll(() => served.get('small:hang')?.cancelled).toBe(true);
    await expect(slow.doGet('small:hang', { deadline: Date.now() + 300 }).readAll()).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
  });

  it('cancels the server-side call when the reader breaks early', async () => {
    for await (const batch of fast.doGet('many:break')) {
      expect(batch.numRows).toBe(25_000);
      break;
    }
    await expect.poll(() => served.get('many:break')?.cancelled).toBe(true);
    expect(served.get('many:break')!.written).toBeLessThan(200);
  });

  it('cancels with CANCELLED when the abort signal fires', async () => {
    const abort = new AbortController();
    const stream = fast.doGet('many:abort', { signal: abort.signal });
    let n = 0;
    await expect(
      (async () => {
        for await (const _batch of stream) if (++n === 2) abort.abort();
      })(),
    ).rejects.toMatchObject({ code: 'CANCELLED' });
    await expect.poll(() => served.get('many:abort')?.cancelled).toBe(true);
  });

  it('stops the server when the consumer stops pulling, and reads on when it pulls again', async () => {
    const iterator = fast.doGet('many:slow')[Symbol.asyncIterator]();
    expect((await iterator.next()).done).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const state = served.get('many:slow')!;
    // 1 MB messages: at most the stream window (16 MiB), the call's queue (8 MiB) and the
    // server's own socket buffers are in flight; all 200 would be 200 MB.
    expect(state.written).toBeLessThan(60);
    const stalledAt = state.written;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(state.written).toBe(stalledAt);
    let n = 1;
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) n++;
    expect(n).toBe(200);
  }, 30_000);

  it('fails with UNAVAILABLE when nothing listens', async () => {
    const nowhere = new FlightClient('grpc://127.0.0.1:1');
    await expect(nowhere.readTable('small')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    nowhere.close();
  });
});
