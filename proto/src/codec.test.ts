import {
  Bool,
  DataType,
  DateDay,
  Dictionary,
  Field,
  Float64,
  Int32,
  Int64,
  makeData,
  makeVector,
  MessageHeader,
  Message,
  RecordBatch,
  RecordBatchStreamWriter,
  Schema,
  Table,
  tableFromArrays,
  tableToIPC,
  TimestampNanosecond,
  Utf8,
  vectorFromArray,
  type Vector,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { FlightError } from './errors.js';
import { decodeFlightData } from './decode.js';
import { encodeFlightData } from './encode.js';
import type { FlightData } from './messages.js';
import { AssembledFlightData, bodyLengthOf, deserializeFlightData, flightDataSize, serializeFlightData } from './wire/flight-data.js';
import { pathDescriptor } from './wire/flight-descriptor.js';
import { decodeSchema, encodeSchema, splitIpcStream } from './wire/ipc-message.js';

const MS = 1_000_000n;
const BASE_NS = 1_704_186_000_000_000_000n; // 2024-01-02T09:00:00Z

function timestamps(values: (bigint | null)[]): Vector {
  const data = BigInt64Array.from(values, (v) => v ?? 0n);
  const nullBitmap = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((v, i) => {
    if (v !== null) nullBitmap[i >> 3]! |= 1 << (i % 8);
  });
  const nullCount = values.filter((v) => v === null).length;
  return makeVector(makeData({ type: new TimestampNanosecond('UTC'), length: values.length, nullCount, nullBitmap, data }));
}

/** A table with every plain type the contract names, nulls included. */
function plainTable(rows: number, offset = 0): Table {
  const at = (i: number): number => i + offset;
  const nullEvery = (i: number, n: number): boolean => at(i) % n === n - 1;
  const idx = Array.from({ length: rows }, (_, i) => i);
  return new Table({
    symbol: vectorFromArray(idx.map((i) => (nullEvery(i, 7) ? null : `SYM${at(i) % 13}`)), new Utf8()),
    qty: vectorFromArray(idx.map((i) => (nullEvery(i, 5) ? null : at(i) * 3 - 100)), new Int32()),
    volume: vectorFromArray(idx.map((i) => (nullEvery(i, 6) ? null : BigInt(at(i)) * 1_000_000_007n)), new Int64()),
    close: vectorFromArray(idx.map((i) => (nullEvery(i, 4) ? null : at(i) / 8 + 0.1)), new Float64()),
    halted: vectorFromArray(idx.map((i) => (nullEvery(i, 3) ? null : at(i) % 2 === 0)), new Bool()),
    ts: timestamps(idx.map((i) => (nullEvery(i, 9) ? null : BASE_NS + BigInt(at(i)) * 60_000n * MS + 7n))),
    day: vectorFromArray(idx.map((i) => (nullEvery(i, 8) ? null : new Date(Date.UTC(2024, 0, 2 + (at(i) % 40))))), new DateDay()),
  });
}

function dictionaryBatch(values: (string | null)[]): RecordBatch {
  const table = new Table({ symbol: vectorFromArray(values, new Dictionary(new Utf8(), new Int32())) });
  return table.batches[0]!;
}

/** Every cell, exactly: raw int64 for timestamps, dictionary values decoded. */
function cells(table: Table): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  table.schema.fields.forEach((field, col) => {
    const vector = table.getChildAt(col)!;
    const values: unknown[] = [];
    let row = 0;
    for (const data of vector.data) {
      for (let i = 0; i < data.length; i++, row++) {
        if (!vector.isValid(row)) values.push(null);
        else if (DataType.isTimestamp(field.type)) values.push((data.values as BigInt64Array)[i]);
        else values.push(vector.get(row));
      }
    }
    out[field.name] = values;
  });
  return out;
}

async function collect(messages: AsyncIterable<FlightData>): Promise<FlightData[]> {
  const out: FlightData[] = [];
  for await (const m of messages) out.push(m);
  return out;
}

/** Through the wire: serialize, then deserialize from a fresh buffer. */
function overTheWire(messages: FlightData[]): FlightData[] {
  return messages.map((m) => deserializeFlightData(Buffer.from(serializeFlightData(m))));
}

