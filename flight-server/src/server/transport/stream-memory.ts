/**
 * The server-wide budget of memory held by open DoGet streams (FLIGHT_STREAM_MEMORY_MB). Before
 * a stream reads anything it reserves what it can hold at most (its read window plus its unflushed
 * messages) and keeps the reservation until it ends, however it ends. A stream reserves all it
 * needs at once, so streams never hold part of the budget while waiting for more (no deadlock).
 *
 * When the budget is spent, a new stream waits, first come first served, until the reservations
 * of ending streams make room, at most FLIGHT_STREAM_MEMORY_WAIT_MS and never past its deadline;
 * then it is refused with RESOURCE_EXHAUSTED naming the limit. A stream needing more than the
 * whole budget is refused at once.
 */
import { FlightError } from '@flightdeck/proto';
import { deadlineOf } from './stream-write.js';

const MiB = 1024 * 1024;

/** What the budget reads of a call: whether it was cancelled, its deadline. */
export interface WaitingCall {
  cancelled: boolean;
  getDeadline?: () => Date | number;
  on(event: 'cancelled', listener: () => void): unknown;
  off(event: 'cancelled', listener: () => void): unknown;
}

export interface StreamMemoryStats {
  /** Bytes reserved by open streams. */
  reservedBytes: number;
  /** FLIGHT_STREAM_MEMORY_MB in bytes; 0 = unlimited. */
  limitBytes: number;
  /** Streams waiting for room. */
  waiting: number;
}

/** A stream's reservation; release() is idempotent. */
export interface StreamMemoryLease {
  readonly bytes: number;
  release(): void;
}

interface Waiter {
  bytes: number;
  grant: () => void;
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(bytes < 10 * MiB ? 1 : 0)} MiB`;

export class StreamMemoryBudget {
  #reserved = 0;
  readonly #queue: Waiter[] = [];

  constructor(
    /** 0 = unlimited (reservations are still counted). */
    readonly limitBytes: number,
    /** How long a stream may wait for room before it is refused. */
    readonly maxWaitMs: number,
  ) {}

  stats(): StreamMemoryStats {
    return { reservedBytes: this.#reserved, limitBytes: this.limitBytes, waiting: this.#queue.length };
  }

  /**
   * Reserves `bytes` for a stream of `call`, waiting for room as described above. Throws
   * RESOURCE_EXHAUSTED (no room in time, or more than the whole budget), DEADLINE_EXCEEDED or
   * CANCELLED (the call ended while it waited).
   */
  async acquire(bytes: number, call: WaitingCall): Promise<StreamMemoryLease> {
    const need = Math.max(0, Math.ceil(bytes));
    const limit = this.limitBytes;
    if (limit > 0 && need > limit) {
      throw new FlightError(
        'RESOURCE_EXHAUSTED',
        `this DoGet would hold ${mib(need)}, more than FLIGHT_STREAM_MEMORY_MB=${limit / MiB} allows all DoGet streams together; narrow the query (start, end, symbols) or read the endpoints of GetFlightInfo one by one`,
      );
    }
    if (this.#queue.length === 0 && this.#fits(need)) return this.#grant(need);
    if (call.cancelled) throw new FlightError('CANCELLED', 'the client cancelled the call');

    const deadline = Math.min(deadlineOf(call), Date.now() + this.maxWaitMs);
    const waited = Date.now();
    return new Promise<StreamMemoryLease>((resolve, reject) => {
      const waiter: Waiter = { bytes: need, grant: () => settle(() => resolve(this.#grant(need))) };
      const onCancel = () => settle(() => reject(new FlightError('CANCELLED', 'the client cancelled the call while it waited for DoGet memory')));
      const onTimeout = () =>
        settle(() => {
          const stats = this.stats();
          const why =
            deadlineOf(call) <= Date.now()
              ? new FlightError('DEADLINE_EXCEEDED', `the call's deadline passed while it waited for DoGet memory (FLIGHT_STREAM_MEMORY_MB=${limit / MiB})`)
              : new FlightError(
                  'RESOURCE_EXHAUSTED',
                  `open DoGet streams hold ${mib(stats.reservedBytes)} of FLIGHT_STREAM_MEMORY_MB=${limit / MiB}; this one needs ${mib(need)} and waited ${Date.now() - waited} ms (FLIGHT_STREAM_MEMORY_WAIT_MS=${this.maxWaitMs}); retry later or read fewer streams at once`,
                );
          reject(why);
        });
      // Timers run on the monotonic clock and the deadline is wall-clock time: re-arm until it has passed.
      let timer: NodeJS.Timeout | undefined;
      const watch = () => {
        const left = deadline - Date.now();
        if (left > 0) timer = setTimeout(watch, left);
        else onTimeout();
      };
      let settled = false;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        call.off('cancelled', onCancel);
        const i = this.#queue.indexOf(waiter);
        if (i >= 0) this.#queue.splice(i, 1);
        outcome();
        // A waiter that gave up may have been all that held back those behind it.
        this.#pump();
      };
      call.on('cancelled', onCancel);
      this.#queue.push(waiter);
      watch();
    });
  }

  #fits(bytes: number): boolean {
    return this.limitBytes === 0 || this.#reserved + bytes <= this.limitBytes;
  }

  #grant(bytes: number): StreamMemoryLease {
    this.#reserved += bytes;
    let released = false;
    return {
      bytes,
      release: () => {
        if (released) return;
        released = true;
        this.#reserved -= bytes;
        this.#pump();
      },
    };
  }

  /** Grants waiters in arrival order while the first of them fits. */
  #pump(): void {
    while (this.#queue.length > 0 && this.#fits(this.#queue[0]!.bytes)) this.#queue.shift()!.grant();
  }
}
