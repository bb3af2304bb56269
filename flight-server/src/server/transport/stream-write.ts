import type { Writable } from 'node:stream';
import { bodyLengthOf, type FlightData } from '@flightdeck/proto';

/**
 * Bytes of FlightData a stream may have written but not yet flushed to HTTP/2. grpc-js's writable
 * counts objects (16 before write() returns false), so with 4 MiB messages a stalled reader alone
 * would hold 64 MiB; this caps it per stream whatever the message size.
 */
export const MAX_BYTES_IN_FLIGHT = 8 * 1024 * 1024;

/** FlightData is weighed by its IPC bytes; other messages are small and counted by Node alone. */
function defaultSize(message: unknown): number {
  if (typeof message !== 'object' || message === null) return 0;
  const { dataHeader } = message as { dataHeader?: unknown };
  if (!(dataHeader instanceof Uint8Array)) return 0;
  return dataHeader.byteLength + bodyLengthOf(message as FlightData);
}

/** What the writer needs of a call: grpc-js's object-mode Writable, or any stream with write/drain. */
export type BackpressuredCall = Pick<Writable, 'write' | 'on' | 'off'> & {
  cancelled: boolean;
  destroyed: boolean;
  writableEnded?: boolean;
  writableNeedDrain?: boolean;
  writableObjectMode?: boolean;
  getDeadline?: () => Date | number;
};

/** The call's deadline in epoch ms (Infinity when it has none). */
export function deadlineOf(call: { getDeadline?: () => Date | number }): number {
  const deadline = call.getDeadline?.() ?? Infinity;
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

/**
 * Writes every message to a gRPC stream, waiting for 'drain' whenever write() says the buffer is
 * full and, on an object-mode stream (grpc-js), whenever more than {@link MAX_BYTES_IN_FLIGHT}
 * bytes are not yet flushed; stops early when the client goes away. A slow reader therefore
 * holds at most about that much of the server's memory. Returns false when the call ended early
 * (cancelled, or its deadline passed).
 */
export async function writeWithBackpressure<T>(
  call: BackpressuredCall,
  messages: AsyncIterable<T> | Iterable<T>,
  onMessage?: (message: T) => void,
  sizeOf: (message: T) => number = defaultSize,
  /** Stops the writing as if the client had gone (a follower cut by the server). */
  stop?: AbortSignal,
): Promise<boolean> {
  // A byte stream's own buffer limit already counts bytes; grpc-js's counts messages.
  const weigh = call.writableObjectMode === true;
  let inFlight = 0;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  // grpc-js tells a handler of a passed deadline only once the queued messages are flushed, which
  // a stalled reader never lets happen: watch the deadline here too. Timers run on the monotonic
  // clock and the deadline is wall-clock time, so a timer may fire a millisecond or so before
  // Date.now() reaches the deadline: re-arm until the deadline has truly passed.
  const deadline = deadlineOf(call);
  let timer: NodeJS.Timeout | undefined;
  const watchDeadline = () => {
    const left = deadline - Date.now();
    if (left > 0) timer = setTimeout(watchDeadline, left);
    else notify();
  };
  if (Number.isFinite(deadline)) watchDeadline();
  const gone = () => call.cancelled || call.destroyed || call.writableEnded === true || Date.now() >= deadline || stop?.aborted === true;
  stop?.addEventListener('abort', notify);
  call.on('drain', notify);
  call.on('close', notify);
  call.on('cancelled', notify);
  try {
    for await (const message of messages) {
      if (gone()) return false;
      onMessage?.(message);
      let needDrain: boolean;
      if (weigh) {
        const size = sizeOf(message);
        inFlight += size;
        needDrain = !call.write(message, () => {
          inFlight -= size;
          if (inFlight <= MAX_BYTES_IN_FLIGHT) notify();
        });
      } else {
        needDrain = !call.write(message);
      }
      while ((needDrain || inFlight > MAX_BYTES_IN_FLIGHT) && !gone()) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        needDrain = call.writableNeedDrain === true;
      }
    }
  } finally {
    clearTimeout(timer);
    stop?.removeEventListener('abort', notify);
    call.off('drain', notify);
    call.off('close', notify);
    call.off('cancelled', notify);
  }
  return !call.cancelled && Date.now() < deadline && stop?.aborted !== true;
}
