/**
 * A grpc-js response stream as an async generator that ends with the call's status: messages in
 * order, then return on OK or throw the FlightError of any other status. Listeners are attached at
 * once, so a call that fails before anyone reads cannot crash the process or lose its status, and
 * the stream is paused while unread messages pile up (HTTP/2 flow control does the rest).
 */
import { status, type ClientDuplexStream, type ClientReadableStream, type StatusObject } from '@grpc/grpc-js';
import { fromServiceError } from './errors.js';

const HIGH_WATER = 16;
const LOW_WATER = 4;

export function responseStream<T>(
  call: ClientReadableStream<T> | ClientDuplexStream<unknown, T>,
): AsyncGenerator<T, void, undefined> {
  const queue: T[] = [];
  let head = 0;
  let callStatus: StatusObject | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  call.on('data', (message: T) => {
    queue.push(message);
    if (queue.length - head >= HIGH_WATER) call.pause();
    notify();
  });
  call.on('end', () => {
    ended = true;
    notify();
  });
  call.on('status', (s: StatusObject) => {
    callStatus = s;
    notify();
  });
  call.on('error', () => undefined); // the 'status' event carries the same failure

  return (async function* read(): AsyncGenerator<T, void, undefined> {
    let settled = false;
    try {
      for (;;) {
        if (head < queue.length) {
          const message = queue[head]!;
          queue[head++] = undefined as T;
          if (head === queue.length) {
            queue.length = 0;
            head = 0;
          }
          if (queue.length - head <= LOW_WATER && call.isPaused()) call.resume();
          yield message;
          continue;
        }
        if (callStatus !== undefined && callStatus.code !== status.OK) {
          settled = true;
          throw fromServiceError(callStatus);
        }
        if (callStatus !== undefined && ended) {
          settled = true;
          return;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    } finally {
      if (!settled) call.cancel();
    }
  })();
}
