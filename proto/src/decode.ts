/**
 * Decoding side of the Flight codec: turns FlightData back into record batches.
 *
 * Each FlightData is checked (header decodes, Schema first and once, body at least bodyLength,
 * buffers inside the body), reassembled into an encapsulated IPC message and fed to Arrow's own
 * stream reader, so dictionaries, delta and replacement dictionaries and every type Arrow reads work.
 * Faults surface as FlightError INVALID_ARGUMENT naming the message; errors of the source (e.g. the
 * gRPC status of a failed DoGet) pass through unchanged.
 */
import { Readable } from 'node:stream';
import { RecordBatchReader, Table, type RecordBatch, type Schema } from 'apache-arrow';
import { FlightError } from './errors.js';
import { decodeMessageHeader, frameMessageHeader } from './wire/ipc-message.js';
import type { FlightData, FlightDescriptor } from './messages.js';

const EMPTY = new Uint8Array(0);

/** The slice of Arrow's async stream reader this class drives. */
interface IpcReader {
  readonly schema: Schema | null | undefined;
  open(): Promise<unknown>;
  next(): Promise<IteratorResult<RecordBatch>>;
}

export interface DecodeFlightDataOptions {
  /** Called when the consumer stops early or calls cancel(), e.g. to cancel the gRPC call. */
  onCancel?: () => void;
}

/** Decodes a FlightData stream back into record batches (see FlightRecordBatchStream). */
export function decodeFlightData(
  messages: AsyncIterable<FlightData> | Iterable<FlightData>,
  opts: DecodeFlightDataOptions = {},
): FlightRecordBatchStream {
  return new FlightRecordBatchStream(messages, opts);
}

export class FlightRecordBatchStream implements AsyncIterable<RecordBatch> {
  readonly #source: AsyncIterable<FlightData> | Iterable<FlightData>;
  readonly #onCancel: (() => void) | undefined;
  #sourceIterator: AsyncIterator<FlightData> | Iterator<FlightData> | undefined;
  #reader: Promise<{ reader: IpcReader; schema: Schema }> | undefined;
  /** Settled by #ipcBytes when the Schema message arrives: Arrow's reader reads one message ahead. */
  readonly #schema = deferred<Schema>();
  #cancelled = false;
  #sourceDone = false;
  #pulling = false;
  #failure: unknown;
  #iterated = false;
  #messages = 0;
  #recordBatchMessages = 0;
  #firstDescriptor: FlightDescriptor | undefined;
  #lastAppMetadata: Uint8Array = EMPTY;
  /** app_metadata of record batch messages read but not yet yielded. */
  readonly #pendingAppMetadata: Uint8Array[] = [];

  constructor(messages: AsyncIterable<FlightData> | Iterable<FlightData>, opts: DecodeFlightDataOptions = {}) {
    this.#source = messages;
    this.#onCancel = opts.onCancel;
  }

  /** The descriptor of the first FlightData (DoPut); known once {@link schema} resolved. */
  get firstDescriptor(): FlightDescriptor | undefined {
    return this.#firstDescriptor;
  }

  /** app_metadata of the FlightData that carried the batch last yielded (empty if none). */
  get lastAppMetadata(): Uint8Array {
    return this.#lastAppMetadata;
  }

  /** Number of FlightData messages consumed so far. */
  get messageCount(): number {
    return this.#messages;
  }

