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

/** A call the client cancelled or whose deadline passed: CANCELLED or DEADLINE_EXCEEDED, else undefined. */
export function interrupted(call: { cancelled: boolean; getDeadline(): grpc.Deadline }): FlightError | undefined {
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
