/**
 * Arrow IPC message framing (https://arrow.apache.org/docs/format/Columnar.html#encapsulated-message-format):
 * `0xFFFFFFFF`, int32 metadata length (padding included), the flatbuffer `Message`, padding to
 * 8 bytes, then the body. FlightData carries the bare flatbuffer and the body separately; schemas in
 * FlightInfo and SchemaResult are encapsulated.
 */
import { Message, MessageHeader, Schema } from 'apache-arrow';
import { FlightError } from '../errors.js';

const CONTINUATION = -1;
const ARROW_FILE_MAGIC = [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31]; // "ARROW1"

export interface IpcMessageBytes {
  /** The flatbuffer Message (with its trailing padding), a view into the input. */
  header: Uint8Array;
  /** The body, Message.bodyLength bytes, a view into the input. */
  body: Uint8Array;
}

/** 0xFFFFFFFF, padded length, `header`, zero padding: the part of an encapsulated message before its body. */
export function frameMessageHeader(header: Uint8Array): Uint8Array {
  const padded = (header.length + 7) & ~7;
  const out = new Uint8Array(8 + padded);
  const view = new DataView(out.buffer);
  view.setInt32(0, CONTINUATION, true);
  view.setInt32(4, padded, true);
  out.set(header, 8);
  return out;
}

/** The encapsulated IPC Schema message, as FlightInfo.schema and SchemaResult.schema carry it. */
export function encodeSchema(schema: Schema): Uint8Array {
  return frameMessageHeader(Message.encode(Message.from(schema)));
}

/** Decodes an encapsulated IPC Schema message; empty bytes are the empty schema. */
export function decodeSchema(bytes: Uint8Array): Schema {
  if (bytes.length === 0) return new Schema([]);
  for (const { header } of splitIpcStream(bytes)) {
    const message = decodeMessageHeader(header, 'encapsulated schema');
    if (!message.isSchema()) {
      throw invalid(`encapsulated schema: expected a Schema message, got ${MessageHeader[message.headerType]}`);
    }
    return message.header();
  }
  throw invalid('encapsulated schema: no message before end-of-stream');
}

/**
 * Splits an Arrow IPC stream (also the pre-0.15 format without continuation markers) into its
 * messages without decoding their data, stopping at the end-of-stream marker. Yields views.
 */
export function* splitIpcStream(bytes: Uint8Array): Generator<IpcMessageBytes> {
  if (startsWithFileMagic(bytes)) {
    throw invalid('IPC stream: input is the Arrow IPC file format ("ARROW1"), not the stream format');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  while (pos < bytes.length) {
    const start = pos;
    if (bytes.length - pos < 4) throw invalid(`IPC stream: truncated message prefix at byte ${start}`);
    let length = view.getInt32(pos, true);
    pos += 4;
    if (length === CONTINUATION) {
      if (bytes.length - pos < 4) throw invalid(`IPC stream: truncated metadata length at byte ${pos}`);
      length = view.getInt32(pos, true);
      pos += 4;
    }
    if (length === 0) return;
    if (length < 0 || length > bytes.length - pos) {
      throw invalid(`IPC stream: message at byte ${start} declares ${length} metadata bytes, ${bytes.length - pos} remain`);
    }
    const header = bytes.subarray(pos, pos + length);
    pos += length;
    const { bodyLength } = decodeMessageHeader(header, `IPC stream message at byte ${start}`);
    if (bodyLength > bytes.length - pos) {
      throw invalid(`IPC stream: message at byte ${start} has bodyLength ${bodyLength}, ${bytes.length - pos} bytes remain`);
    }
    yield { header, body: bytes.subarray(pos, pos + bodyLength) };
    pos += bodyLength;
  }
}

/**
 * Decodes and checks a bare flatbuffer `Message`: a Schema, DictionaryBatch or RecordBatch whose
 * buffers lie inside its bodyLength. `where` names the message in errors.
 */
export function decodeMessageHeader(header: Uint8Array, where: string): Message {
  checkFlatbufferRoot(header, where);
  let message: Message;
  try {
    message = Message.decode(header);
  } catch (err) {
    throw invalid(`${where}: data_header is not an Arrow IPC Message (${errorText(err)})`, err);
  }
  const type = message.headerType;
  if (type !== MessageHeader.Schema && type !== MessageHeader.DictionaryBatch && type !== MessageHeader.RecordBatch) {
    throw invalid(`${where}: unsupported IPC message header type ${String(MessageHeader[type] ?? type)}`);
  }
  const { bodyLength } = message;
  if (!Number.isSafeInteger(bodyLength) || bodyLength < 0) {
    throw invalid(`${where}: invalid bodyLength ${String(bodyLength)}`);
  }
  try {
    if (message.isSchema()) {
      message.header();
    } else {
      const batch = message.isDictionaryBatch() ? message.header().data : (message as Message<MessageHeader.RecordBatch>).header();
      for (const { offset, length } of batch.buffers) {
        if (!(offset >= 0 && length >= 0 && offset + length <= bodyLength)) {
          throw invalid(`${where}: buffer [${offset}, ${offset + length}) lies outside the body of ${bodyLength} bytes`);
        }
      }
    }
  } catch (err) {
    if (err instanceof FlightError) throw err;
    throw invalid(`${where}: cannot decode the ${MessageHeader[type]} header (${errorText(err)})`, err);
  }
  return message;
}

/** Bounds checks of the flatbuffer root table and its vtable, so garbage fails here and not in Arrow. */
function checkFlatbufferRoot(buf: Uint8Array, where: string): void {
  const fail = (problem: string): never => {
    throw invalid(`${where}: data_header is not an Arrow IPC Message flatbuffer (${problem})`);
  };
  if (buf.length < 8) fail(`${buf.length} bytes`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const root = view.getUint32(0, true);
  if (root < 4 || root > buf.length - 4) fail(`root offset ${root} outside ${buf.length} bytes`);
  const vtable = root - view.getInt32(root, true);
  if (vtable < 0 || vtable > buf.length - 4) fail(`vtable offset ${vtable} outside ${buf.length} bytes`);
  const vtableSize = view.getUint16(vtable, true);
  const tableSize = view.getUint16(vtable + 2, true);
  if (vtableSize < 4 || vtableSize % 2 !== 0 || vtable + vtableSize > buf.length) fail(`vtable size ${vtableSize}`);
  if (root + tableSize > buf.length) fail(`table size ${tableSize}`);
}

function startsWithFileMagic(bytes: Uint8Array): boolean {
  return ARROW_FILE_MAGIC.every((b, i) => bytes[i] === b);
}

function invalid(message: string, cause?: unknown): FlightError {
  return new FlightError('INVALID_ARGUMENT', message, cause === undefined ? undefined : { cause });
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
