/** DoPut: every batch of one stream commits atomically as one new version, or none does. */
import type * as grpc from '@grpc/grpc-js';
import { decodeFlightData, FlightError, type FlightData, type PutResult } from '@flightdeck/proto';
import { CallLog } from '../observe/call-log.js';
import { incomingMessages } from '../transport/request-guard.js';
import { validatedBatches } from '../wire/batch-validation.js';
import { datasetOfPath } from '../wire/descriptor.js';
import { countRows, type HandlerContext } from './call-runner.js';

export function doPut(ctx: HandlerContext): grpc.handleBidiStreamingCall<FlightData, PutResult> {
  const { store, gate } = ctx;
  return (call) => {
    const log = new CallLog(ctx.logger, 'DoPut', gate);
    const aborted = new AbortController();
    call.on('cancelled', () => aborted.abort());
    const run = async () => {
      gate.admit(log, call, 'DoPut');
      let receivedAt = 0;
      const stream = decodeFlightData(
        incomingMessages(call, {
          signal: gate.shutdownSignal,
          onBytes: (bytes) => {
            log.bytes += bytes;
          },
          onEnd: () => {
            receivedAt = performance.now();
          },
        }),
      );
      const schema = await stream.schema();
      const dataset = datasetOfPath(stream.firstDescriptor);
      log.dataset = dataset;
      const outcome = await store.put(
        dataset,
        schema,
        countRows(validatedBatches(stream), (rows) => {
          log.rows += rows;
        }),
        aborted.signal,
      );
      if (call.cancelled) throw new FlightError('ABORTED', 'client cancelled the DoPut');
      gate.metrics.observeCommit('put', (performance.now() - receivedAt) / 1000);
      call.write({ appMetadata: Buffer.from(JSON.stringify(outcome), 'utf8') });
    };
    run().then(
      () => {
        log.finish();
        call.end();
      },
      (err: unknown) => call.emit('error', log.finish(err)),
    );
  };
}
