/**
 * The Flight protocol's messages (flight.proto, package `arrow.flight.protocol`) as TypeScript
 * types: the bottom of proto, importing nothing. Field names are proto-loader's camelCase.
 */

export type DescriptorType = 'UNKNOWN' | 'PATH' | 'CMD';

export interface FlightDescriptor {
  type: DescriptorType;
  cmd: Buffer;
  path: string[];
}

export interface Ticket {
  ticket: Buffer;
}

export interface Location {
  uri: string;
}

/** google.protobuf.Timestamp. */
export interface Timestamp {
  seconds: number;
  nanos: number;
}

export interface FlightEndpoint {
  ticket: Ticket | null;
  location: Location[];
  expirationTime?: Timestamp | null;
  appMetadata?: Uint8Array;
}

export interface FlightInfo {
  /** Encapsulated IPC Schema message (see encodeSchema/decodeSchema). */
  schema: Uint8Array;
  flightDescriptor?: FlightDescriptor | null;
  endpoint: FlightEndpoint[];
  /** -1 when unknown. */
  totalRecords: number;
  /** -1 when unknown. */
  totalBytes: number;
  ordered?: boolean;
  appMetadata?: Uint8Array;
}

export interface PollInfo {
  info: FlightInfo | null;
  flightDescriptor?: FlightDescriptor | null;
  progress?: number;
  expirationTime?: Timestamp | null;
}

export interface Criteria {
  expression: Buffer;
}

export interface SchemaResult {
  /** Encapsulated IPC Schema message. */
  schema: Uint8Array;
}

export interface PutResult {
  appMetadata: Uint8Array;
}

export interface Action {
  type: string;
  body: Buffer;
}

export interface ActionType {
  type: string;
  description: string;
}

export interface Result {
  body: Uint8Array;
}

export interface HandshakeRequest {
  protocolVersion: number;
  payload: Buffer;
}

export interface HandshakeResponse {
  protocolVersion: number;
  payload: Uint8Array;
}

export type Empty = Record<string, never>;

export interface FlightData {
  /** Set on the first message of a DoPut/DoExchange stream only. */
  flightDescriptor?: FlightDescriptor | null;
  /** The bare flatbuffer IPC Message: no continuation marker, no length prefix. */
  dataHeader: Uint8Array;
  appMetadata: Uint8Array;
  /** The IPC message body, Message.bodyLength bytes. */
  dataBody: Uint8Array;
}
