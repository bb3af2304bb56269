/**
 * Hostile input: garbage, truncated and lying messages in every Flight call, sent as raw bytes.
 * Each must be answered with a client-fault status (never INTERNAL), the server must keep serving,
 * and the data must stay as it was (same version, rows and files).
 */
import { connect, constants as h2 } from 'node:http2';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { encodeFlightData, pathDescriptor, serializeFlightData, type FlightData, type FlightDescriptor } from '@flightdeck/proto';
import { Message } from 'apache-arrow';
import * as ipc from 'apache-arrow/ipc/metadata/message';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeBars } from '../../test-support/bars.js';
import { encodeRequest, rawCall, rawClient, type RawOutcome } from '../../test-support/raw-flight-calls.js';
import { type TestServer, listFiles, seedBars, startTestServer } from '../../test-support/test-fixture.js';

/** Deterministic bytes (mulberry32). */
function randomBytes(seed: number, n: number): Buffer {
  let a = seed >>> 0;
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return out;
}

const CLIENT_FAULTS = ['INVALID_ARGUMENT', 'NOT_FOUND', 'RESOURCE_EXHAUSTED', 'UNIMPLEMENTED'];

let t: TestServer;
let raw: grpc.Client;
let address: string;
let snapshot: { version: number; rows: number; files: string[] };


async function state(): Promise<{ version: number; rows: number; files: string[] }> {
  const d = await t.client().doActionJson<{ version: number; rows: number }>('describe_dataset', { name: 'bars' });
  return { version: d.version, rows: d.rows, files: await listFiles(join(t.dir, 'bars')) };
}

beforeAll(async () => {
  t = await startTestServer({ FLIGHT_MAX_MESSAGE_BYTES: String(1024 * 1024) });
  await seedBars(t.client(), 'bars', { days: 2 });
  address = t.server.url.replace('grpc://', '');
  raw = rawClient(address);
  snapshot = await state();
});

afterAll(async () => {
  raw.close();
  await t.stop();
});

/** The outcome must be a client fault (or OK where the input happens to be valid), never INTERNAL. */
function expectClientFault(out: RawOutcome, what: string, allowed = CLIENT_FAULTS): void {
  expect(allowed, `${what}: ${out.code} ${out.details}`).toContain(out.code);
}

const VALID_REQUESTS: [Parameters<typeof rawCall>[1], () => Buffer][] = [
  ['ListFlights', () => encodeRequest('ListFlights', { expression: Buffer.from('x') })],
  ['GetFlightInfo', () => encodeRequest('GetFlightInfo', pathDescriptor('bars'))],
  ['PollFlightInfo', () => encodeRequest('PollFlightInfo', pathDescriptor('bars'))],
  ['GetSchema', () => encodeRequest('GetSchema', { type: 'CMD', cmd: Buffer.from('{"dataset":"bars","columns":["ts"]}'), path: [] })],
  ['DoGet', () => encodeRequest('DoGet', { ticket: Buffer.from('{"dataset":"bars","limit":2}') })],
  ['DoAction', () => encodeRequest('DoAction', { type: 'describe_dataset', body: Buffer.from('{"name":"bars"}') })],
  ['ListActions', () => encodeRequest('ListActions', {})],
];

