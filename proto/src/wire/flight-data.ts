/**
 * Hand-written protobuf codec for FlightData, the Flight bulk message:
 * `flight_descriptor = 1`, `data_header = 2`, `app_metadata = 3`, `data_body = 1000`
 * (tags 0x0A, 0x12, 0x1A and 0xC2 0x3E). protobufjs would copy every body twice; this codec writes
 * each message into one exact-size Buffer and decodes into views of the received Buffer.
 */
import { flightDescriptorSize, readFlightDescriptor, writeFlightDescriptor } from './flight-descriptor.js';
import { lenFieldSize, varintSize, WIRE_LEN, WireReader, writeVarint } from './protobuf-wire.js';
import type { FlightData, FlightDescriptor } from '../messages.js';

const TAG_DESCRIPTOR = 0x0a;
const TAG_HEADER = 0x12;
const TAG_APP_METADATA = 0x1a;
/** Field 1000, wire type 2: varint(8002) = 0xC2 0x3E. */
const TAG_BODY_0 = 0xc2;
const TAG_BODY_1 = 0x3e;

const EMPTY = Buffer.alloc(0);

/**
 * A FlightData whose body is still the list of Arrow buffers VectorAssembler produced (each padded
 * to 8 bytes in the IPC body layout). serializeFlightData copies the parts straight into the gRPC
 * message; `dataBody` joins them only if someone reads it.
 */
export class AssembledFlightData implements FlightData {
  flightDescriptor?: FlightDescriptor | null;
  appMetadata: Uint8Array = EMPTY;
  declare dataBody: Uint8Array;
  #parts: readonly Uint8Array[] | undefined;
  #body: Uint8Array | undefined;

  constructor(
    readonly dataHeader: Uint8Array,
    parts: readonly Uint8Array[],
    /** Sum of the parts, each rounded up to a multiple of 8 (= Message.bodyLength). */
    readonly bodyLength: number,
  ) {
    this.#parts = parts;
    // An own enumerable accessor, so `{ ...msg }` copies a real body.
    Object.defineProperty(this, 'dataBody', {
      enumerable: true,
      configurable: true,
      get: (): Uint8Array => this.#joinedBody(),
      set: (body: Uint8Array): void => {
        this.#body = body;
        this.#parts = undefined;
      },
    });
  }

  /** The unjoined parts, until someone reads or replaces `dataBody`. */
  get bodyParts(): readonly Uint8Array[] | undefined {
    return this.#parts;
  }

  #joinedBody(): Uint8Array {
    if (this.#body === undefined) {
      const body = Buffer.allocUnsafe(this.bodyLength);
      writeParts(body, 0, this.#parts ?? [], this.bodyLength);
      this.#body = body;
      this.#parts = undefined;
    }
    return this.#body;
  }
}

/** Size of the serialized message. */
export function flightDataSize(msg: FlightData): number {
  let size = 0;
  if (msg.flightDescriptor) size += lenFieldSize(1, flightDescriptorSize(msg.flightDescriptor));
  const headerLength = msg.dataHeader?.length ?? 0;
  if (headerLength > 0) size += lenFieldSize(1, headerLength);
  const metadataLength = msg.appMetadata?.length ?? 0;
  if (metadataLength > 0) size += lenFieldSize(1, metadataLength);
  const bodyLength = bodyLengthOf(msg);
  if (bodyLength > 0) size += lenFieldSize(2, bodyLength);
  return size;
}

/** Encodes FlightData into one exact-size Buffer. Empty fields are omitted (proto3). */
export function serializeFlightData(msg: FlightData): Buffer {
  const descriptorLength = msg.flightDescriptor ? flightDescriptorSize(msg.flightDescriptor) : 0;
  const header = msg.dataHeader ?? EMPTY;
  const metadata = msg.appMetadata ?? EMPTY;
  const parts = msg instanceof AssembledFlightData ? msg.bodyParts : undefined;
  const bodyLength = bodyLengthOf(msg);

  let size = 0;
  if (msg.flightDescriptor) size += lenFieldSize(1, descriptorLength);
  if (header.length > 0) size += lenFieldSize(1, header.length);
  if (metadata.length > 0) size += lenFieldSize(1, metadata.length);
  if (bodyLength > 0) size += lenFieldSize(2, bodyLength);

  const out = Buffer.allocUnsafe(size);
  let offset = 0;
  if (msg.flightDescriptor) {
    out[offset++] = TAG_DESCRIPTOR;
    offset = writeVarint(out, offset, descriptorLength);
    offset = writeFlightDescriptor(out, offset, msg.flightDescriptor);
  }
  if (header.length > 0) {
    out[offset++] = TAG_HEADER;
    offset = writeVarint(out, offset, header.length);
    out.set(header, offset);
    offset += header.length;
  }
  if (metadata.length > 0) {
    out[offset++] = TAG_APP_METADATA;
    offset = writeVarint(out, offset, metadata.length);
    out.set(metadata, offset);
    offset += metadata.length;
  }
  if (bodyLength > 0) {
    out[offset++] = TAG_BODY_0;
    out[offset++] = TAG_BODY_1;
    offset = writeVarint(out, offset, bodyLength);
    if (parts !== undefined) {
      offset = writeParts(out, offset, parts, bodyLength);
    } else {
      out.set(msg.dataBody, offset);
      offset += bodyLength;
    }
  }
  return out;
}

