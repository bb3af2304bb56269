/**
 * `Subscription.barUpdates`: each row committed for one of the symbols, pushed once, as a `Bar`.
 *
 * One Flight DoGet with `follow` per subscription (CONTRACT "Descriptors"): its first batches are
 * the rows already stored (read at the version the stream starts from, always at least one batch,
 * and dropped here), every later batch the rows of one commit. A reader takes batches off the
 * Flight stream as they come and queues their bars for the subscriber; a subscriber that lets more
 * than `maxBuffered` bars pile up (its WebSocket does not drain) is cut with the GraphQL error
 * `SUBSCRIBER_TOO_SLOW` naming the limit, and its Flight stream is cancelled. Closing the
 * subscription cancels the Flight stream too.
 */
import { serializeQuery } from '@flightdeck/contract';
import { FlightError, type FlightRecordBatchStream } from '@flightdeck/proto';
import { Table, type RecordBatch } from 'apache-arrow';
import type { GraphQLError } from 'graphql';
import type { Logger } from 'pino';
import { barColumns, barShape, barsOfSlice, blockOfTable, type Bar, type BarShape } from '../bar-block.js';
import type { DatasetCatalog } from '../dataset-catalog.js';
import { facadeError, toGraphQLError } from '../errors.js';

/** What barUpdates needs of a Flight client: a DoGet stream. */
export interface FollowPort {
  doGet(ticket: string): FlightRecordBatchStream;
}

export interface BarUpdatesLimits {
  /** Bars one subscriber may have queued, not yet sent, before it is cut. */
  maxBuffered: number;
}

/** A queued event: a bar, or the error that ends the subscription. */
type BarEvent = { bar: Bar } | { error: GraphQLError };

/**
 * The subscription's source stream for graphql-js's `subscribe`: `{ barUpdates: bar }` per bar;
 * a fault is thrown from next() once the bars queued before it are taken, which graphql-ws sends
 * as the operation's `error` message.
 */
export class BarUpdates implements AsyncIterableIterator<{ barUpdates: Bar }> {
  readonly #queue: BarEvent[] = [];
  #head = 0;
  #ended = false;
  #failed = false;
  #wake: (() => void) | undefined;
  #onEnd: (() => void) | undefined;
  readonly #stream: FlightRecordBatchStream;
  readonly #reading: Promise<void>;

  private constructor(
    stream: FlightRecordBatchStream,
    private readonly shape: BarShape,
    private readonly limits: BarUpdatesLimits,
    private readonly log: Logger,
  ) {
    this.#stream = stream;
    this.#reading = this.#read();
  }

  /**
   * Starts following `symbols` of a dataset: the dataset must exist (NOT_FOUND otherwise, as a
   * GraphQL error) and have bar columns. Resolves once the Flight stream has started.
   */
  static async start(
    follow: FollowPort,
    catalog: DatasetCatalog,
    args: { dataset: string; symbols: string[] },
    limits: BarUpdatesLimits,
    log: Logger,
  ): Promise<BarUpdates> {
    let shape: BarShape;
    try {
      shape = barShape(await catalog.describe(args.dataset, { fresh: true }));
    } catch (err) {
      throw toGraphQLError(err);
    }
    const ticket = serializeQuery({ dataset: shape.dataset, symbols: args.symbols, columns: barColumns(shape), follow: true });
    const stream = follow.doGet(ticket);
    try {
      await stream.schema();
    } catch (err) {
      await stream.cancel().catch(() => undefined);
      throw toGraphQLError(err);
    }
    log.info({ dataset: shape.dataset, symbols: args.symbols.length }, 'barUpdates subscribed');
    return new BarUpdates(stream, shape, limits, log);
  }

