/** Handshake: basic credentials in, a bearer token out (CONTRACT "Auth"). */
import * as grpc from '@grpc/grpc-js';
import type { HandshakeRequest, HandshakeResponse } from '@flightdeck/proto';
import { CallLog } from '../observe/call-log.js';
import { cancellationSettled } from '../transport/request-guard.js';
import { interrupted, type HandlerContext } from './call-runner.js';

export function handshake(ctx: HandlerContext): grpc.handleBidiStreamingCall<HandshakeRequest, HandshakeResponse> {
  return (call) => {
    const log = new CallLog(ctx.logger, 'Handshake', ctx.gate);
    // pyarrow's authenticate_basic_token sends no message and half-closes: answer on end.
    // The token goes in the response headers and the trailers (pyarrow reads the trailers first).
    call.on('data', () => undefined);
    call.on('error', () => undefined);
    call.on('cancelled', () => log.finish(interrupted(call)));
    call.on('end', () => {
      cancellationSettled(call)
        .then(() => {
          ctx.gate.admit(log, call, null);
          return ctx.gate.auth.handshake(call.metadata);
        })
        .then(
          (issued) => {
            log.user = issued.principal?.user;
            const md = new grpc.Metadata();
            md.set('authorization', `Bearer ${issued.token}`);
            call.sendMetadata(md);
            call.write({ protocolVersion: 0, payload: Buffer.alloc(0) });
            log.finish();
            call.end(md.clone());
          },
          (err: unknown) => call.emit('error', log.finish(err)),
        );
    });
  };
}
