import { once } from 'node:events';
import {
  Metadata,
  Server,
  ServerCredentials,
  type sendUnaryData,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServerWritableStream,
} from '@grpc/grpc-js';
import { Float64, Int32, Schema, Field, Table, Utf8, vectorFromArray, Dictionary } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlightClient } from './client.js';
import { FlightError, toServiceError } from './errors.js';
import { decodeFlightData } from './decode.js';
import { encodeFlightData } from './encode.js';
import { cmdDescriptor, pathDescriptor } from './wire/flight-descriptor.js';
import { encodeSchema } from './wire/ipc-message.js';
import type {
  Action,
  ActionType,
  Criteria,
  FlightData,
  FlightDescriptor,
  FlightInfo,
  HandshakeRequest,
  HandshakeResponse,
  PutResult,
  Result,
  SchemaResult,
  Ticket,
} from './messages.js';
import { flightServiceDefinition } from './service-definition.js';

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** A tiny in-memory Flight server: DoPut stores a table under its path, DoGet returns it. */
function createEchoServer(): { server: Server; tables: Map<string, Table>; events: string[] } {
  const tables = new Map<string, Table>();
  const events: string[] = [];
  const server = new Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });

  const infoOf = (name: string, table: Table): FlightInfo => ({
    schema: encodeSchema(table.schema),
    flightDescriptor: pathDescriptor(name),
    endpoint: [{ ticket: { ticket: Buffer.from(name) }, location: [] }],
    totalRecords: table.numRows,
    totalBytes: -1,
    ordered: true,
  });

  server.addService(flightServiceDefinition, {
    Handshake(call: ServerDuplexStream<HandshakeRequest, HandshakeResponse>) {
      const auth = String(call.metadata.get('authorization')[0] ?? '');
      call.on('data', () => undefined);
      call.on('end', () => {
        if (auth === basic('alice', 'pw')) {
          const trailers = new Metadata();
          trailers.set('authorization', 'Bearer trailer-token');
          call.end(trailers);
        } else if (auth === basic('bob', 'pw')) {
          const headers = new Metadata();
          headers.set('authorization', 'Bearer header-token');
          call.sendMetadata(headers);
          call.end();
        } else {
          call.emit('error', toServiceError(new FlightError('UNAUTHENTICATED', 'invalid user or password')));
        }
      });
    },
    ListFlights(call: ServerWritableStream<Criteria, FlightInfo>) {
      for (const [name, table] of tables) call.write(infoOf(name, table));
      call.end();
    },
    GetFlightInfo(call: ServerUnaryCall<FlightDescriptor, FlightInfo>, callback: sendUnaryData<FlightInfo>) {
      const name = call.request.path[0] ?? '';
      const table = tables.get(name);
      if (table === undefined) callback(toServiceError(new FlightError('NOT_FOUND', `dataset '${name}' not found`)));
      else callback(null, infoOf(name, table));
    },
    GetSchema(call: ServerUnaryCall<FlightDescriptor, SchemaResult>, callback: sendUnaryData<SchemaResult>) {
      const query = JSON.parse(call.request.cmd.toString('utf8')) as { dataset: string };
      const table = tables.get(query.dataset);
      if (table === undefined) callback(toServiceError(new FlightError('NOT_FOUND', `dataset '${query.dataset}' not found`)));
      else callback(null, { schema: encodeSchema(table.schema) });
    },
    DoPut(call: ServerDuplexStream<FlightData, PutResult>) {
      void (async () => {
        const stream = decodeFlightData(call);
        const table = await stream.readTable();
        const name = stream.firstDescriptor?.path[0] ?? '';
        if (name === 'refused') throw new FlightError('INVALID_ARGUMENT', "column 'qty' has nulls");
        tables.set(name, table);
        call.write({ appMetadata: Buffer.from(JSON.stringify({ rows: table.numRows, version: 1 })) });
        call.end();
      })().catch((err: unknown) => call.emit('error', toServiceError(err)));
    },
    DoGet(call: ServerWritableStream<Ticket, FlightData>) {
      const name = call.request.ticket.toString('utf8');
      const table = tables.get(name);
      if (table === undefined) {
        call.emit('error', toServiceError(new FlightError('NOT_FOUND', `dataset '${name}' not found`)));
        return;
      }
      call.on('cancelled', () => events.push(`DoGet ${name} cancelled`));
      void (async () => {
        for await (const message of encodeFlightData(table.batches, { schema: table.schema })) {
          if (call.cancelled) return;
          if (!call.write(message)) await once(call, 'drain');
        }
        call.end();
      })().catch((err: unknown) => call.emit('error', toServiceError(err)));
    },
    DoExchange(call: ServerDuplexStream<FlightData, FlightData>) {
      call.on('data', (message: FlightData) => call.write(message));
      call.on('end', () => call.end());
    },
    DoAction(call: ServerWritableStream<Action, Result>) {
      const { type, body } = call.request;
      if (type === 'echo') {
        call.write({ body });
        call.write({ body: Buffer.from('second') });
      } else if (type === 'whoami') {
        call.write({ body: Buffer.from(JSON.stringify({ authorization: call.metadata.get('authorization')[0] ?? null })) });
      } else if (type === 'describe') {
        const { name } = JSON.parse(body.toString('utf8')) as { name: string };
        call.write({ body: Buffer.from(JSON.stringify({ name, rows: tables.get(name)?.numRows ?? 0 })) });
      } else if (type === 'drop') {
        call.emit('error', toServiceError(new FlightError('PERMISSION_DENIED', "role 'read' may not drop datasets")));
        return;
      } else if (type === 'crash') {
        call.emit('error', toServiceError(new TypeError('boom')));
        return;
      }
      call.end();
    },
    ListActions(call: ServerWritableStream<Record<string, never>, ActionType>) {
      call.write({ type: 'echo', description: 'returns its body' });
      call.write({ type: 'describe', description: 'describes a dataset' });
      call.end();
    },
    PollFlightInfo(_call: ServerUnaryCall<FlightDescriptor, unknown>, callback: sendUnaryData<unknown>) {
      callback(toServiceError(new FlightError('UNIMPLEMENTED', 'PollFlightInfo is not supported')));
    },
  });
  return { server, tables, events };
}

