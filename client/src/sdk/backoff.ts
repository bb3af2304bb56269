/** Exponential backoff with jitter, and a sleep that an AbortSignal cuts short. */

export interface BackoffOptions {
  /** Delay before the first retry. Default 250 ms. */
  initialDelayMs?: number;
  /** Cap on any one delay. Default 10 s. */
  maxDelayMs?: number;
}

/** The delay before retry number `attempt` (0-based): doubling, capped, with "equal jitter". */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const initial = opts.initialDelayMs ?? 250;
  const max = opts.maxDelayMs ?? 10_000;
  const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