describe('random and truncated bytes in every call', () => {
  for (const [name, valid] of VALID_REQUESTS) {
    it(`${name}: random bytes, truncations and an empty message`, async () => {
      const inputs: [string, Buffer][] = [['empty', Buffer.alloc(0)]];
      for (const [seed, n] of [[1, 1], [2, 7], [3, 64], [4, 512], [5, 4096], [6, 65536]] as const) inputs.push([`random ${n} B (seed ${seed})`, randomBytes(seed, n)]);
      const whole = valid();
      for (let cut = 1; cut < whole.length; cut += Math.max(1, Math.floor(whole.length / 12))) inputs.push([`truncated at ${cut}/${whole.length}`, whole.subarray(0, cut)]);
      inputs.push(['valid with trailing garbage', Buffer.concat([whole, randomBytes(9, 33)])]);
      for (const [what, bytes] of inputs) {
        const out = await rawCall(raw, name, [bytes]);
        if (process.env.DEBUG_HOSTILE) console.log(`random | ${name} ${what} | ${out.code} ${out.details.slice(0, 100)}`);
        // Random bytes can happen to parse (protobuf skips unknown fields): then OK is right too.
        expectClientFault(out, `${name} ${what}`, [...CLIENT_FAULTS, 'OK']);
      }
      const valid2 = await rawCall(raw, name, [whole]);
      expect(valid2.code, valid2.details).toBe('OK');
    });
  }

  it('DoPut, DoExchange and Handshake: random message streams', async () => {
    for (const seed of [11, 12, 13, 14]) {
      const messages = [randomBytes(seed, 17), randomBytes(seed + 100, 300), randomBytes(seed + 200, 5000)];
      expectClientFault(await rawCall(raw, 'DoPut', messages), `DoPut random stream ${seed}`, ['INVALID_ARGUMENT']);
      expectClientFault(await rawCall(raw, 'DoExchange', messages), `DoExchange random stream ${seed}`, ['UNIMPLEMENTED']);
      expectClientFault(await rawCall(raw, 'Handshake', messages), `Handshake random stream ${seed}`, ['OK']);
    }
    expectClientFault(await rawCall(raw, 'DoPut', []), 'DoPut with no message', ['INVALID_ARGUMENT']);
  });

  it('requests whose strings are not UTF-8, deeply nested or enormous JSON, odd dataset names', async () => {
    const cmd = (text: string | Buffer) => encodeRequest('GetFlightInfo', { type: 'CMD', cmd: Buffer.from(text), path: [] });
    const inputs: [Parameters<typeof rawCall>[1], Buffer, string[]][] = [
      ['GetFlightInfo', cmd(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), ['INVALID_ARGUMENT']],
      ['GetFlightInfo', cmd('['.repeat(200_000) + ']'.repeat(200_000)), ['INVALID_ARGUMENT', 'RESOURCE_EXHAUSTED']],
      ['GetFlightInfo', cmd(`{"dataset":"bars","symbols":[${'"A",'.repeat(50_000)}"B"]}`), ['OK', 'INVALID_ARGUMENT']],
      ['GetFlightInfo', cmd('{"dataset":"bars","limit":1e400}'), ['INVALID_ARGUMENT']],
      ['GetFlightInfo', cmd('{"dataset":"bars","start":"-999999-01-01T00:00:00Z"}'), ['INVALID_ARGUMENT']],
      ['GetFlightInfo', cmd('{"dataset":"bars","__proto__":{"x":1}}'), ['INVALID_ARGUMENT']],
      ['GetFlightInfo', encodeRequest('GetFlightInfo', pathDescriptor('../../etc/passwd')), ['INVALID_ARGUMENT', 'NOT_FOUND']],
      ['GetFlightInfo', encodeRequest('GetFlightInfo', pathDescriptor('bars', 'x')), ['INVALID_ARGUMENT']],
      ['GetFlightInfo', encodeRequest('GetFlightInfo', pathDescriptor('')), ['INVALID_ARGUMENT']],
      ['GetFlightInfo', encodeRequest('GetFlightInfo', pathDescriptor('x'.repeat(100_000))), ['INVALID_ARGUMENT', 'NOT_FOUND']],
      ['GetFlightInfo', encodeRequest('GetFlightInfo', { type: 'UNKNOWN', cmd: Buffer.alloc(0), path: [] }), ['INVALID_ARGUMENT']],
      // Descriptor type 7 (not in the enum), written by hand: field 1 varint 7, field 3 "bars".
      ['GetFlightInfo', Buffer.from([0x08, 0x07, 0x1a, 0x04, 0x62, 0x61, 0x72, 0x73]), ['INVALID_ARGUMENT']],
      ['DoGet', encodeRequest('DoGet', { ticket: Buffer.from('fd1:' + 'A'.repeat(100)) }), ['INVALID_ARGUMENT']],
      ['DoGet', encodeRequest('DoGet', { ticket: Buffer.from('fd1:' + Buffer.from('{"q":{"dataset":"bars","as_of":99999},"p":null}').toString('base64url')) }), ['NOT_FOUND']],
      ['DoGet', encodeRequest('DoGet', { ticket: Buffer.from('fd1:' + Buffer.from('{"q":{"dataset":"bars","as_of":1},"p":["../../x"]}').toString('base64url')) }), ['OK', 'INVALID_ARGUMENT']],
      ['DoGet', encodeRequest('DoGet', { ticket: randomBytes(77, 900_000) }), ['INVALID_ARGUMENT']],
      ['DoAction', encodeRequest('DoAction', { type: 'x'.repeat(100_000), body: Buffer.alloc(0) }), ['INVALID_ARGUMENT']],
      ['DoAction', encodeRequest('DoAction', { type: 'create_dataset', body: Buffer.from('{"name":"evil","time_column":"ts","partition":"../../../tmp"}') }), ['INVALID_ARGUMENT']],
      ['DoAction', encodeRequest('DoAction', { type: 'describe_dataset', body: Buffer.from('{"name":{"$ne":1}}') }), ['INVALID_ARGUMENT']],
      ['DoAction', encodeRequest('DoAction', { type: 'delete_range', body: Buffer.from('{"dataset":"bars","start":"2024-02-01T00:00:00Z","end":"2024-01-01T00:00:00Z"}') }), ['INVALID_ARGUMENT', 'OK']],
    ];
    for (const [name, bytes, allowed] of inputs) {
      const out = await rawCall(raw, name, [bytes]);
      if (process.env.DEBUG_HOSTILE) console.log(`odd | ${name} ${JSON.stringify(bytes.subarray(0, 50).toString('latin1'))} | ${out.code} ${out.details.slice(0, 120)}`);
      expectClientFault(out, `${name} ${bytes.subarray(0, 40).toString('latin1')}`, allowed);
    }
  });
});