function bars(rows: number, offset = 0): Table {
  const idx = Array.from({ length: rows }, (_, i) => i + offset);
  return new Table({
    symbol: vectorFromArray(
      idx.map((i) => ['AAPL', 'MSFT', 'GOOG'][i % 3]!),
      new Dictionary(new Utf8(), new Int32()),
    ),
    qty: vectorFromArray(
      idx.map((i) => (i % 11 === 0 ? null : i)),
      new Int32(),
    ),
    close: vectorFromArray(
      idx.map((i) => i / 4),
      new Float64(),
    ),
  });
}

describe('FlightClient against an in-process grpc-js server', () => {
  const { server, tables, events } = createEchoServer();
  let url = '';
  let client: FlightClient;

  beforeAll(async () => {
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    url = `grpc://127.0.0.1:${port}`;
    client = new FlightClient(url);
  });

  afterAll(() => {
    client.close();
    server.forceShutdown();
  });

  it('DoPut then DoGet echoes the batches, dictionaries included', async () => {
    const table = bars(1000);
    const result = await client.doPut(pathDescriptor('bars'), table.batches);
    expect(JSON.parse(Buffer.from(result.appMetadata).toString())).toEqual({ rows: 1000, version: 1 });
    const back = await client.readTable('bars');
    expect(back.numRows).toBe(1000);
    expect(back.toArray().map((r) => r.toJSON())).toEqual(table.toArray().map((r) => r.toJSON()));
  });

  it('streams a large DoPut with backpressure and reads it back batch by batch', async () => {
    async function* batches() {
      for (let i = 0; i < 8; i++) yield* bars(150_000, i * 150_000).batches;
    }
    const result = await client.doPut(pathDescriptor('big'), batches());
    expect(JSON.parse(Buffer.from(result.appMetadata).toString()).rows).toBe(1_200_000);
    let rows = 0;
    let messages = 0;
    const stream = client.doGet({ ticket: Buffer.from('big') });
    expect((await stream.schema()).fields.map((f) => f.name)).toEqual(['symbol', 'qty', 'close']);
    for await (const batch of stream) {
      rows += batch.numRows;
      messages++;
      if (rows === 300_000) expect(batch.get(batch.numRows - 1)?.toJSON()).toMatchObject({ close: 299_999 / 4 });
    }
    expect(rows).toBe(1_200_000);
    expect(messages).toBeGreaterThan(8);
  }, 30_000);

  it('puts and gets zero batches with an explicit schema', async () => {
    const schema = new Schema([new Field('ts', new Int32()), new Field('v', new Float64())]);
    await client.doPut(pathDescriptor('empty'), [], { schema });
    const table = await client.readTable(Buffer.from('empty'));
    expect(table.numRows).toBe(0);
    expect(table.schema.fields.map((f) => f.name)).toEqual(['ts', 'v']);
  });

  it('lists flights and returns FlightInfo with a decoded schema', async () => {
    const infos = [];
    for await (const info of client.listFlights()) infos.push(info);
    expect(infos.map((i) => i.flightDescriptor?.path[0])).toContain('bars');
    const info = await client.getFlightInfo(pathDescriptor('bars'));
    expect(info.totalRecords).toBe(1000);
    expect(info.totalBytes).toBe(-1);
    expect(info.ordered).toBe(true);
    expect(info.schema.fields.map((f) => f.name)).toEqual(['symbol', 'qty', 'close']);
    expect(Buffer.from(info.schemaBytes).readUInt32LE(0)).toBe(0xffffffff);
    const table = await client.readTable(info.endpoint[0]!.ticket!);
    expect(table.numRows).toBe(1000);
    const schema = await client.getSchema(cmdDescriptor({ dataset: 'bars' }));
    expect(schema.fields.map((f) => String(f.type))).toEqual(['Dictionary<Int32, Utf8>', 'Int32', 'Float64']);
  });

  it('runs actions: raw results, JSON results, listActions', async () => {
    const results: string[] = [];
    for await (const body of client.doAction('echo', 'hello')) results.push(Buffer.from(body).toString());
    expect(results).toEqual(['hello', 'second']);
    expect(await client.doActionJson('describe', { name: 'bars' })).toEqual({ name: 'bars', rows: 1000 });
    expect((await client.listActions()).map((a) => a.type)).toEqual(['echo', 'describe']);
  });

  it('surfaces error statuses as FlightError with the code and the server details', async () => {
    await expect(client.readTable('missing')).rejects.toMatchObject({ code: 'NOT_FOUND', message: "dataset 'missing' not found" });
    await expect(client.getFlightInfo(pathDescriptor('missing'))).rejects.toBeInstanceOf(FlightError);
    await expect(client.doActionJson('drop', {})).rejects.toMatchObject({ code: 'PERMISSION_DENIED', message: "role 'read' may not drop datasets" });
    await expect(client.doActionJson('crash')).rejects.toMatchObject({ code: 'INTERNAL', message: 'boom' });
    await expect(client.doPut(pathDescriptor('refused'), bars(10).batches)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: "column 'qty' has nulls",
    });
    expect(tables.has('refused')).toBe(false);
  });

  it('cancels the DoGet call when the reader stops early', async () => {
    for await (const batch of client.doGet('big')) {
      expect(batch.numRows).toBeGreaterThan(0);
      break;
    }
    await expect.poll(() => events.includes('DoGet big cancelled')).toBe(true);
  });

  it('handshakes like pyarrow: Basic credentials in, Bearer token from trailers or headers', async () => {
    const alice = new FlightClient(url);
    expect(await alice.handshake('alice', 'pw')).toBe('trailer-token');
    expect(await alice.doActionJson('whoami')).toEqual({ authorization: 'Bearer trailer-token' });
    alice.close();

    const bob = new FlightClient(url);
    expect(await bob.handshake('bob', 'pw')).toBe('header-token');
    expect(await bob.doActionJson('whoami')).toEqual({ authorization: 'Bearer header-token' });
    bob.close();

    const mallory = new FlightClient(url);
    await expect(mallory.handshake('alice', 'wrong')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(mallory.token).toBeUndefined();
    mallory.close();

    const preset = new FlightClient(url, { token: 'Bearer preset' });
    expect(await preset.doActionJson('whoami')).toEqual({ authorization: 'Bearer preset' });
    preset.close();
  });

  it('rejects unsupported URLs', () => {
    expect(() => new FlightClient('http://localhost:1')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => new FlightClient('grpc://localhost')).toThrow(/needs a host and a port/);
    expect(() => new FlightClient('grpc+tcp://localhost:1').close()).not.toThrow();
  });
});