function headerTypes(messages: FlightData[]): string[] {
  return messages.map((m) => MessageHeader[Message.decode(m.dataHeader).headerType]!);
}

async function expectInvalid(promise: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FlightError);
  expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(message) });
}

describe('encodeFlightData / decodeFlightData', () => {
  it('round-trips utf8, int32, int64, float64, bool, timestamp[ns, UTC], date32 with nulls', async () => {
    const table = plainTable(50);
    const messages = overTheWire(await collect(encodeFlightData(table.batches)));
    expect(headerTypes(messages)).toEqual(['Schema', 'RecordBatch']);
    const decoded = await decodeFlightData(messages).readTable();
    expect(decoded.schema.fields.map((f) => String(f.type))).toEqual([
      'Utf8',
      'Int32',
      'Int64',
      'Float64',
      'Bool',
      'Timestamp<NANOSECOND, UTC>',
      'Date32<DAY>',
    ]);
    expect(cells(decoded)).toEqual(cells(table));
    expect(cells(decoded).ts![0]).toBe(BASE_NS + 7n);
  });

  it('data_body is exactly bodyLength and data_header the bare flatbuffer', async () => {
    const messages = await collect(encodeFlightData(plainTable(10).batches));
    for (const m of messages) {
      expect(new DataView(m.dataHeader.buffer, m.dataHeader.byteOffset).getInt32(0, true)).not.toBe(-1);
      expect(m.dataBody.length).toBe(Message.decode(m.dataHeader).bodyLength);
      expect(m.dataBody.length % 8).toBe(0);
    }
  });

  it('bodyLengthOf tells an assembled body\'s length without joining its parts', async () => {
    const messages = await collect(encodeFlightData(plainTable(10).batches));
    const batches = messages.filter((m) => m instanceof AssembledFlightData && m.bodyParts !== undefined);
    expect(batches.length).toBeGreaterThan(0);
    for (const m of batches as AssembledFlightData[]) {
      const parts = m.bodyParts;
      const length = bodyLengthOf(m);
      expect(m.bodyParts).toBe(parts);
      expect(length).toBe(Message.decode(m.dataHeader).bodyLength);
      expect(m.dataBody.length).toBe(length);
      expect(bodyLengthOf(m)).toBe(length);
    }
  });

  it('puts the descriptor on the first message only', async () => {
    const messages = overTheWire(await collect(encodeFlightData(plainTable(5).batches, { descriptor: pathDescriptor('bars') })));
    expect(messages[0]!.flightDescriptor).toMatchObject({ type: 'PATH', path: ['bars'] });
    expect(messages.slice(1).every((m) => m.flightDescriptor === undefined)).toBe(true);
    const stream = decodeFlightData(messages);
    await stream.schema();
    expect(stream.firstDescriptor).toMatchObject({ type: 'PATH', path: ['bars'] });
  });

  it('sends each dictionary before its batches and re-sends it when it changes', async () => {
    const first = dictionaryBatch(['AAPL', 'MSFT', 'AAPL', null]);
    const second = dictionaryBatch(['TSLA', 'GOOG', 'TSLA']); // separately built: another dictionary id
    const shared = new Table(first.schema, [first, first.slice(1, 3)]).batches; // same dictionary twice
    const messages = overTheWire(await collect(encodeFlightData([...shared, second])));
    expect(headerTypes(messages)).toEqual(['Schema', 'DictionaryBatch', 'RecordBatch', 'RecordBatch', 'DictionaryBatch', 'RecordBatch']);
    const batches = await decodeFlightData(messages).readAll();
    expect(batches.map((b) => b.getChild('symbol')!.toArray())).toEqual([
      ['AAPL', 'MSFT', 'AAPL', null],
      ['MSFT', 'AAPL'],
      ['TSLA', 'GOOG', 'TSLA'],
    ]);
    expect(DataType.isDictionary(batches[2]!.schema.fields[0]!.type)).toBe(true);
  });

  it('encodes zero batches as a lone Schema message', async () => {
    const schema = plainTable(1).schema;
    const messages = overTheWire(await collect(encodeFlightData([], { schema })));
    expect(headerTypes(messages)).toEqual(['Schema']);
    const stream = decodeFlightData(messages);
    expect((await stream.schema()).fields.map((f) => f.name)).toEqual(schema.fields.map((f) => f.name));
    expect(await stream.readAll()).toEqual([]);
    const table = await decodeFlightData(messages).readTable();
    expect(table.numRows).toBe(0);
    expect(table.schema.fields.length).toBe(7);
  });

  it('needs a schema for zero batches', async () => {
    await expectInvalid(collect(encodeFlightData([])), /no record batches and no opts.schema/);
  });

  it('splits a large batch by rows under maxMessageBytes and rejoins it', async () => {
    const table = plainTable(40_000);
    const maxMessageBytes = 64 * 1024;
    const messages = await collect(encodeFlightData(table.batches, { maxMessageBytes }));
    const batchMessages = messages.filter((m) => Message.decode(m.dataHeader).isRecordBatch());
    expect(batchMessages.length).toBeGreaterThan(8);
    for (const m of messages) {
      expect(flightDataSize(m)).toBeLessThanOrEqual(maxMessageBytes);
      expect(serializeFlightData(m).length).toBe(flightDataSize(m));
    }
    const decoded = await decodeFlightData(overTheWire(messages)).readTable();
    expect(decoded.numRows).toBe(40_000);
    expect(cells(decoded)).toEqual(cells(table));
  }, 30_000);

  it('decodes bodies and headers at misaligned offsets', async () => {
    const table = plainTable(300);
    const dictionaries = [dictionaryBatch(['a', 'b', null, 'a'])];
    for (const source of [table.batches, dictionaries]) {
      const messages = await collect(encodeFlightData(source));
      const shifted = messages.map((m, i) => ({
        ...m,
        dataHeader: atOffset(m.dataHeader, [1, 3, 5][i % 3]!),
        dataBody: atOffset(m.dataBody, [3, 5, 1][i % 3]!),
      }));
      expect(shifted.every((m) => m.dataBody.length === 0 || m.dataBody.byteOffset % 8 !== 0)).toBe(true);
      const decoded = await decodeFlightData(shifted).readTable();
      expect(cells(decoded)).toEqual(cells(new Table(source)));
    }
  });

  it('accepts metadata-only messages and reports app_metadata', async () => {
    const messages = await collect(encodeFlightData(plainTable(3).batches));
    const note = Buffer.from('progress');
    const stream = decodeFlightData([
      messages[0]!,
      { dataHeader: new Uint8Array(0), appMetadata: note, dataBody: new Uint8Array(0) },
      { ...messages[1]!, appMetadata: Buffer.from('batch-1') },
    ]);
    const seen: string[] = [];
    for await (const batch of stream) {
      expect(batch.numRows).toBe(3);
      seen.push(Buffer.from(stream.lastAppMetadata).toString());
    }
    expect(seen).toEqual(['batch-1']);
  });

  it('resolves schema() while the sender still holds back its batches', async () => {
    const messages = await collect(encodeFlightData(plainTable(3).batches, { descriptor: pathDescriptor('x') }));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    async function* sender(): AsyncGenerator<FlightData> {
      yield messages[0]!;
      await gate;
      yield* messages.slice(1);
    }
    const stream = decodeFlightData(sender());
    expect((await stream.schema()).fields.length).toBe(7);
    expect(stream.firstDescriptor?.path).toEqual(['x']);
    release();
    expect((await stream.readAll()).map((b) => b.numRows)).toEqual([3]);
  });

  it('yields a batch as soon as its message arrives, before the next one (a follow stream waits between them)', async () => {
    const table = tableFromArrays({ a: Float64Array.from([1, 2, 3]) });
    const messages: FlightData[] = [];
    for await (const m of encodeFlightData(table.batches, { schema: table.schema })) messages.push(m);
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    async function* source(): AsyncGenerator<FlightData> {
      yield* messages;
      await held;
    }
    const iterator = decodeFlightData(source())[Symbol.asyncIterator]();
    const first = await Promise.race([iterator.next(), new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), 2000))]);
    release();
    expect(first).not.toBe('late');
    expect((first as IteratorResult<RecordBatch>).value.numRows).toBe(3);
    expect((await iterator.next()).done).toBe(true);
  });

  it('pairs each yielded batch with the app_metadata of its own message', async () => {
    const batches = [...plainTable(4).batches, ...plainTable(5).batches, ...plainTable(6).batches];
    const messages = (await collect(encodeFlightData(batches))).map((m) => ({ ...m }));
    let n = 0;
    for (const m of messages) if (Message.decode(m.dataHeader).isRecordBatch()) m.appMetadata = Buffer.from(`b${n++}`);
    const stream = decodeFlightData(messages);
    const seen: string[] = [];
    for await (const batch of stream) seen.push(`${batch.numRows}:${Buffer.from(stream.lastAppMetadata).toString()}`);
    expect(seen).toEqual(['4:b0', '5:b1', '6:b2']);
  });

  it('refuses a batch that does not match the stream schema', async () => {
    const other = new Table({ qty: vectorFromArray([1.5], new Float64()) }).batches[0]!;
    await expectInvalid(
      collect(encodeFlightData([other], { schema: new Schema([new Field('qty', new Int32())]) })),
      /record batch 0 does not match the stream schema: field 0 'qty' is Float64, expected Int32/,
    );
  });

  it('releases the source when the consumer stops early', async () => {
    const messages = await collect(encodeFlightData([...plainTable(10).batches, ...plainTable(10).batches]));
    let returned = false;
    async function* source(): AsyncGenerator<FlightData> {
      try {
        yield* messages;
      } finally {
        returned = true;
      }
    }
    for await (const batch of decodeFlightData(source())) {
      expect(batch.numRows).toBe(10);
      break;
    }
    expect(returned).toBe(true);
  });
});

