/**
 * @flightdeck/proto: the Arrow Flight protocol for TypeScript, layered like the Rust `arrow-flight`
 * crate: messages (types, bottom) -> wire/ (protobuf and IPC framing) -> encode/decode (record
 * batches <-> FlightData) -> service-definition (flight.proto for grpc-js) -> FlightClient on top.
 * errors.ts maps the contract's error codes to gRPC statuses in one table.
 */
export {
  FlightClient,
  CLIENT_FLOW_CONTROL_WINDOW,
  DEFAULT_CLIENT_MAX_MESSAGE_BYTES,
  DOGET_FLOW_CONTROL_WINDOW,
  type ClientFlightInfo,
  type DoGetOptions,
  type DoPutOptions,
  type DoPutResult,
  type FlightClientOptions,
  type FlightClientTlsOptions,
} from './client.js';
export { LocationReader, type FailoverEvent, type LocationReaderOptions, type ReadableInfo } from './location-reader.js';
export { decodeFlightData, FlightRecordBatchStream, type DecodeFlightDataOptions } from './decode.js';
export { DEFAULT_MAX_MESSAGE_BYTES, encodeFlightData, FlightDataEncoder, type EncodeFlightDataOptions } from './encode.js';
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
export type {
  Action,
  ActionType,
  Criteria,
  DescriptorType,
  Empty,
  FlightData,
  FlightDescriptor,
  FlightEndpoint,
  FlightInfo,
  HandshakeRequest,
  HandshakeResponse,
  Location,
  PollInfo,
  PutResult,
  Result,
  SchemaResult,
  Ticket,
  Timestamp,
} from './messages.js';
export {
  FLIGHT_SERVICE_NAME,
  flightPackageDefinition,
  flightProtoPath,
  flightServiceDefinition,
  type FlightMethodName,
  type FlightServiceDefinition,
  type FlightServiceHandlers,
} from './service-definition.js';
export { bodyLengthOf, deserializeFlightData, flightDataSize, grpcFramedFlightData, serializeFlightData } from './wire/flight-data.js';
export { cmdDescriptor, pathDescriptor } from './wire/flight-descriptor.js';
export { decodeSchema, encodeSchema, splitIpcStream, type IpcMessageBytes } from './wire/ipc-message.js';
