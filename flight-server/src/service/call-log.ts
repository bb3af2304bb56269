/**
 * One log line per Flight call (call, dataset, rows, bytes, duration, status) and the one place
 * where a thrown error becomes a gRPC status: client faults are logged at info, unknown errors
 * at error level.
 */
import { randomUUID } from 'node:crypto';
import { status as grpcStatus } from '@grpc/grpc-js';
import { toServiceError, type FlightServiceError } from '@flightdeck/proto';
import type { Logger } from '../logger.js';

export class CallLog {
  readonly log: Logger;
  dataset: string | undefined;
  rows = 0;
  bytes = 0;
  private readonly started = performance.now();

  constructor(root: Logger, readonly rpc: string) {
    this.log = root.child({ rpc, reqId: randomUUID() });
  }

  /** Logs the call's outcome; returns the status error to send when it failed. */
  finish(err?: unknown): FlightServiceError | undefined {
    const line = {
      dataset: this.dataset,
      rows: this.rows,
      bytes: this.bytes,
      durationMs: Math.round((performance.now() - this.started) * 100) / 100,
    };
    if (err === undefined) {
      this.log.info({ ...line, status: 'OK' }, `${this.rpc} ok`);
      return undefined;
    }
    const status = toServiceError(err);
    if (status.unexpected) {
      this.log.error({ ...line, status: grpcStatus[status.code], err }, `${this.rpc} failed: ${status.details}`);
    } else {
      this.log.info({ ...line, status: grpcStatus[status.code], error: status.details }, `${this.rpc} refused: ${status.details}`);
    }
    return status;
  }
}
