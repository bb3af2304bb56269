/**
 * FlightDescriptor builders and the hand-written codec FlightData uses for its field 1
 * (FlightDescriptor: type=1 enum, cmd=2 bytes, path=3 repeated string).
 */
import { FlightError } from '../errors.js';
import { lenFieldSize, varintSize, WIRE_LEN, WIRE_VARINT, WireReader, writeVarint } from './protobuf-wire.js';
import type { DescriptorType, FlightDescriptor } from '../messages.js';

const TYPE_NUMBERS: Record<DescriptorType, number> = { UNKNOWN: 0, PATH: 1, CMD: 2 };
const TYPE_NAMES: readonly DescriptorType[] = ['UNKNOWN', 'PATH', 'CMD'];
const EMPTY = Buffer.alloc(0);

/** A PATH descriptor; `pathDescriptor('bars_1m')` names a whole dataset. */
export function pathDescriptor(...path: string[]): FlightDescriptor {
  if (path.length === 0) throw new FlightError('INVALID_ARGUMENT', 'pathDescriptor needs at least one path element');
  return { type: 'PATH', cmd: EMPTY, path };
}

/** A CMD descriptor; objects are sent as UTF-8 JSON, strings as UTF-8, bytes as they are. */
export function cmdDescriptor(cmd: object | string | Uint8Array): FlightDescriptor {
  return { type: 'CMD', cmd: toBuffer(cmd), path: [] };
}

/** UTF-8 JSON for objects, UTF-8 for strings, a view for bytes. */
export function toBuffer(value: object | string | Uint8Array): Buffer {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/** Encoded size of a FlightDescriptor message. */
export function flightDescriptorSize(d: FlightDescriptor): number {
  let size = 0;
  const type = typeNumber(d.type);
  if (type !== 0) size += 1 + varintSize(type);
  const cmdLength = d.cmd?.length ?? 0;
  if (cmdLength > 0) size += lenFieldSize(1, cmdLength);
  for (const p of d.path ?? []) size += lenFieldSize(1, Buffer.byteLength(p, 'utf8'));
  return size;
}

/** Writes a FlightDescriptor message at `offset`; returns the next offset. */
export function writeFlightDescriptor(target: Buffer, offset: number, d: FlightDescriptor): number {
  const type = typeNumber(d.type);
  if (type !== 0) {
    target[offset++] = 0x08;
    offset = writeVarint(target, offset, type);
  }
  if (d.cmd !== undefined && d.cmd.length > 0) {
    target[offset++] = 0x12;
    offset = writeVarint(target, offset, d.cmd.length);
    target.set(d.cmd, offset);
    offset += d.cmd.length;
  }
  for (const p of d.path ?? []) {
    target[offset++] = 0x1a;
    offset = writeVarint(target, offset, Buffer.byteLength(p, 'utf8'));
    offset += target.write(p, offset, 'utf8');
  }
  return offset;
}

/** Decodes a FlightDescriptor from `buf[start, end)`; `cmd` is a view into `buf`. */
export function readFlightDescriptor(buf: Buffer, start: number, end: number): FlightDescriptor {
  const r = new WireReader(buf, 'FlightDescriptor', start, end);
  let type: DescriptorType = 'UNKNOWN';
  let cmd: Buffer = EMPTY;
  const path: string[] = [];
  while (!r.done) {
    const { field, wireType } = r.tag();
    if (field === 1) {
      r.expectWireType(field, 'type', wireType, WIRE_VARINT);
      type = TYPE_NAMES[r.varint()] ?? 'UNKNOWN';
    } else if (field === 2) {
      r.expectWireType(field, 'cmd', wireType, WIRE_LEN);
      const [s, e] = r.lenRange(field);
      cmd = buf.subarray(s, e);
    } else if (field === 3) {
      r.expectWireType(field, 'path', wireType, WIRE_LEN);
      const [s, e] = r.lenRange(field);
      path.push(buf.toString('utf8', s, e));
    } else {
      r.skip(field, wireType);
    }
  }
  return { type, cmd, path };
}

function typeNumber(type: DescriptorType | undefined): number {
  if (type === undefined) return 0;
  const n = TYPE_NUMBERS[type];
  if (n === undefined) throw new FlightError('INVALID_ARGUMENT', `unknown FlightDescriptor type ${String(type)}`);
  return n;
}
