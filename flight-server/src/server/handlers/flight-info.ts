/** ListFlights, GetFlightInfo, PollFlightInfo and GetSchema: planning, no data read. */
import type * as grpc from '@grpc/grpc-js';
import { encodeSchema, type Criteria, type FlightDescriptor, type FlightInfo, type SchemaResult } from '@flightdeck/proto';
import { writeWithBackpressure } from '../transport/stream-write.js';
import { getFlightInfo, listFlights } from '../wire/flight-info.js';
import { serverStreamHandler, unaryHandler, type HandlerContext } from './call-runner.js';

export function listFlightsHandler(ctx: HandlerContext): grpc.handleServerStreamingCall<Criteria, FlightInfo> {
  return serverStreamHandler<Criteria, FlightInfo>(ctx, 'ListFlights', async (call, log) => {
    const infos = await listFlights(ctx.store, ctx.locations);
    log.rows = infos.length;
    await writeWithBackpressure(call, infos);
  });
}

export function getFlightInfoHandler(ctx: HandlerContext): grpc.handleUnaryCall<FlightDescriptor, FlightInfo> {
  return unaryHandler<FlightDescriptor, FlightInfo>(ctx, 'GetFlightInfo', async (descriptor, log) => {
    const { info, plan } = await getFlightInfo(ctx.store, descriptor, ctx.locations);
    log.dataset = descriptor.type === 'PATH' ? descriptor.path[0] : undefined;
    log.rows = plan.totalRecords;
    return info;
  });
}

export function pollFlightInfoHandler(ctx: HandlerContext): grpc.handleUnaryCall<FlightDescriptor, unknown> {
  return unaryHandler<FlightDescriptor, unknown>(ctx, 'PollFlightInfo', async (descriptor, log) => {
    // Planning is immediate, so the poll is complete at once (no descriptor to poll again).
    const { info, plan } = await getFlightInfo(ctx.store, descriptor, ctx.locations);
    log.rows = plan.totalRecords;
    return { info, flightDescriptor: null, progress: 1, expirationTime: null };
  });
}

export function getSchemaHandler(ctx: HandlerContext): grpc.handleUnaryCall<FlightDescriptor, SchemaResult> {
  return unaryHandler<FlightDescriptor, SchemaResult>(ctx, 'GetSchema', async (descriptor) => {
    const { plan } = await getFlightInfo(ctx.store, descriptor);
    return { schema: Buffer.from(encodeSchema(plan.schema)) };
  });
}
