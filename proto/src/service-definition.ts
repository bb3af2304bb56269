/**
 * The one loader of flight.proto, and the grpc-js service definition built from it.
 *
 * Every message goes through protobufjs (via @grpc/proto-loader) except FlightData, which the
 * Flight spec makes the bulk path: DoGet responses, DoPut requests and both directions of DoExchange
 * use the hand-written codec in flight-data.ts.
 */
import { fileURLToPath } from 'node:url';
import type {
  handleBidiStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
  MethodDefinition,
  ServiceDefinition,
} from '@grpc/grpc-js';
import { loadSync, type PackageDefinition, type ServiceDefinition as LoadedService } from '@grpc/proto-loader';
import type {
  Action,
  ActionType,
  Criteria,
  Empty,
  FlightData,
  FlightDescriptor,
  FlightInfo,
  HandshakeRequest,
  HandshakeResponse,
  PollInfo,
  PutResult,
  Result,
  SchemaResult,
  Ticket,
} from './messages.js';
import { deserializeFlightData, serializeFlightData } from './wire/flight-data.js';

/** Absolute path of flightdeck's flight.proto (package `arrow.flight.protocol`). */
export const flightProtoPath = fileURLToPath(new URL('../flight.proto', import.meta.url));

export const FLIGHT_SERVICE_NAME = 'arrow.flight.protocol.FlightService';

/**
 * flight.proto as loaded by proto-loader: camelCase fields, int64 as number, enums as strings,
 * bytes as Buffer, defaults filled in. Its FlightData methods use protobufjs; prefer
 * {@link flightServiceDefinition}.
 */
export const flightPackageDefinition: PackageDefinition = loadSync(flightProtoPath, {
  keepCase: false,
  longs: Number,
  enums: String,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
});

/** Method name -> typed grpc-js method definition for every FlightService call. */
export type FlightServiceDefinition = {
  Handshake: MethodDefinition<HandshakeRequest, HandshakeResponse>;
  ListFlights: MethodDefinition<Criteria, FlightInfo>;
  GetFlightInfo: MethodDefinition<FlightDescriptor, FlightInfo>;
  PollFlightInfo: MethodDefinition<FlightDescriptor, PollInfo>;
  GetSchema: MethodDefinition<FlightDescriptor, SchemaResult>;
  DoGet: MethodDefinition<Ticket, FlightData>;
  DoPut: MethodDefinition<FlightData, PutResult>;
  DoExchange: MethodDefinition<FlightData, FlightData>;
  DoAction: MethodDefinition<Action, Result>;
  ListActions: MethodDefinition<Empty, ActionType>;
};

export type FlightMethodName = keyof FlightServiceDefinition;

/** Typed handlers for `server.addService(flightServiceDefinition, handlers)`. */
export type FlightServiceHandlers = {
  Handshake: handleBidiStreamingCall<HandshakeRequest, HandshakeResponse>;
  ListFlights: handleServerStreamingCall<Criteria, FlightInfo>;
  GetFlightInfo: handleUnaryCall<FlightDescriptor, FlightInfo>;
  PollFlightInfo: handleUnaryCall<FlightDescriptor, PollInfo>;
  GetSchema: handleUnaryCall<FlightDescriptor, SchemaResult>;
  DoGet: handleServerStreamingCall<Ticket, FlightData>;
  DoPut: handleBidiStreamingCall<FlightData, PutResult>;
  DoExchange: handleBidiStreamingCall<FlightData, FlightData>;
  DoAction: handleServerStreamingCall<Action, Result>;
  ListActions: handleServerStreamingCall<Empty, ActionType>;
};

const loadedService = flightPackageDefinition[FLIGHT_SERVICE_NAME] as LoadedService | undefined;
if (loadedService === undefined) throw new Error(`${flightProtoPath} does not define ${FLIGHT_SERVICE_NAME}`);

function method<Req, Res>(
  name: FlightMethodName,
  flightData: { request?: boolean; response?: boolean } = {},
): MethodDefinition<Req, Res> {
  const loaded = loadedService?.[name];
  if (loaded === undefined) throw new Error(`${flightProtoPath}: ${FLIGHT_SERVICE_NAME} has no method ${name}`);
  return {
    path: loaded.path,
    requestStream: loaded.requestStream,
    responseStream: loaded.responseStream,
    originalName: loaded.originalName ?? name,
    requestSerialize: (flightData.request ? serializeFlightData : loaded.requestSerialize) as (value: Req) => Buffer,
    requestDeserialize: (flightData.request ? deserializeFlightData : loaded.requestDeserialize) as (bytes: Buffer) => Req,
    responseSerialize: (flightData.response ? serializeFlightData : loaded.responseSerialize) as (value: Res) => Buffer,
    responseDeserialize: (flightData.response ? deserializeFlightData : loaded.responseDeserialize) as (
      bytes: Buffer,
    ) => Res,
  };
}

/**
 * grpc-js definition of `arrow.flight.protocol.FlightService`, for `server.addService` and for
 * clients. FlightData is (de)serialized by the hand-written codec, all else by protobufjs.
 */
export const flightServiceDefinition: FlightServiceDefinition & ServiceDefinition = {
  Handshake: method('Handshake'),
  ListFlights: method('ListFlights'),
  GetFlightInfo: method('GetFlightInfo'),
  PollFlightInfo: method('PollFlightInfo'),
  GetSchema: method('GetSchema'),
  DoGet: method('DoGet', { response: true }),
  DoPut: method('DoPut', { request: true }),
  DoExchange: method('DoExchange', { request: true, response: true }),
  DoAction: method('DoAction'),
  ListActions: method('ListActions'),
};
