import { once } from 'node:events';
import type { Writable } from 'node:stream';

/**
 * Writes every message to a gRPC stream, waiting for `drain` whenever write() says the buffer is
 * full, and stops early when the client goes away.
 */
export async function writeWithBackpressure<T>(
  call: Writable & { cancelled: boolean },
  messages: AsyncIterable<T> | Iterable<T>,
  onMessage?: (message: T) => void,
): Promise<boolean> {
  for await (const message of messages) {
    if (call.cancelled || call.destroyed) return false;
    onMessage?.(message);
    if (!call.write(message)) {
      await Promise.race([once(call, 'drain'), once(call, 'close'), once(call, 'cancelled')]);
    }
  }
  return !call.cancelled;
}