  /** Resolves once the Schema message arrived (also for streams with zero batches). */
  schema(): Promise<Schema> {
    this.#open().catch(() => undefined);
    return this.#schema.promise;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<RecordBatch, void, undefined> {
    if (this.#iterated) throw new Error('a FlightRecordBatchStream can be iterated only once');
    this.#iterated = true;
    const { reader } = await this.#open();
    let finished = false;
    try {
      for (;;) {
        let result: IteratorResult<RecordBatch>;
        try {
          result = await reader.next();
        } catch (err) {
          finished = true;
          await this.#release();
          throw this.#fail(err);
        }
        if (result.done) {
          finished = true;
          return;
        }
        // Arrow yields an empty placeholder batch for a stream without record batches.
        if (this.#recordBatchMessages === 0) continue;
        this.#lastAppMetadata = this.#pendingAppMetadata.shift() ?? EMPTY;
        yield result.value;
      }
    } finally {
      if (!finished) await this.#release();
    }
  }

  /** All batches, in order. */
  async readAll(): Promise<RecordBatch[]> {
    const batches: RecordBatch[] = [];
    for await (const batch of this) batches.push(batch);
    return batches;
  }

  /** All batches as one Table (an empty Table with the schema for zero batches). */
  async readTable(): Promise<Table> {
    const batches = await this.readAll();
    return new Table(batches[0]?.schema ?? (await this.schema()), batches);
  }

  /** Stops reading and releases the source (cancels the call behind it). */
  async cancel(): Promise<void> {
    this.#iterated = true;
    await this.#release();
  }

  async #release(): Promise<void> {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.#onCancel?.();
    // Arrow's byte-stream adapter does not forward return() to its source, so close it here. A
    // generator that is still producing a message takes return() once it is done; don't wait for that.
    const iterator = this.#sourceIterator;
    if (this.#sourceDone || iterator?.return === undefined) return;
    const closing = Promise.resolve(iterator.return()).catch(() => undefined);
    if (!this.#pulling) await closing;
  }

  #open(): Promise<{ reader: IpcReader; schema: Schema }> {
    this.#reader ??= (async () => {
      try {
        const reader = (await RecordBatchReader.from(this.#ipcBytes())) as unknown as IpcReader;
        await reader.open();
        const schema = reader.schema;
        if (schema === undefined || schema === null) {
          throw new FlightError('INVALID_ARGUMENT', 'FlightData stream has no Schema message');
        }
        return { reader, schema };
      } catch (err) {
        await this.#release();
        const failure = this.#fail(err);
        this.#schema.reject(failure);
        throw failure;
      }
    })();
    this.#schema.promise.catch(() => undefined);
    return this.#reader;
  }

  /** The error to surface: the first fault seen by #ipcBytes, else Arrow's, as INVALID_ARGUMENT. */
  #fail(err: unknown): unknown {
    if (this.#failure !== undefined) return this.#failure;
    if (err instanceof FlightError) return err;
    const text = err instanceof Error ? err.message : String(err);
    return new FlightError('INVALID_ARGUMENT', `invalid Arrow IPC data in FlightData stream: ${text}`, { cause: err });
  }

  /** Checked FlightData -> encapsulated IPC message bytes, as Arrow's stream reader expects them. */
  async *#ipcBytes(): AsyncGenerator<Uint8Array, void, undefined> {
    let sawSchema = false;
    const source = this.#source;
    // A Readable's default iterator destroys the stream when it ends: for a grpc-js server call
    // (DoPut, DoExchange) that would kill the response side too.
    const iterator =
      source instanceof Readable
        ? (source.iterator({ destroyOnReturn: false }) as AsyncIterator<FlightData>)
        : Symbol.asyncIterator in source
          ? source[Symbol.asyncIterator]()
          : source[Symbol.iterator]();
    this.#sourceIterator = iterator;
    try {
      for (;;) {
        if (this.#cancelled) return;
        let next: IteratorResult<FlightData>;
        this.#pulling = true;
        try {
          next = await iterator.next();
        } catch (err) {
          this.#sourceDone = true;
          throw err;
        } finally {
          this.#pulling = false;
        }
        if (next.done) {
          this.#sourceDone = true;
          break;
        }
        const msg = next.value;
        const index = this.#messages++;
        if (index === 0) this.#firstDescriptor = msg.flightDescriptor ?? undefined;
        const where = `FlightData message ${index}`;
        const header = msg.dataHeader ?? EMPTY;
        const body = msg.dataBody ?? EMPTY;
        if (header.length === 0) {
          if (body.length > 0) throw invalid(`${where}: data_body of ${body.length} bytes without a data_header`);
          continue; // metadata-only message
        }
        const message = decodeMessageHeader(header, where);
        if (message.isSchema()) {
          if (sawSchema) throw invalid(`${where}: a second Schema message`);
          sawSchema = true;
          this.#schema.resolve(message.header());
        } else if (!sawSchema) {
          const kind = message.isRecordBatch() ? 'RecordBatch' : 'DictionaryBatch';
          throw invalid(`${where}: ${kind} before the Schema message`);
        } else if (message.isRecordBatch()) {
          this.#recordBatchMessages++;
          this.#pendingAppMetadata.push(msg.appMetadata ?? EMPTY);
        }
        if (body.length < message.bodyLength) {
          throw invalid(`${where}: data_body has ${body.length} bytes, the header's bodyLength is ${message.bodyLength}`);
        }
        yield frameMessageHeader(header);
        if (message.bodyLength > 0) yield aligned(body.subarray(0, message.bodyLength));
        // Arrow's byte-stream adapter pulls another chunk before serving a read that takes exactly
        // the bytes it holds; an empty chunk satisfies that pull, so a message is decoded as soon as
        // it arrives rather than when the next one does (a DoGet `follow` stream may wait minutes).
        yield EMPTY;
      }
      if (!sawSchema) {
        throw invalid(
          this.#messages === 0
            ? 'FlightData stream is empty: expected a Schema message'
            : 'FlightData stream ended without a Schema message',
        );
      }
    } catch (err) {
      this.#failure ??= err;
      if (!this.#sourceDone) await this.#release();
      throw err;
    }
  }
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (reason: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Received buffers can sit at any offset; Arrow's typed-array views need 8-byte alignment. */
function aligned(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset % 8 === 0 ? bytes : new Uint8Array(bytes);
}

function invalid(message: string): FlightError {
  return new FlightError('INVALID_ARGUMENT', message);
}
