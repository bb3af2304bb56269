import { describe, expect, it } from 'vitest';
import { serializeFlightData } from '../wire/flight-data.js';
import { dataBodyOffset, GrpcFrameReader } from './grpc-frames.js';

function framed(message: Buffer): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

function flightData(bodyLength: number, seed: number): Buffer {
  const body = Buffer.alloc(bodyLength);
  for (let i = 0; i < bodyLength; i++) body[i] = (i * 7 + seed) & 0xff;
  return serializeFlightData({ dataHeader: Buffer.from(`header-${seed}`), appMetadata: Buffer.from('m'), dataBody: body });
}

/** Feeds `bytes` in chunks of `size` (an odd offset into a bigger buffer, as socket reads are). */
function feed(bytes: Buffer, size: number, reader = new GrpcFrameReader(1 << 30)): Buffer[] {
  const out: Buffer[] = [];
  const backing = Buffer.alloc(bytes.length + 3);
  bytes.copy(backing, 3);
  for (let pos = 0; pos < bytes.length; pos += size) {
    reader.push(backing.subarray(3 + pos, 3 + Math.min(pos + size, bytes.length)), (m) => out.push(m));
  }
  expect(reader.atBoundary).toBe(true);
  return out;
}

describe('GrpcFrameReader', () => {
  const messages = [flightData(100_000, 1), flightData(0, 2), Buffer.alloc(0), flightData(37, 3), flightData(70_001, 4)];
  const stream = Buffer.concat(messages.map(framed));

  it.each([1, 2, 5, 6, 13, 4096, 16_384, stream.length])('splits messages delivered in chunks of %i bytes', (size) => {
    const out = feed(stream, size);
    expect(out.map((m) => Buffer.from(m).toString('hex'))).toEqual(messages.map((m) => m.toString('hex')));
  });

  it('places the data_body of a message copied from several chunks at an 8-byte aligned address', () => {
    for (const size of [3, 1000, 16_384]) {
      for (const m of feed(stream, size)) {
        const offset = dataBodyOffset(m, 0, m.length);
        if (m.length > size && offset > 0) expect((m.byteOffset + offset) % 8).toBe(0);
      }
    }
  });

  it('refuses a message over the receive limit with RESOURCE_EXHAUSTED, as grpc-js does', () => {
    const reader = new GrpcFrameReader(1000);
    expect(() => reader.push(framed(flightData(2000, 5)), () => undefined)).toThrow(
      expect.objectContaining({ code: 'RESOURCE_EXHAUSTED', message: expect.stringMatching(/larger than max \(\d+ vs 1000\)/) }),
    );
  });

  it('refuses compressed messages (none were negotiated)', () => {
    const bytes = framed(flightData(10, 6));
    bytes[0] = 1;
    expect(() => new GrpcFrameReader(1 << 20).push(bytes, () => undefined)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });

  it('finds the body offset only when every field before it is in range', () => {
    const m = flightData(64, 7);
    const offset = dataBodyOffset(m, 0, m.length);
    expect(m.subarray(offset, offset + 4)).toEqual(Buffer.from([7, 14, 21, 28]));
    expect(dataBodyOffset(m, 0, 5)).toBe(-1);
  });
});