/**
 * Decodes FlightData; the byte fields are views into `buf` (no copies). Unknown fields of every
 * wire type are skipped; truncated or malformed input throws FlightError INVALID_ARGUMENT.
 */
export function deserializeFlightData(buf: Buffer): FlightData {
  const r = new WireReader(buf, 'FlightData');
  const msg: FlightData = { dataHeader: EMPTY, appMetadata: EMPTY, dataBody: EMPTY };
  while (!r.done) {
    const { field, wireType } = r.tag();
    switch (field) {
      case 1: {
        r.expectWireType(field, 'flight_descriptor', wireType, WIRE_LEN);
        const [s, e] = r.lenRange(field);
        msg.flightDescriptor = readFlightDescriptor(buf, s, e);
        break;
      }
      case 2: {
        r.expectWireType(field, 'data_header', wireType, WIRE_LEN);
        const [s, e] = r.lenRange(field);
        msg.dataHeader = buf.subarray(s, e);
        break;
      }
      case 3: {
        r.expectWireType(field, 'app_metadata', wireType, WIRE_LEN);
        const [s, e] = r.lenRange(field);
        msg.appMetadata = buf.subarray(s, e);
        break;
      }
      case 1000: {
        r.expectWireType(field, 'data_body', wireType, WIRE_LEN);
        const [s, e] = r.lenRange(field);
        msg.dataBody = buf.subarray(s, e);
        break;
      }
      default:
        r.skip(field, wireType);
    }
  }
  return msg;
}

/**
 * The body's length without joining an assembled body's parts (reading `dataBody` copies them
 * into one new buffer: a whole message's bytes only to learn its size).
 */
export function bodyLengthOf(msg: FlightData): number {
  return msg instanceof AssembledFlightData && msg.bodyParts !== undefined ? msg.bodyLength : (msg.dataBody?.length ?? 0);
}

/** Lays out body parts, each followed by zero padding to a multiple of 8, filling `bodyLength` bytes. */
function writeParts(target: Buffer, offset: number, parts: readonly Uint8Array[], bodyLength: number): number {
  const end = offset + bodyLength;
  for (const part of parts) {
    if (part.byteLength === 0) continue;
    target.set(part, offset);
    const padded = offset + ((part.byteLength + 7) & ~7);
    target.fill(0, offset + part.byteLength, padded);
    offset = padded;
  }
  if (offset !== end) throw new Error(`IPC body parts fill ${offset - (end - bodyLength)} bytes, bodyLength is ${bodyLength}`);
  return offset;
}

const PADDING = new Uint8Array(8);

/**
 * A message framed for a gRPC stream without copying its body: the chunks, written in order, are
 * the 5-byte gRPC prefix (uncompressed flag, big-endian length) and `serializeFlightData(msg)`.
 * The first chunk holds the prefix and every field up to the body's bytes; the rest are views of
 * the body (Arrow buffers and their padding when the message was assembled from a batch).
 */
export function grpcFramedFlightData(msg: FlightData): Uint8Array[] {
  const parts = msg instanceof AssembledFlightData ? msg.bodyParts : undefined;
  const bodyLength = bodyLengthOf(msg);
  const fields = serializeFlightData({
    ...(msg.flightDescriptor ? { flightDescriptor: msg.flightDescriptor } : {}),
    dataHeader: msg.dataHeader ?? EMPTY,
    appMetadata: msg.appMetadata ?? EMPTY,
    dataBody: EMPTY,
  });
  const bodyTagLength = bodyLength > 0 ? 2 + varintSize(bodyLength) : 0;
  const head = Buffer.allocUnsafe(5 + fields.length + bodyTagLength);
  head[0] = 0;
  head.writeUInt32BE(fields.length + bodyTagLength + bodyLength, 1);
  head.set(fields, 5);
  if (bodyLength === 0) return [head];
  let offset = 5 + fields.length;
  head[offset++] = TAG_BODY_0;
  head[offset++] = TAG_BODY_1;
  writeVarint(head, offset, bodyLength);
  if (parts === undefined) return [head, msg.dataBody];
  const chunks: Uint8Array[] = [head];
  for (const part of parts) {
    if (part.byteLength === 0) continue;
    chunks.push(part);
    const pad = ((part.byteLength + 7) & ~7) - part.byteLength;
    if (pad > 0) chunks.push(PADDING.subarray(0, pad));
  }
  return chunks;
}
