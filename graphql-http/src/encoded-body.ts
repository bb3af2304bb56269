/**
 * Apollo Server's answer written as bytes from a reused buffer, not as a string (see json-bytes.ts
 * for why and for the figures).
 *
 * Apollo hands an answer to its `stringifyResult` option and expects a string back. Each GraphQL
 * process passes {@link stringifyResult} there. While the HTTP front executes a request, it keeps
 * an {@link EncodedBody} for that request in async-local storage:
 * - `stringifyResult` encodes the answer into that body's buffer and returns {@link ENCODED_BODY};
 * - the front then writes the buffer's bytes.
 * Outside the front (a test's `executeHTTPGraphQLRequest`), it returns what Apollo's own default does.
 *
 * A buffer is lent to one response and only taken back once that response closes (written, or
 * its connection gone), so bytes still queued on a socket are never overwritten.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ByteSink, writeJson } from './json-bytes.js';

/** What `stringifyResult` returns inside the front: never a JSON text, so never mistaken for one. */
export const ENCODED_BODY = '\u0000flightdeck: the answer is in the request\u2019s encoded body';

/** Buffers kept for reuse, and the largest kept (a larger one, grown for a rare answer, is dropped). */
const POOLED_BUFFERS = 4;
const LARGEST_POOLED_BYTES = 16 * 1024 * 1024;

/** A few reused byte buffers for answers. */
export class BodyBuffers {
  readonly #free: ByteSink[] = [];

  take(): ByteSink {
    const sink = this.#free.pop() ?? new ByteSink(256 * 1024);
    sink.reset();
    return sink;
  }

  give(sink: ByteSink): void {
    if (this.#free.length < POOLED_BUFFERS && sink.capacity <= LARGEST_POOLED_BYTES) this.#free.push(sink);
  }

  /** Buffers waiting for reuse (for tests). */
  get pooled(): number {
    return this.#free.length;
  }
}

/** One request's answer, as bytes. */
export class EncodedBody {
  #sink: ByteSink | undefined;
  #released = false;

  constructor(private readonly buffers: BodyBuffers) {}

  /**
   * Encodes `result` as Apollo's default would (JSON and a newline), replacing any earlier answer;
   * false once released (the response closed first: its client is gone).
   */
  encode(result: unknown): boolean {
    if (this.#released) return false;
    this.#sink ??= this.buffers.take();
    this.#sink.reset();
    writeJson(this.#sink, result);
    this.#sink.write('\n');
    return true;
  }

  /** The encoded answer (a view of the lent buffer, valid until {@link release}). */
  bytes(): Buffer | undefined {
    return this.#released ? undefined : this.#sink?.bytes();
  }

  /** Gives the buffer back; call once nothing reads {@link bytes} any more (the response closed). */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    if (this.#sink !== undefined) this.buffers.give(this.#sink);
    this.#sink = undefined;
  }
}

const current = new AsyncLocalStorage<EncodedBody>();

/** Runs `execute` (Apollo's request execution) with `body` as the place its answer is encoded to. */
export function withEncodedBody<T>(body: EncodedBody, execute: () => Promise<T>): Promise<T> {
  return current.run(body, execute);
}

/** Apollo Server's `stringifyResult` option for every GraphQL process behind the HTTP front. */
export function stringifyResult(result: unknown): string {
  const body = current.getStore();
  if (body !== undefined && body.encode(result)) return ENCODED_BODY;
  return `${JSON.stringify(result)}\n`;
}
