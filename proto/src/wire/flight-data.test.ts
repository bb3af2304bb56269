import { describe, expect, it } from 'vitest';
import { FlightError } from '../errors.js';
import type { FlightData } from '../messages.js';
import { flightPackageDefinition } from '../service-definition.js';
import { AssembledFlightData, deserializeFlightData, flightDataSize, grpcFramedFlightData, serializeFlightData } from './flight-data.js';
import { cmdDescriptor, pathDescriptor } from './flight-descriptor.js';

const bytes = (...values: number[]): Buffer => Buffer.from(values);

function expectInvalid(fn: () => unknown, message: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(FlightError);
  expect(caught).toMatchObject({ code: 'INVALID_ARGUMENT', message });
}

describe('serializeFlightData', () => {
  it('writes fields 1, 2, 3 and 1000 with their tag bytes, in one exact-size buffer', () => {
    const msg: FlightData = {
      flightDescriptor: pathDescriptor('bars'),
      dataHeader: bytes(1, 2, 3),
      appMetadata: bytes(9),
      dataBody: bytes(4, 5, 6, 7, 8, 9, 10, 11),
    };
    const out = serializeFlightData(msg);
    expect([...out]).toEqual([
      0x0a, 8, 0x08, 1, 0x1a, 4, ...Buffer.from('bars'), // flight_descriptor {type: PATH, path: ["bars"]}
      0x12, 3, 1, 2, 3, // data_header
      0x1a, 1, 9, // app_metadata
      0xc2, 0x3e, 8, 4, 5, 6, 7, 8, 9, 10, 11, // data_body, field 1000
    ]);
    expect(out.length).toBe(flightDataSize(msg));
  });

  it('omits empty fields and encodes multi-byte lengths', () => {
    const body = Buffer.alloc(300, 7);
    const out = serializeFlightData({ dataHeader: Buffer.alloc(0), appMetadata: Buffer.alloc(0), dataBody: body });
    expect([...out.subarray(0, 4)]).toEqual([0xc2, 0x3e, 0xac, 0x02]);
    expect(out.length).toBe(4 + 300);
  });

  it('matches what protobufjs produces for the same message', () => {
    const msg: FlightData = {
      flightDescriptor: cmdDescriptor({ dataset: 'bars_1m' }),
      dataHeader: Buffer.from('header'),
      appMetadata: Buffer.from('meta'),
      dataBody: Buffer.alloc(1024, 3),
    };
    const doPut = (flightPackageDefinition['arrow.flight.protocol.FlightService'] as Record<string, { requestSerialize: (v: unknown) => Buffer }>)['DoPut']!;
    expect(serializeFlightData(msg).equals(doPut.requestSerialize(msg))).toBe(true);
  });

  it('lays out assembled body parts with 8-byte padding without joining them first', () => {
    const parts = [bytes(1, 2, 3), new Uint8Array(0), bytes(4, 5, 6, 7, 8, 9, 10, 11, 12)];
    const msg = new AssembledFlightData(bytes(0xaa), parts, 24);
    const out = serializeFlightData(msg);
    const decoded = deserializeFlightData(out);
    expect([...decoded.dataBody]).toEqual([1, 2, 3, 0, 0, 0, 0, 0, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, 0, 0, 0, 0, 0, 0]);
    expect([...msg.dataBody]).toEqual([...decoded.dataBody]);
    expect(serializeFlightData(msg).equals(out)).toBe(true);
  });
});

