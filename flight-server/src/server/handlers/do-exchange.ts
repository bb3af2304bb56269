/** DoExchange is not offered: UNIMPLEMENTED once the call is admitted (auth and limits first). */
import type * as grpc from '@grpc/grpc-js';
import { FlightError, type FlightData } from '@flightdeck/proto';
import { CallLog } from '../observe/call-log.js';
import type { HandlerContext } from './call-runner.js';

export function doExchange(ctx: HandlerContext): grpc.handleBidiStreamingCall<FlightData, FlightData> {
  return (call) => {
    const log = new CallLog(ctx.logger, 'DoExchange', ctx.gate);
    try {
      ctx.gate.admit(log, call, 'DoExchange');
      throw new FlightError('UNIMPLEMENTED', 'DoExchange is not supported by flightdeck');
    } catch (err) {
      call.emit('error', log.finish(err));
    }
  };
}