/** Legit DoPut messages for `bars` (schema with descriptor, then a record batch). */
async function putMessages(descriptor: FlightDescriptor | null = pathDescriptor('bars')): Promise<FlightData[]> {
  const batch = makeBars({ symbols: ['ZZZ'], start: '2024-03-01T00:00:00Z', minutes: 50 });
  const out: FlightData[] = [];
  for await (const m of encodeFlightData([batch], descriptor === null ? {} : { descriptor })) {
    out.push({ flightDescriptor: m.flightDescriptor ?? null, dataHeader: Buffer.from(m.dataHeader), dataBody: Buffer.from(m.dataBody), appMetadata: Buffer.alloc(0) });
  }
  return out;
}

function withHeader(m: FlightData, header: ipc.RecordBatch | ipc.DictionaryBatch, bodyLength: number, body = m.dataBody): FlightData {
  return { ...m, dataHeader: Message.encode(Message.from(header, bodyLength)), dataBody: body };
}

describe('FlightData that lies', () => {
  const cases: [string, () => Promise<FlightData[]>, string[]][] = [
    [
      'bodyLength bigger than the body',
      async () => {
        const [schema, batch] = await putMessages();
        const h = Message.decode(batch!.dataHeader).header() as ipc.RecordBatch;
        return [schema!, withHeader(batch!, h, batch!.dataBody.length + 64)];
      },
      ['INVALID_ARGUMENT'],
    ],
    [
      'a buffer offset beyond the body',
      async () => {
        const [schema, batch] = await putMessages();
        const h = Message.decode(batch!.dataHeader).header() as ipc.RecordBatch;
        const buffers = h.buffers.map((b, i) => (i === h.buffers.length - 1 ? new ipc.BufferRegion(batch!.dataBody.length + 4096, 8) : b));
        return [schema!, withHeader(batch!, new ipc.RecordBatch(h.length, h.nodes, buffers, null), batch!.dataBody.length)];
      },
      ['INVALID_ARGUMENT'],
    ],
    [
      'a huge declared bodyLength (2^52) with a small body',
      async () => {
        const [schema, batch] = await putMessages();
        const h = Message.decode(batch!.dataHeader).header() as ipc.RecordBatch;
        return [schema!, withHeader(batch!, h, 2 ** 52)];
      },
      ['INVALID_ARGUMENT'],
    ],
    [
      'huge buffer lengths (2^40) inside a huge bodyLength',
      async () => {
        const [schema, batch] = await putMessages();
        const h = Message.decode(batch!.dataHeader).header() as ipc.RecordBatch;
        const buffers = h.buffers.map((b) => new ipc.BufferRegion(b.offset, 2 ** 40));
        return [schema!, withHeader(batch!, new ipc.RecordBatch(h.length, h.nodes, buffers, null), 2 ** 41)];
      },
      ['INVALID_ARGUMENT'],
    ],
    [
      'a row count (2^31 - 1) far beyond what the buffers hold',
      async () => {
        const [schema, batch] = await putMessages();
        const h = Message.decode(batch!.dataHeader).header() as ipc.RecordBatch;
        const nodes = h.nodes.map(() => new ipc.FieldNode(2 ** 31 - 1, 0));
        return [schema!, withHeader(batch!, new ipc.RecordBatch(2 ** 31 - 1, nodes, h.buffers, null), batch!.dataBody.length)];
      },
      ['INVALID_ARGUMENT', 'RESOURCE_EXHAUSTED'],
    ],
    [
      'fewer field nodes and buffers than the schema has columns',
      async () => {
        const [schema, batch] = await putMessages();
        const h = Message.decode(batch!.dataHeader).header() as ipc.RecordBatch;
        return [schema!, withHeader(batch!, new ipc.RecordBatch(h.length, h.nodes.slice(0, 2), h.buffers.slice(0, 3), null), batch!.dataBody.length)];
      },
      ['INVALID_ARGUMENT'],
    ],
    [
      'utf8 offsets pointing far beyond the string data',
      async () => {
        const [schema, batch] = await putMessages();
        const h = Message.decode(batch!.dataHeader).header() as ipc.RecordBatch;
        // symbol is column 0: validity, offsets, data.
        const offsets = h.buffers[1]!;
        const body = Buffer.from(batch!.dataBody);
        const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
        view.setInt32(Number(offsets.offset) + 4 * (h.length - 1), 1_000_000_000, true);
        view.setInt32(Number(offsets.offset) + 4 * h.length, 2_000_000_000, true);
        return [schema!, { ...batch!, dataBody: body }];
      },
      ['INVALID_ARGUMENT'],
    ],
    [
      'decreasing utf8 offsets',
      async () => {
        const [schema, batch] = await putMessages();
        const h = Message.decode(batch!.dataHeader).header() as ipc.RecordBatch;
        const offsets = h.buffers[1]!;
        const body = Buffer.from(batch!.dataBody);
        new DataView(body.buffer, body.byteOffset, body.byteLength).setInt32(Number(offsets.offset) + 8, -5, true);
        return [schema!, { ...batch!, dataBody: body }];
      },
      ['INVALID_ARGUMENT'],
    ],
    [
      'a dictionary batch for a dictionary id the schema does not have',
      async () => {
        const [schema, batch] = await putMessages();
        const h = Message.decode(batch!.dataHeader).header() as ipc.RecordBatch;
        return [schema!, withHeader(batch!, new ipc.DictionaryBatch(h, 4242, false), batch!.dataBody.length), batch!];
      },
      ['INVALID_ARGUMENT'],
    ],
    ['the first message has no descriptor', async () => putMessages(null), ['INVALID_ARGUMENT']],
    ['a CMD descriptor', async () => putMessages({ type: 'CMD', cmd: Buffer.from('{"dataset":"bars"}'), path: [] }), ['INVALID_ARGUMENT']],
    ['a PATH of two elements', async () => putMessages(pathDescriptor('bars', 'extra')), ['INVALID_ARGUMENT']],
    ['a PATH naming a dataset that does not exist', async () => putMessages(pathDescriptor('ghost')), ['NOT_FOUND']],
    ['a PATH that is not a dataset name', async () => putMessages(pathDescriptor('../bars')), ['INVALID_ARGUMENT', 'NOT_FOUND']],
    [
      'a record batch before the schema',
      async () => {
        const [schema, batch] = await putMessages();
        return [{ ...batch!, flightDescriptor: schema!.flightDescriptor ?? null }, schema!];
      },
      ['INVALID_ARGUMENT'],
    ],
    [
      'two schema messages',
      async () => {
        const [schema, batch] = await putMessages();
        return [schema!, { ...schema!, flightDescriptor: null }, batch!];
      },
      ['INVALID_ARGUMENT'],
    ],
    [
      'a data_header of random bytes after a valid schema',
      async () => {
        const [schema, batch] = await putMessages();
        return [schema!, { ...batch!, dataHeader: randomBytes(5, batch!.dataHeader.length) }];
      },
      ['INVALID_ARGUMENT'],
    ],
    [
      'a truncated data_header',
      async () => {
        const [schema, batch] = await putMessages();
        return [schema!, { ...batch!, dataHeader: batch!.dataHeader.subarray(0, Math.floor(batch!.dataHeader.length / 2)) }];
      },
      ['INVALID_ARGUMENT'],
    ],
    [
      'a truncated body',
      async () => {
        const [schema, batch] = await putMessages();
        return [schema!, { ...batch!, dataBody: batch!.dataBody.subarray(0, 24) }];
      },
      ['INVALID_ARGUMENT'],
    ],
    [
      'a body without a header',
      async () => {
        const [schema, batch] = await putMessages();
        return [schema!, { ...batch!, dataHeader: Buffer.alloc(0) }];
      },
      ['INVALID_ARGUMENT'],
    ],
    [
      'a message over FLIGHT_MAX_MESSAGE_BYTES (1 MiB)',
      async () => {
        const [schema, batch] = await putMessages();
        return [schema!, { ...batch!, appMetadata: randomBytes(3, 1024 * 1024 + 1) }];
      },
      ['RESOURCE_EXHAUSTED'],
    ],
    [
      'a valid stream whose batch lies in a second, later message',
      async () => {
        const [schema, batch] = await putMessages();
        const h = Message.decode(batch!.dataHeader).header() as ipc.RecordBatch;
        return [schema!, batch!, withHeader(batch!, h, batch!.dataBody.length + 8)];
      },
      ['INVALID_ARGUMENT'],
    ],
  ];

  for (const [what, build, allowed] of cases) {
    it(`DoPut: ${what}`, async () => {
      const messages = (await build()).map((m) => serializeFlightData(m));
      const out = await rawCall(raw, 'DoPut', messages);
      if (process.env.DEBUG_HOSTILE) console.log(`flightdata | ${what} | ${out.code} ${out.details.slice(0, 160)}`);
      expectClientFault(out, what, allowed);
      expect(await state()).toEqual(snapshot);
    });
  }

  it('accepts the same messages when they do not lie', async () => {
    // The control: putMessages() itself is a valid stream (into a scratch dataset, so bars is untouched).
    await t.client().doActionJson('create_dataset', { name: 'scratch', time_column: 'ts', key_columns: ['symbol'] });
    const out = await rawCall(raw, 'DoPut', (await putMessages(pathDescriptor('scratch'))).map((m) => serializeFlightData(m)));
    expect(out.code, out.details).toBe('OK');
  });
});

