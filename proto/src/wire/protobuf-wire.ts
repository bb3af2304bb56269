/**
 * The few protobuf wire-format primitives the hand-written FlightData and FlightDescriptor codecs
 * need (https://protobuf.dev/programming-guides/encoding/). Decoding errors are FlightErrors with
 * code INVALID_ARGUMENT naming the message and the fault.
 */
import { FlightError } from '../errors.js';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_START_GROUP = 3;
export const WIRE_END_GROUP = 4;
export const WIRE_FIXED32 = 5;

/** Bytes a varint of `value` (a non-negative safe integer) takes. */
export function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Writes `value` (a non-negative safe integer) as a varint at `offset`; returns the next offset. */
export function writeVarint(target: Uint8Array, offset: number, value: number): number {
  while (value >= 0x80) {
    target[offset++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  target[offset++] = value;
  return offset;
}

/** Bytes a length-delimited field of `length` payload bytes takes, tag of `tagSize` bytes included. */
export function lenFieldSize(tagSize: number, length: number): number {
  return tagSize + varintSize(length) + length;
}

/** A cursor over one protobuf message. */
export class WireReader {
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    /** Names the message in error messages, e.g. "FlightData". */
    readonly what: string,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  fail(problem: string): never {
    throw new FlightError('INVALID_ARGUMENT', `malformed ${this.what}: ${problem} (at byte ${this.pos})`);
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const byte = this.buf[this.pos++]!;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** Reads a tag; returns field number and wire type. */
  tag(): { field: number; wireType: number } {
    const key = this.varint();
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (field === 0) this.fail('field number 0');
    if (field > 0x1fffffff) this.fail(`field number ${field} out of range`);
    return { field, wireType };
  }

  /** Reads a length-delimited payload as a view [start, end) into the buffer. */
  lenRange(field: number): [number, number] {
    const length = this.varint();
    const start = this.pos;
    if (length > this.end - start) {
      this.fail(`field ${field} declares ${length} bytes but only ${this.end - start} remain`);
    }
    this.pos = start + length;
    return [start, this.pos];
  }

  /** Skips a field of any wire type, groups included. */
  skip(field: number, wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.advance(8, field);
        return;
      case WIRE_LEN:
        this.lenRange(field);
        return;
      case WIRE_FIXED32:
        this.advance(4, field);
        return;
      case WIRE_START_GROUP:
        for (;;) {
          if (this.done) this.fail(`unterminated group ${field}`);
          const inner = this.tag();
          if (inner.wireType === WIRE_END_GROUP) {
            if (inner.field !== field) this.fail(`group ${field} closed by end-group tag of field ${inner.field}`);
            return;
          }
          this.skip(inner.field, inner.wireType);
        }
      case WIRE_END_GROUP:
        this.fail(`unexpected end-group tag for field ${field}`);
      default:
        this.fail(`invalid wire type ${wireType} for field ${field}`);
    }
  }

  expectWireType(field: number, name: string, wireType: number, expected: number): void {
    if (wireType !== expected) {
      this.fail(`field ${field} (${name}) has wire type ${wireType}, expected ${expected}`);
    }
  }

  private advance(n: number, field: number): void {
    if (n > this.end - this.pos) this.fail(`truncated fixed-width field ${field}`);
    this.pos += n;
  }
}
