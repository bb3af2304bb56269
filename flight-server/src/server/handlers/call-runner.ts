/**
 * What every Flight call handler shares: the context it runs in, and the wrappers that admit a
 * call (auth, limits, shutdown), log it once with its outcome, and map its error to a status.
 */
import type * as grpc from '@grpc/grpc-js';
import { FlightError } from '@flightdeck/proto';
import type { RecordBatch } from 'apache-arrow';
import type { Logger } from '../../logger.js';
import type { DatasetStore } from '../../storage/dataset-store.js';
import type { GuardedCall } from '../auth/access-rules.js';
import { CallLog } from '../observe/call-log.js';
import type { CallGate } from '../transport/call-gate.js';
import { deadlineOf } from '../transport/stream-write.js';
import type { EndpointLocations } from '../wire/endpoint-locations.js';

export interface HandlerContext {
  store: DatasetStore;
  logger: Logger;
  gate: CallGate;
  startedAt: number;
  /** The locations GetFlightInfo and ListFlights give endpoints (none without FLIGHT_ADVERTISE_URL). */
  locations: EndpointLocations;
}

/**
 * A call cut by a shutdown (UNAVAILABLE), the client cancelled (CANCELLED) or whose deadline passed
 * (DEADLINE_EXCEEDED), else undefined.
 */
export function interrupted(call: { cancelled: boolean; cut?: boolean; getDeadline(): grpc.Deadline }): FlightError | undefined {
  if (call.cut === true) return new FlightError('UNAVAILABLE', 'the server shut down before the call finished; it was cut at the end of the grace period');
  if (deadlineOf(call) <= Date.now()) return new FlightError('DEADLINE_EXCEEDED', 'the call outlived its deadline; its work was stopped');
  if (call.cancelled) return new FlightError('CANCELLED', 'the client cancelled the call');
  return undefined;
}

export async function* countRows(batches: AsyncIterable<RecordBatch>, onRows: (rows: number) => void): AsyncGenerator<RecordBatch> {
  for await (const b of batches) {
    onRows(b.numRows);
    yield b;
  }
}

/** A unary call: admitted, run, logged, answered. */
export function unaryHandler<Req, Res>(
  ctx: HandlerContext,
  rpc: GuardedCall,
  run: (req: Req, log: CallLog) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const log = new CallLog(ctx.logger, rpc, ctx.gate);
    Promise.resolve()
      .then(() => run(ctx.gate.admit<Req>(log, call, rpc), log))
      .then(
        (res) => {
          log.finish(interrupted(call));
          callback(null, res);
        },
        (err: unknown) => callback(log.finish(err) ?? null),
      );
  };
}

/** A server-streaming call: admitted, run (which writes the stream), logged, ended. */
export function serverStreamHandler<Req, Res>(
  ctx: HandlerContext,
  rpc: GuardedCall,
  run: (call: grpc.ServerWritableStream<Req, Res>, log: CallLog) => Promise<void>,
): grpc.handleServerStreamingCall<Req, Res> {
  return (call) => {
    const log = new CallLog(ctx.logger, rpc, ctx.gate);
    // Open until the stream closes, not when the handler hands over its last message: a graceful
    // stop waits for (or warns about) a slow reader still taking the end of the stream.
    log.openUntil(streamClosed(call));
    Promise.resolve()
      .then(() => {
        ctx.gate.admit(log, call, rpc);
        return run(call, log);
      })
      .then(
        () => {
          log.finish(interrupted(call));
          call.end();
        },
        (err: unknown) => call.emit('error', log.finish(err)),
      );
  };
}

/** Resolves when the call's stream has closed (grpc-js's Writable, or the HTTP/2 stream of http2-doget.ts). */
function streamClosed(call: { destroyed: boolean; once(event: 'close', listener: () => void): unknown }): Promise<void> {
  if (call.destroyed) return Promise.resolve();
  return new Promise<void>((resolve) => call.once('close', resolve));
}
