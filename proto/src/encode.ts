/**
 * Record batches -> FlightData, the shape of the Rust arrow-flight encoder.
 *
 * Encoding follows the Flight stream order: the Schema message first (also for zero batches), each
 * dictionary before the first batch that uses it (re-sent when a batch brings a different one), then
 * record batches, split by rows so that no message exceeds `maxMessageBytes`. Messages are built
 * with Arrow's own assembler: `data_header` is the bare flatbuffer Message and the body stays a list
 * of Arrow buffers until serializeFlightData copies it into the gRPC frame.
 */
import { DataType, Message, RecordBatch, Vector, type Data, type Field, type Schema } from 'apache-arrow';
import * as ipc from 'apache-arrow/ipc/metadata/message';
import { compareTypes } from 'apache-arrow/visitor/typecomparator';
import { VectorAssembler } from 'apache-arrow/visitor/vectorassembler';
import { FlightError } from './errors.js';
import { AssembledFlightData, flightDataSize } from './wire/flight-data.js';
import type { FlightData, FlightDescriptor } from './messages.js';


/** What the Rust encoder targets; well under grpc-js's default 4 MiB receive limit. */
export const DEFAULT_MAX_MESSAGE_BYTES = 2 * 1024 * 1024;

export interface EncodeFlightDataOptions {
  /** The stream schema; required when there may be zero batches. Defaults to the first batch's. */
  schema?: Schema;
  /** Record batches whose FlightData would exceed this are split by rows. Default 2 MiB. */
  maxMessageBytes?: number;
  /** Sent on the first message only (DoPut). */
  descriptor?: FlightDescriptor;
}

/** Encodes record batches as a Flight stream: Schema, dictionaries, record batches. */
export async function* encodeFlightData(
  batches: Iterable<RecordBatch> | AsyncIterable<RecordBatch>,
  opts: EncodeFlightDataOptions = {},
): AsyncGenerator<FlightData, void, undefined> {
  const encoder = new FlightDataEncoder(opts);
  if (opts.schema !== undefined) yield encoder.schemaMessage(opts.schema);
  for await (const batch of batches) yield* encoder.encodeBatch(batch);
  if (!encoder.started) {
    throw new FlightError('INVALID_ARGUMENT', 'encodeFlightData: no record batches and no opts.schema for the Schema message');
  }
}

/** The synchronous, stateful core of encodeFlightData, for callers that drive it batch by batch. */
export class FlightDataEncoder {
  readonly maxMessageBytes: number;
  #schema: Schema | undefined;
  #descriptor: FlightDescriptor | undefined;
  #batchCount = 0;
  /** Stream dictionary id -> the chunks last sent for it. */
  readonly #sentDictionaries = new Map<number, readonly Data[]>();
  /** Batch schema -> (batch dictionary id -> stream dictionary id). */
  readonly #dictionaryIds = new WeakMap<Schema, Map<number, number>>();

  constructor(opts: Omit<EncodeFlightDataOptions, 'schema'> = {}) {
    this.maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (!(this.maxMessageBytes > 0)) {
      throw new FlightError('INVALID_ARGUMENT', `maxMessageBytes must be positive, got ${this.maxMessageBytes}`);
    }
    this.#descriptor = opts.descriptor;
  }

  get started(): boolean {
    return this.#schema !== undefined;
  }

  /** The Schema message; must come first and only once. */
  schemaMessage(schema: Schema): FlightData {
    if (this.#schema !== undefined) throw new Error('FlightDataEncoder: the Schema message was already produced');
    this.#schema = schema;
    return this.#first({ dataHeader: Message.encode(Message.from(schema)), appMetadata: EMPTY, dataBody: EMPTY });
  }

  /** Messages for one batch: the Schema if none was sent yet, changed dictionaries, the batch (split). */
  *encodeBatch(batch: RecordBatch): Generator<FlightData, void, undefined> {
    const index = this.#batchCount++;
    if (!(batch instanceof RecordBatch)) {
      throw new FlightError('INVALID_ARGUMENT', `encodeFlightData: item ${index} is not an Arrow RecordBatch`);
    }
    if (this.#schema === undefined) yield this.schemaMessage(batch.schema);
    const ids = this.#dictionaryIdsFor(batch.schema, index);
    if (batch.dictionaries.size > 0) yield* this.#dictionaryMessages(batch, ids);
    yield* this.#recordBatchMessages(batch);
  }

  #first(msg: FlightData): FlightData {
    if (this.#descriptor !== undefined) {
      msg.flightDescriptor = this.#descriptor;
      this.#descriptor = undefined;
    }
    return msg;
  }

  #dictionaryIdsFor(batchSchema: Schema, index: number): Map<number, number> {
    const schema = this.#schema!;
    let ids = this.#dictionaryIds.get(batchSchema);
    if (ids === undefined) {
      ids = new Map();
      if (batchSchema !== schema) {
        const mismatch = matchFields(schema.fields, batchSchema.fields, ids, '');
        if (mismatch !== undefined) {
          throw new FlightError('INVALID_ARGUMENT', `record batch ${index} does not match the stream schema: ${mismatch}`);
        }
      }
      this.#dictionaryIds.set(batchSchema, ids);
    }
    return ids;
  }