  /** Runs `callback` once, when the subscription ends (the subscriber went or it was cut). */
  onEnd(callback: () => void): void {
    if (this.#ended) callback();
    else this.#onEnd = callback;
  }

  /** Bars queued and not yet taken by the subscriber. */
  get buffered(): number {
    return this.#queue.length - this.#head;
  }

  async #read(): Promise<void> {
    let firstVersion: number | undefined;
    try {
      for await (const batch of this.#stream as AsyncIterable<RecordBatch>) {
        const version = versionOf(this.#stream.lastAppMetadata);
        firstVersion ??= version;
        // The rows stored when the stream started: not updates.
        if (version === firstVersion) continue;
        for (const bar of barsOfBatch(batch, this.shape)) {
          if (this.buffered >= this.limits.maxBuffered) {
            this.#fail(
              facadeError(
                'SUBSCRIBER_TOO_SLOW',
                `this subscriber has ${this.limits.maxBuffered} bars waiting to be sent (FACADE_SUBSCRIPTION_BUFFER=${this.limits.maxBuffered}) and was cut; read faster or subscribe to fewer symbols`,
                { limit: 'FACADE_SUBSCRIPTION_BUFFER', value: this.limits.maxBuffered },
              ),
            );
            return;
          }
          this.#queue.push({ bar });
        }
        this.#notify();
      }
      if (!this.#ended) this.#fail(facadeError('SERVICE_UNAVAILABLE', 'the Flight follow stream ended'));
    } catch (err) {
      if (this.#ended) return;
      this.#fail(streamFault(err));
    }
  }

  #fail(error: GraphQLError): void {
    if (this.#ended || this.#failed) return;
    this.#failed = true;
    this.log.info({ dataset: this.shape.dataset, error: error.message }, 'barUpdates cut');
    // The error goes out after what is queued; the Flight stream stops now.
    this.#queue.push({ error });
    void this.#stream.cancel().catch(() => undefined);
    this.#notify();
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  async next(): Promise<IteratorResult<{ barUpdates: Bar }>> {
    for (;;) {
      if (this.#ended) return { done: true, value: undefined };
      if (this.#head < this.#queue.length) {
        const event = this.#queue[this.#head]!;
        this.#queue[this.#head++] = undefined as never;
        if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
          this.#queue.splice(0, this.#head);
          this.#head = 0;
        }
        if ('error' in event) {
          await this.return();
          throw event.error;
        }
        return { done: false, value: { barUpdates: event.bar } };
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  /** The subscriber went: the Flight stream is cancelled and the queue let go. */
  async return(): Promise<IteratorResult<{ barUpdates: Bar }>> {
    if (!this.#ended) {
      this.#ended = true;
      this.#queue.length = 0;
      this.#head = 0;
      this.#notify();
      await this.#stream.cancel().catch(() => undefined);
      await this.#reading;
      this.#onEnd?.();
      this.#onEnd = undefined;
      this.log.info({ dataset: this.shape.dataset }, 'barUpdates ended');
    }
    return { done: true, value: undefined };
  }

  async throw(err?: unknown): Promise<IteratorResult<{ barUpdates: Bar }>> {
    await this.return();
    throw err;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** What a follow stream's failure means to the subscriber. */
function streamFault(err: unknown): GraphQLError {
  if (err instanceof FlightError && err.code === 'RESOURCE_EXHAUSTED') {
    // The Flight server cut this facade's follower (FLIGHT_FOLLOW_MAX_PENDING): it fell behind.
    return facadeError('SUBSCRIBER_TOO_SLOW', err.message, { flightCode: err.code });
  }
  if (err instanceof FlightError && err.code === 'CANCELLED') return facadeError('SERVICE_UNAVAILABLE', 'the Flight follow stream was cancelled');
  return toGraphQLError(err);
}

function versionOf(meta: Uint8Array): number {
  try {
    const v = (JSON.parse(Buffer.from(meta).toString('utf8')) as { version?: unknown }).version;
    if (typeof v === 'number') return v;
  } catch {
    // handled below
  }
  throw new FlightError('INTERNAL', 'a follow batch carries no {"version":V} app_metadata');
}

function barsOfBatch(batch: RecordBatch, shape: BarShape): Bar[] {
  const block = blockOfTable(new Table([batch]), shape);
  return block.runs.flatMap((run) => barsOfSlice({ symbol: run.symbol, block, start: run.start, end: run.end }));
}
