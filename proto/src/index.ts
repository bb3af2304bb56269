/**
 * @flightdeck/proto: the Arrow Flight protocol for TypeScript. flight.proto and its one loader,
 * the FlightData <-> Arrow IPC codec, gRPC status mapping, and FlightClient.
 */
export {
  FlightClient,
  CLIENT_FLOW_CONTROL_WINDOW,
  DEFAULT_CLIENT_MAX_MESSAGE_BYTES,
  type ClientFlightInfo,
  type DoPutOptions,
  type DoPutResult,
  type FlightClientOptions,
  type FlightClientTlsOptions,
} from './client.js';
export {
  FlightError,
  flightErrorCodes,
  fromServiceError,
  grpcStatusOf,
  isFlightErrorCode,
  toServiceError,
  type FlightErrorCode,
  type FlightServiceError,
} from './errors.js';
export { deserializeFlightData, flightDataSize, grpcFramedFlightData, serializeFlightData, type FlightData } from './flight-data.js';
export { cmdDescriptor, pathDescriptor } from './flight-descriptor.js';
export { FlightRecordBatchStream, type DecodeFlightDataOptions } from './flight-record-batch-stream.js';
export {
  decodeFlightData,
  DEFAULT_MAX_MESSAGE_BYTES,
  encodeFlightData,
  FlightDataEncoder,
  type EncodeFlightDataOptions,
} from './ipc-codec.js';
export { decodeSchema, encodeSchema, splitIpcStream, type IpcMessageBytes } from './ipc-message.js';
export {
  FLIGHT_SERVICE_NAME,
  flightPackageDefinition,
  flightProtoPath,
  flightServiceDefinition,
  type Action,
  type ActionType,
  type Criteria,
  type DescriptorType,
  type Empty,
  type FlightDescriptor,
  type FlightEndpoint,
  type FlightInfo,
  type FlightMethodName,
  type FlightServiceDefinition,
  type FlightServiceHandlers,
  type HandshakeRequest,
  type HandshakeResponse,
  type Location,
  type PollInfo,
  type PutResult,
  type Result,
  type SchemaResult,
  type Ticket,
  type Timestamp,
} from './service-definition.js';