  *#dictionaryMessages(batch: RecordBatch, ids: Map<number, number>): Generator<FlightData> {
    for (const [batchId, dictionary] of batch.dictionaries) {
      const id = ids.get(batchId) ?? batchId;
      const chunks = dictionary.data;
      const sent = this.#sentDictionaries.get(id);
      let from = 0;
      if (sent !== undefined && sent.length <= chunks.length && sent.every((chunk, i) => chunk === chunks[i])) {
        from = sent.length; // unchanged, or grown by chunks that go out as deltas
      }
      for (let i = from; i < chunks.length; i++) {
        yield this.#dictionaryMessage(chunks[i]!, id, i > 0);
      }
      this.#sentDictionaries.set(id, chunks.slice());
    }
  }

  #dictionaryMessage(data: Data, id: number, isDelta: boolean): FlightData {
    const assembled = VectorAssembler.assemble(new Vector([data]));
    const records = new ipc.RecordBatch(
      data.length,
      assembled.nodes,
      assembled.bufferRegions,
      null,
      assembled.variadicBufferCounts,
    );
    const message = Message.from(new ipc.DictionaryBatch(records, id, isDelta), assembled.byteLength);
    return this.#first(new AssembledFlightData(Message.encode(message), bytesOf(assembled.buffers), assembled.byteLength));
  }

  *#recordBatchMessages(batch: RecordBatch): Generator<FlightData> {
    const msg = this.#recordBatchMessage(batch);
    const size = flightDataSize(msg);
    if (size <= this.maxMessageBytes || batch.numRows <= 1) {
      yield this.#first(msg);
      return;
    }
    const pieces = Math.min(batch.numRows, Math.max(2, Math.ceil(size / this.maxMessageBytes)));
    const rows = Math.ceil(batch.numRows / pieces);
    for (let start = 0; start < batch.numRows; start += rows) {
      yield* this.#recordBatchMessages(batch.slice(start, Math.min(start + rows, batch.numRows)));
    }
  }

  #recordBatchMessage(batch: RecordBatch): AssembledFlightData {
    const assembled = VectorAssembler.assemble(batch);
    const records = new ipc.RecordBatch(
      batch.numRows,
      assembled.nodes,
      assembled.bufferRegions,
      null,
      assembled.variadicBufferCounts,
      batch.metadata,
    );
    const message = Message.from(records, assembled.byteLength);
    return new AssembledFlightData(Message.encode(message), bytesOf(assembled.buffers), assembled.byteLength);
  }
}

const EMPTY = new Uint8Array(0);

function bytesOf(buffers: readonly ArrayBufferView[]): Uint8Array[] {
  return buffers.map((b) => (b instanceof Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength)));
}

/**
 * Checks that a batch's fields have the stream's names and types (nullability and metadata aside)
 * and maps the batch's dictionary ids onto the stream schema's: batches built separately get fresh
 * ids from Arrow, but the Schema message already fixed them. Returns the first mismatch, if any.
 */
function matchFields(want: readonly Field[], got: readonly Field[], ids: Map<number, number>, path: string): string | undefined {
  if (want.length !== got.length) {
    return `${path === '' ? 'the batch' : path} has ${got.length} fields, expected ${want.length}`;
  }
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    const where = path === '' ? `field ${i} '${w.name}'` : `${path}.${w.name}`;
    if (w.name !== g.name) return `${where} is named '${g.name}'`;
    const mismatch = matchTypes(w.type, g.type, ids, where);
    if (mismatch !== undefined) return mismatch;
  }
  return undefined;
}

function matchTypes(want: DataType, got: DataType, ids: Map<number, number>, where: string): string | undefined {
  const mismatch = `${where} is ${String(got)}, expected ${String(want)}`;
  if (DataType.isDictionary(want) || DataType.isDictionary(got)) {
    if (!DataType.isDictionary(want) || !DataType.isDictionary(got)) return mismatch;
    if (want.isOrdered !== got.isOrdered || !sameType(want.indices, got.indices)) return mismatch;
    const mapped = ids.get(got.id);
    if (mapped !== undefined && mapped !== want.id) return `${where} shares a dictionary the stream schema does not`;
    ids.set(got.id, want.id);
    return matchTypes(want.dictionary, got.dictionary, ids, where);
  }
  const wantChildren: readonly Field[] = want.children ?? [];
  const gotChildren: readonly Field[] = got.children ?? [];
  if (wantChildren.length === 0 && gotChildren.length === 0) return sameType(want, got) ? undefined : mismatch;
  if (want.typeId !== got.typeId || !NESTED_PARAMS.every((key) => String(param(want, key)) === String(param(got, key)))) {
    return mismatch;
  }
  return matchFields(wantChildren, gotChildren, ids, where);
}

/** Parameters of nested types besides their children (FixedSizeList, Map, Union). */
const NESTED_PARAMS = ['listSize', 'keysSorted', 'mode', 'typeIds'] as const;

function param(type: DataType, key: (typeof NESTED_PARAMS)[number]): unknown {
  return (type as unknown as Record<string, unknown>)[key];
}

/** Arrow's comparator checks `other instanceof type.constructor`, so Int vs Int64 must be tried both ways. */
function sameType(a: DataType, b: DataType): boolean {
  return compareTypes(a, b) || compareTypes(b, a);
}
