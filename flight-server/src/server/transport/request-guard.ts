/**
 * Malformed request messages become INVALID_ARGUMENT instead of grpc-js's INTERNAL "Error
 * deserializing request": the server-side deserializers are wrapped so that bytes that do not
 * parse arrive at the handler as a {@link MalformedRequest}, which the call wrappers (unary and
 * server-streaming) and {@link incomingMessages} (client streams) turn into the contract's status.
 */
import type { Readable } from 'node:stream';
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { FlightError, type FlightData } from '@flightdeck/proto';

export class MalformedRequest {
  constructor(
    readonly method: string,
    readonly cause: unknown,
  ) {}

  toError(): FlightError {
    const cause = this.cause;
    if (cause instanceof FlightError && cause.code === 'INVALID_ARGUMENT') return cause;
    const text = cause instanceof Error ? cause.message : String(cause);
    return new FlightError('INVALID_ARGUMENT', `malformed ${this.method} request message: ${text}`, { cause });
  }
}

/** A copy of `definition` whose request deserializers never throw. */
export function tolerateMalformedRequests<D extends ServiceDefinition>(definition: D): D {
  const out: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(definition) as [string, MethodDefinition<unknown, unknown>][]) {
    const deserialize = method.requestDeserialize;
    out[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return deserialize(bytes);
        } catch (err) {
          return new MalformedRequest(name, err);
        }
      },
    };
  }
  return out as D;
}

/** The request, or INVALID_ARGUMENT when it did not parse. */
export function wellFormed<T>(request: T | MalformedRequest): T {
  if (request instanceof MalformedRequest) throw request.toError();
  return request;
}

export interface IncomingOptions {
  /** Called with each message's IPC size (data_header + data_body). */
  onBytes?: (bytes: number) => void;
  /** Aborting ends the stream with the signal's reason (a FlightError) while messages still arrive. */
  signal?: AbortSignal;
  /** Called once when the client has sent its last message. */
  onEnd?: () => void;
}

/**
 * grpc-js reports a client's RST_STREAM first as the end of the request stream and only then, once
 * Node has closed the HTTP/2 stream, as a cancellation. One timer turn later the two are told
 * apart; throws CANCELLED when the "end" was a cancel, so a cut-off upload is never taken as whole.
 */
export async function cancellationSettled(call: object): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 0));
  if ((call as { cancelled?: boolean }).cancelled === true) {
    throw new FlightError('CANCELLED', 'the client cancelled the call before its end');
  }
}

/**
 * The FlightData messages of a client stream: malformed ones fail with INVALID_ARGUMENT, and an
 * aborted `signal` (shutdown) stops the stream at once, even while the client is idle.
 */
export async function* incomingMessages(call: Readable, opts: IncomingOptions = {}): AsyncGenerator<FlightData> {
  // Not destroyed on early return: the call must still send its status.
  const iterator = call.iterator({ destroyOnReturn: false }) as AsyncIterator<FlightData | MalformedRequest>;
  const signal = opts.signal;
  let onAbort: (() => void) | undefined;
  const aborted =
    signal === undefined
      ? undefined
      : new Promise<never>((_, reject) => {
          onAbort = () => reject(signal.reason as Error);
          signal.addEventListener('abort', onAbort, { once: true });
        });
  aborted?.catch(() => undefined);
  try {
    for (;;) {
      if (signal?.aborted) throw signal.reason as Error;
      const next = await (aborted === undefined ? iterator.next() : Promise.race([iterator.next(), aborted]));
      if (next.done) {
        await cancellationSettled(call);
        opts.onEnd?.();
        return;
      }
      const message = wellFormed(next.value);
      opts.onBytes?.(message.dataHeader.byteLength + message.dataBody.byteLength);
      yield message;
    }
  } finally {
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    // Not awaited: after an abort a read is still pending, and return() would wait for it.
    iterator.return?.()?.catch(() => undefined);
  }
}