describe('malformed FlightData', () => {
  async function valid(): Promise<FlightData[]> {
    return overTheWire(await collect(encodeFlightData(plainTable(20).batches)));
  }

  it('truncated protobuf', async () => {
    const wire = serializeFlightData((await valid())[1]!);
    expect(() => deserializeFlightData(wire.subarray(0, wire.length - 5))).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/field 1000 declares/) }),
    );
  });

  it('garbage header', async () => {
    const [schema, batch] = await valid();
    const garbage = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff));
    await expectInvalid(decodeFlightData([schema!, { ...batch!, dataHeader: garbage }]).readAll(), /FlightData message 1: .*data_header/);
    await expectInvalid(decodeFlightData([{ ...schema!, dataHeader: Buffer.from([1, 2, 3]) }]).schema(), /FlightData message 0: data_header is not/);
  });

  it('body shorter than bodyLength', async () => {
    const [schema, batch] = await valid();
    await expectInvalid(
      decodeFlightData([schema!, { ...batch!, dataBody: batch!.dataBody.subarray(0, batch!.dataBody.length - 8) }]).readAll(),
      /FlightData message 1: data_body has \d+ bytes, the header's bodyLength is \d+/,
    );
  });

  it('record batch before the schema', async () => {
    const [, batch] = await valid();
    await expectInvalid(decodeFlightData([batch!]).readAll(), /FlightData message 0: RecordBatch before the Schema message/);
  });

  it('empty stream, second schema, body without header', async () => {
    const [schema, batch] = await valid();
    await expectInvalid(decodeFlightData([]).readAll(), /stream is empty/);
    await expectInvalid(decodeFlightData([schema!, schema!, batch!]).readAll(), /message 1: a second Schema message/);
    await expectInvalid(
      decodeFlightData([schema!, { dataHeader: new Uint8Array(0), appMetadata: new Uint8Array(0), dataBody: new Uint8Array(8) }]).readAll(),
      /message 1: data_body of 8 bytes without a data_header/,
    );
  });

  it('passes errors of the source through unchanged', async () => {
    const [schema] = await valid();
    async function* failing(): AsyncGenerator<FlightData> {
      yield schema!;
      throw new FlightError('NOT_FOUND', 'dataset bars not found');
    }
    const err = await decodeFlightData(failing()).readAll().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'NOT_FOUND', message: 'dataset bars not found' });
  });
});