/** Sends raw HTTP/2 gRPC frames: a 5-byte prefix (compressed flag, length) that may lie. */
function rawFrames(path: string, frames: Buffer, headers: Record<string, string> = {}): Promise<{ status: string | undefined; message: string | undefined }> {
  return new Promise((resolve, reject) => {
    const session = connect(`http://${address}`);
    session.on('error', reject);
    const req = session.request({
      [h2.HTTP2_HEADER_METHOD]: 'POST',
      [h2.HTTP2_HEADER_PATH]: path,
      [h2.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
      te: 'trailers',
      ...headers,
    });
    let status: string | undefined;
    let message: string | undefined;
    const take = (hs: Record<string, unknown>) => {
      if (hs['grpc-status'] !== undefined) status = String(hs['grpc-status']);
      if (hs['grpc-message'] !== undefined) message = decodeURIComponent(String(hs['grpc-message']));
    };
    req.on('response', take);
    req.on('trailers', take);
    req.on('data', () => undefined);
    req.on('close', () => {
      session.close();
      resolve({ status, message });
    });
    req.on('error', () => undefined);
    req.end(frames);
  });
}

function frame(flag: number, declared: number, payload: Buffer): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt8(flag, 0);
  prefix.writeUInt32BE(declared, 1);
  return Buffer.concat([prefix, payload]);
}