describe('deserializeFlightData', () => {
  it('round-trips every field and returns views into the input', () => {
    const msg: FlightData = {
      flightDescriptor: cmdDescriptor('{"dataset":"x"}'),
      dataHeader: Buffer.from('hdr'),
      appMetadata: Buffer.from('app'),
      dataBody: Buffer.alloc(64, 1),
    };
    const wire = serializeFlightData(msg);
    const decoded = deserializeFlightData(wire);
    expect(decoded.flightDescriptor).toEqual({ type: 'CMD', cmd: Buffer.from('{"dataset":"x"}'), path: [] });
    expect(Buffer.from(decoded.dataHeader).toString()).toBe('hdr');
    expect(Buffer.from(decoded.appMetadata).toString()).toBe('app');
    expect(decoded.dataBody.length).toBe(64);
    expect(decoded.dataBody.buffer).toBe(wire.buffer);
    expect(decoded.dataHeader.buffer).toBe(wire.buffer);
  });

  it('decodes a missing field as empty', () => {
    const decoded = deserializeFlightData(Buffer.alloc(0));
    expect(decoded.flightDescriptor).toBeUndefined();
    expect(decoded.dataHeader.length + decoded.appMetadata.length + decoded.dataBody.length).toBe(0);
  });

  it('skips unknown fields of every wire type, groups included', () => {
    const wire = bytes(
      0x12, 2, 0xab, 0xcd, // data_header
      0x20, 0x96, 0x01, // field 4, varint 150
      0x29, 1, 2, 3, 4, 5, 6, 7, 8, // field 5, fixed64
      0x35, 1, 2, 3, 4, // field 6, fixed32
      0x3a, 3, 1, 2, 3, // field 7, length-delimited
      0x43, 0x48, 1, 0x52, 1, 0xff, 0x44, // field 8 group { field 9 varint, field 10 bytes }
      0xa2, 0x06, 2, 9, 9, // field 100, length-delimited
      0x1a, 1, 0x77, // app_metadata
      0xc2, 0x3e, 1, 0x55, // data_body
    );
    const decoded = deserializeFlightData(wire);
    expect([...decoded.dataHeader]).toEqual([0xab, 0xcd]);
    expect([...decoded.appMetadata]).toEqual([0x77]);
    expect([...decoded.dataBody]).toEqual([0x55]);
  });

  it('rejects truncated input', () => {
    const wire = serializeFlightData({ dataHeader: Buffer.from('abc'), appMetadata: Buffer.alloc(0), dataBody: Buffer.alloc(16) });
    expectInvalid(() => deserializeFlightData(wire.subarray(0, wire.length - 3)), /field 1000 declares 16 bytes but only 13 remain/);
    expectInvalid(() => deserializeFlightData(bytes(0xc2)), /truncated varint/);
    expectInvalid(() => deserializeFlightData(bytes(0x29, 1, 2)), /truncated fixed-width field 5/);
    expectInvalid(() => deserializeFlightData(bytes(0x43, 0x48, 1)), /unterminated group 8/);
  });

  it('rejects garbage', () => {
    expectInvalid(() => deserializeFlightData(bytes(0x0f, 1)), /invalid wire type 7/);
    expectInvalid(() => deserializeFlightData(bytes(0x00, 1)), /field number 0/);
    expectInvalid(() => deserializeFlightData(bytes(0x10, 1)), /field 2 \(data_header\) has wire type 0/);
    expectInvalid(() => deserializeFlightData(bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)), /varint longer/);
    expectInvalid(() => deserializeFlightData(bytes(0x0a, 2, 0x08)), /declares 2 bytes/);
    expectInvalid(() => deserializeFlightData(bytes(0x0a, 2, 0x12, 5)), /malformed FlightDescriptor/);
  });
});

describe('FlightDescriptor', () => {
  it('round-trips PATH and CMD descriptors through FlightData', () => {
    for (const descriptor of [pathDescriptor('a', 'b/c', 'é'), cmdDescriptor({ dataset: 'bars', limit: 3 }), cmdDescriptor(bytes(0, 1, 2))]) {
      const decoded = deserializeFlightData(
        serializeFlightData({ flightDescriptor: descriptor, dataHeader: Buffer.alloc(0), appMetadata: Buffer.alloc(0), dataBody: Buffer.alloc(0) }),
      );
      expect(decoded.flightDescriptor).toEqual({ ...descriptor, cmd: Buffer.from(descriptor.cmd) });
    }
  });

  it('encodes objects as UTF-8 JSON', () => {
    expect(cmdDescriptor({ dataset: 'bars' }).cmd.toString('utf8')).toBe('{"dataset":"bars"}');
    expect(() => pathDescriptor()).toThrow(FlightError);
  });
});

describe('grpcFramedFlightData', () => {
  it('frames plain and assembled messages as the gRPC prefix plus serializeFlightData, sharing the body', async () => {
    const { encodeFlightData } = await import('../encode.js');
    const { tableFromArrays } = await import('apache-arrow');
    const table = tableFromArrays({ a: Float64Array.from([1, 2, 3]), b: Int32Array.from([4, 5, 6]) });
    const messages = [];
    for await (const m of encodeFlightData(table.batches, { schema: table.schema })) messages.push(m);
    const plain = { dataHeader: Uint8Array.of(1, 2, 3), appMetadata: new Uint8Array(0), dataBody: Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9) };
    for (const msg of [...messages, plain]) {
      const chunks = grpcFramedFlightData(msg);
      const joined = Buffer.concat(chunks);
      const serialized = serializeFlightData(msg);
      expect(joined[0]).toBe(0);
      expect(joined.readUInt32BE(1)).toBe(serialized.length);
      expect(joined.subarray(5).equals(serialized)).toBe(true);
    }
    expect(grpcFramedFlightData(plain)[1]).toBe(plain.dataBody);
  });
});