describe('encodeSchema / decodeSchema', () => {
  it('round-trips an encapsulated schema message', () => {
    const schema = plainTable(1).schema;
    const bytes = encodeSchema(schema);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(view.getUint32(0, true)).toBe(0xffffffff);
    expect(view.getInt32(4, true)).toBe(bytes.length - 8);
    expect(bytes.length % 8).toBe(0);
    const decoded = decodeSchema(bytes);
    expect(decoded.fields.map((f) => [f.name, String(f.type), f.nullable])).toEqual(
      schema.fields.map((f) => [f.name, String(f.type), f.nullable]),
    );
  });

  it('keeps dictionary types and metadata', () => {
    const schema = new Schema(
      [new Field('symbol', new Dictionary(new Utf8(), new Int32(), 7)), new Field('ts', new TimestampNanosecond('UTC'), false)],
      new Map([['dataset', 'bars']]),
    );
    const decoded = decodeSchema(encodeSchema(schema));
    expect(String(decoded.fields[0]!.type)).toBe('Dictionary<Int32, Utf8>');
    expect((decoded.fields[0]!.type as Dictionary).id).toBe(7);
    expect(decoded.fields[1]!.nullable).toBe(false);
    expect(decoded.metadata.get('dataset')).toBe('bars');
  });

  it('reads empty bytes as the empty schema and rejects garbage', () => {
    expect(decodeSchema(new Uint8Array(0)).fields).toEqual([]);
    expect(() => decodeSchema(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 16, 0, 0, 0, 1, 2, 3))).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    const [, batch] = [...splitIpcStream(tableToIPC(plainTable(2), 'stream'))];
    expect(() => decodeSchema(Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff, batch!.header.length, 0, 0, 0]), batch!.header]))).toThrow(
      /expected a Schema message, got RecordBatch/,
    );
  });
});

