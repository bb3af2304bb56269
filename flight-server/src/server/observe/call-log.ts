/**
 * One log line per Flight call (call, dataset, rows, bytes, duration, status) and the one place
 * where a thrown error becomes a gRPC status: client faults are logged at info, unknown errors
 * at error level. An observer (metrics, open-call accounting) hears of each call's start and end.
 */
import { randomUUID } from 'node:crypto';
import { status as grpcStatus } from '@grpc/grpc-js';
import { toServiceError, type FlightServiceError } from '@flightdeck/proto';
import type { Logger } from '../../logger.js';

/**
 * Status messages echo client input (names, JSON); the trailer carrying them must stay well under
 * the peers' metadata limits (grpc-js: 8 KiB), so they are cut to this many percent-encoded bytes.
 */
export const MAX_STATUS_DETAILS = 2048;

function boundedDetails(details: string): string {
  if (encodeURI(details).length <= MAX_STATUS_DETAILS) return details;
  let cut = details.slice(0, MAX_STATUS_DETAILS);
  while (encodeURI(cut).length > MAX_STATUS_DETAILS - 32) cut = cut.slice(0, Math.floor(cut.length * 0.8));
  return `${cut}… (${details.length} characters, cut)`;
}

export interface CallObserver {
  started(call: CallLog): void;
  /** `status` is the gRPC status name (OK, INVALID_ARGUMENT, ...). */
  finished(call: CallLog, status: string, seconds: number): void;
  /** After finished, once the call's stream has closed (at once for a call without one, see openUntil). */
  closed?(call: CallLog): void;
}

export class CallLog {
  readonly log: Logger;
  dataset: string | undefined;
  /** The authenticated user, when auth is on. */
  user: string | undefined;
  /** DoAction's action type. */
  action: string | undefined;
  rows = 0;
  bytes = 0;
  private readonly started = performance.now();
  private outcome: { status: FlightServiceError | undefined } | undefined;
  private transportClosed: Promise<void> | undefined;

  constructor(
    root: Logger,
    readonly rpc: string,
    private readonly observer?: CallObserver,
  ) {
    this.log = root.child({ rpc, reqId: randomUUID() });
    observer?.started(this);
  }

  get finished(): boolean {
    return this.outcome !== undefined;
  }

  /**
   * The observer hears that the call closed only once `closed` resolves: a stream's handler is done
   * when it hands HTTP/2 its last message, but the stream is open (and a graceful stop must wait
   * for it) until the client has taken those bytes and the status.
   */
  openUntil(closed: Promise<void>): void {
    this.transportClosed = closed;
  }

  /** Logs the call's outcome; returns the status error to send when it failed. Later calls repeat the first outcome. */
  finish(err?: unknown): FlightServiceError | undefined {
    if (this.outcome !== undefined) return this.outcome.status;
    const seconds = (performance.now() - this.started) / 1000;
    const line = {
      dataset: this.dataset,
      ...(this.user === undefined ? {} : { user: this.user }),
      ...(this.action === undefined ? {} : { action: this.action.slice(0, 100) }),
      rows: this.rows,
      bytes: this.bytes,
      durationMs: Math.round(seconds * 100_000) / 100,
    };
    if (err === undefined) {
      this.outcome = { status: undefined };
      this.log.info({ ...line, status: 'OK' }, `${this.rpc} ok`);
      this.notifyObserver('OK', seconds);
      return undefined;
    }
    const status = toServiceError(err);
    status.details = boundedDetails(status.details);
    status.message = status.details;
    this.outcome = { status };
    const name = grpcStatus[status.code] ?? String(status.code);
    if (status.unexpected) {
      this.log.error({ ...line, status: name, err }, `${this.rpc} failed: ${status.details}`);
    } else {
      this.log.info({ ...line, status: name, error: status.details }, `${this.rpc} refused: ${status.details}`);
    }
    this.notifyObserver(name, seconds);
    return status;
  }

  private notifyObserver(status: string, seconds: number): void {
    const observer = this.observer;
    if (!observer) return;
    observer.finished(this, status, seconds);
    if (this.transportClosed === undefined) observer.closed?.(this);
    else void this.transportClosed.then(() => observer.closed?.(this));
  }
}