describe('gRPC frames that lie', () => {
  const DOGET = '/arrow.flight.protocol.FlightService/DoGet';
  const DOPUT = '/arrow.flight.protocol.FlightService/DoPut';
  const ticket = encodeRequest('DoGet', { ticket: Buffer.from('{"dataset":"bars","limit":1}') });
  // grpc-status codes: 0 OK, 3 INVALID_ARGUMENT, 8 RESOURCE_EXHAUSTED, 12 UNIMPLEMENTED, 13 INTERNAL.
  // These are answered by grpc-js before any handler runs: a server-streaming call whose request
  // never completes is UNIMPLEMENTED ("Received no request message"), the compressed flag under the
  // identity encoding is read as uncompressed.
  const cases: [string, string, Buffer, Record<string, string>, string[]][] = [
    ['a length prefix declaring 2 GiB on DoGet', DOGET, frame(0, 0x7fffffff, ticket), {}, ['8']],
    ['a length prefix declaring 2 GiB on DoPut', DOPUT, frame(0, 0x7fffffff, randomBytes(1, 100)), {}, ['8']],
    ['a length prefix declaring more than the stream carries', DOGET, frame(0, ticket.length + 100, ticket), {}, ['12']],
    ['a truncated 5-byte prefix', DOGET, Buffer.from([0, 0, 0]), {}, ['12']],
    ['a length prefix declaring more than a DoPut stream carries', DOPUT, frame(0, 5000, randomBytes(4, 100)), {}, ['3']],
    ['the compressed flag with no grpc-encoding', DOGET, frame(1, ticket.length, ticket), {}, ['0']],
    ['gzip declared, garbage sent', DOGET, frame(1, 20, randomBytes(2, 20)), { 'grpc-encoding': 'gzip' }, ['13']],
    ['an unknown grpc-encoding', DOGET, frame(1, ticket.length, ticket), { 'grpc-encoding': 'br-evil' }, ['12']],
    ['two request messages on a unary-request call', DOGET, Buffer.concat([frame(0, ticket.length, ticket), frame(0, ticket.length, ticket)]), {}, ['12', '13', '3']],
  ];
  for (const [what, path, bytes, headers, allowed] of cases) {
    it(what, async () => {
      const out = await rawFrames(path, bytes, headers);
      if (process.env.DEBUG_HOSTILE) console.log(`frames | ${what} | ${out.status} ${out.message}`);
      expect(allowed, `${what}: grpc-status ${out.status} ${out.message}`).toContain(out.status);
      expect(await state()).toEqual(snapshot);
    });
  }
});

describe('after all of it', () => {
  it('still serves, and the data is unchanged', async () => {
    expect(await state()).toEqual(snapshot);
    const table = await t.client().readTable('{"dataset":"bars"}');
    expect(table.numRows).toBe(snapshot.rows);
  });
});