describe('splitIpcStream', () => {
  it('splits tableToIPC stream output into messages that decode to the same batches', async () => {
    const table = new Table([...plainTable(40).batches, ...plainTable(30, 40).batches]);
    const ipc = tableToIPC(table, 'stream');
    const parts = [...splitIpcStream(ipc)];
    expect(parts.map((p) => MessageHeader[Message.decode(p.header).headerType])).toEqual(['Schema', 'RecordBatch', 'RecordBatch']);
    for (const p of parts) {
      expect(p.header.buffer).toBe(ipc.buffer);
      expect(p.body.length).toBe(Message.decode(p.header).bodyLength);
    }
    const messages = parts.map((p) => ({ dataHeader: p.header, appMetadata: new Uint8Array(0), dataBody: p.body }));
    const batches = await decodeFlightData(overTheWire(messages)).readAll();
    expect(batches.map((b) => b.numRows)).toEqual([40, 30]);
    expect(cells(new Table(batches))).toEqual(cells(table));
  });

  it('handles dictionaries and the pre-0.15 format without continuation markers', async () => {
    const batch = dictionaryBatch(['x', 'y', 'x']);
    const writer = new RecordBatchStreamWriter({ writeLegacyIpcFormat: true });
    writer.write(batch);
    writer.finish();
    const legacy = writer.toUint8Array(true);
    expect(new DataView(legacy.buffer, legacy.byteOffset).getInt32(0, true)).not.toBe(-1);
    const parts = [...splitIpcStream(legacy)];
    expect(parts.map((p) => MessageHeader[Message.decode(p.header).headerType])).toEqual(['Schema', 'DictionaryBatch', 'RecordBatch']);
    const decoded = await decodeFlightData(parts.map((p) => ({ dataHeader: p.header, appMetadata: new Uint8Array(0), dataBody: p.body }))).readAll();
    expect(decoded[0]!.getChild('symbol')!.toArray()).toEqual(['x', 'y', 'x']);
  });

  it('rejects truncated streams and the file format', () => {
    const ipc = tableToIPC(plainTable(5), 'stream');
    expect(() => [...splitIpcStream(ipc.subarray(0, ipc.length - 20))]).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => [...splitIpcStream(tableToIPC(plainTable(5), 'file'))]).toThrow(/file format/);
  });
});

function atOffset(bytes: Uint8Array, offset: number): Uint8Array {
  const copy = new Uint8Array(new ArrayBuffer(bytes.length + offset), offset, bytes.length);
  copy.set(bytes);
  return copy;
}
