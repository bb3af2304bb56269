/** DoAction and ListActions: the action table lives in actions.ts. */
import type * as grpc from '@grpc/grpc-js';
import type { Action, ActionType, Result } from '@flightdeck/proto';
import { writeWithBackpressure } from '../transport/stream-write.js';
import { listActionTypes, runAction } from './actions.js';
import { serverStreamHandler, type HandlerContext } from './call-runner.js';

const SERVER_VERSION = '0.1.0';

export function doAction(ctx: HandlerContext): grpc.handleServerStreamingCall<Action, Result> {
  return serverStreamHandler<Action, Result>(ctx, 'DoAction', async (call, log) => {
    const { result, dataset } = await runAction({ store: ctx.store, startedAt: ctx.startedAt, serverVersion: SERVER_VERSION }, call.request.type, call.request.body);
    log.dataset = dataset;
    await writeWithBackpressure(call, [{ body: result }]);
  });
}

export function listActions(ctx: HandlerContext): grpc.handleServerStreamingCall<unknown, ActionType> {
  return serverStreamHandler<unknown, ActionType>(ctx, 'ListActions', async (call) => {
    await writeWithBackpressure(call, listActionTypes());
  });
}
