/**
 * The standard gRPC health service `grpc.health.v1.Health` (Check and Watch), served on the Flight
 * port without authentication so load balancers and `grpc_health_probe` can reach it.
 * Services: "" (the server as a whole) and `arrow.flight.protocol.FlightService`; both SERVING
 * while up and NOT_SERVING once shutdown begins, when open Watch streams get the change and end.
 *
 * The two messages are one optional field each (grpc/health/v1/health.proto), so they are coded
 * here by hand: HealthCheckRequest `string service = 1`, HealthCheckResponse `ServingStatus status = 1`.
 */
import * as grpc from '@grpc/grpc-js';
import { FLIGHT_SERVICE_NAME, FlightError, toServiceError } from '@flightdeck/proto';
import { MalformedRequest } from './request-guard.js';

export const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';

export const SERVING_STATUS = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const;
export type ServingStatus = keyof typeof SERVING_STATUS;

export interface HealthCheckRequest {
  service: string;
}
export interface HealthCheckResponse {
  status: ServingStatus;
}

const STATUS_BY_NUMBER = new Map<number, ServingStatus>(Object.entries(SERVING_STATUS).map(([name, n]) => [n, name as ServingStatus]));

function readVarint(buf: Buffer, pos: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new FlightError('INVALID_ARGUMENT', 'malformed HealthCheckRequest: truncated varint');
    const byte = buf[pos++]!;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if (byte < 0x80) return [value, pos];
  }
  throw new FlightError('INVALID_ARGUMENT', 'malformed HealthCheckRequest: varint longer than 10 bytes');
}

export function decodeHealthCheckRequest(buf: Buffer): HealthCheckRequest {
  let service = '';
  let pos = 0;
  while (pos < buf.length) {
    let tag: number;
    [tag, pos] = readVarint(buf, pos);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === 0) {
      [, pos] = readVarint(buf, pos);
    } else if (wire === 1 || wire === 5) {
      pos += wire === 1 ? 8 : 4;
    } else if (wire === 2) {
      let len: number;
      [len, pos] = readVarint(buf, pos);
      if (pos + len > buf.length) throw new FlightError('INVALID_ARGUMENT', 'malformed HealthCheckRequest: field longer than the message');
      if (field === 1) service = buf.toString('utf8', pos, pos + len);
      pos += len;
    } else {
      throw new FlightError('INVALID_ARGUMENT', `malformed HealthCheckRequest: wire type ${wire}`);
    }
    if (pos > buf.length) throw new FlightError('INVALID_ARGUMENT', 'malformed HealthCheckRequest: truncated field');
  }
  return { service };
}

export function encodeHealthCheckRequest(req: HealthCheckRequest): Buffer {
  const bytes = Buffer.from(req.service, 'utf8');
  if (bytes.length === 0) return Buffer.alloc(0);
  if (bytes.length > 127) throw new Error('service name too long');
  return Buffer.concat([Buffer.from([0x0a, bytes.length]), bytes]);
}

export function encodeHealthCheckResponse(res: HealthCheckResponse): Buffer {
  const n = SERVING_STATUS[res.status];
  return n === 0 ? Buffer.alloc(0) : Buffer.from([0x08, n]);
}

export function decodeHealthCheckResponse(buf: Buffer): HealthCheckResponse {
  if (buf.length === 0) return { status: 'UNKNOWN' };
  if (buf.length !== 2 || buf[0] !== 0x08) throw new Error('malformed HealthCheckResponse');
  return { status: STATUS_BY_NUMBER.get(buf[1]!) ?? 'UNKNOWN' };
}

/** Serializers for both sides; the request deserializer throws INVALID_ARGUMENT on bad bytes. */
export const healthServiceDefinition = {
  Check: {
    path: `/${HEALTH_SERVICE_NAME}/Check`,
    requestStream: false,
    responseStream: false,
    originalName: 'check',
    requestSerialize: encodeHealthCheckRequest,
    requestDeserialize: decodeHealthCheckRequest,
    responseSerialize: encodeHealthCheckResponse,
    responseDeserialize: decodeHealthCheckResponse,
  },
  Watch: {
    path: `/${HEALTH_SERVICE_NAME}/Watch`,
    requestStream: false,
    responseStream: true,
    originalName: 'watch',
    requestSerialize: encodeHealthCheckRequest,
    requestDeserialize: decodeHealthCheckRequest,
    responseSerialize: encodeHealthCheckResponse,
    responseDeserialize: decodeHealthCheckResponse,
  },
} satisfies grpc.ServiceDefinition;

/** Serving status per service name, and the handlers that report it. */
export class HealthService {
  readonly #statuses = new Map<string, ServingStatus>();
  readonly #watchers = new Set<{ service: string; call: grpc.ServerWritableStream<HealthCheckRequest, HealthCheckResponse> }>();

  constructor(services: string[] = ['', FLIGHT_SERVICE_NAME]) {
    for (const s of services) this.#statuses.set(s, 'SERVING');
  }

  status(service: string): ServingStatus | undefined {
    return this.#statuses.get(service);
  }

  setStatus(service: string, status: ServingStatus): void {
    this.#statuses.set(service, status);
    for (const w of this.#watchers) if (w.service === service) w.call.write({ status });
  }

  /** Every service NOT_SERVING; open Watch streams get it and end (so they do not hold shutdown up). */
  shutdown(): void {
    for (const service of this.#statuses.keys()) this.setStatus(service, 'NOT_SERVING');
    for (const w of this.#watchers) w.call.end();
    this.#watchers.clear();
  }

  handlers(): grpc.UntypedServiceImplementation {
    const check: grpc.handleUnaryCall<HealthCheckRequest, HealthCheckResponse> = (call, callback) => {
      if (call.request instanceof MalformedRequest) {
        callback(toServiceError(call.request.toError()));
        return;
      }
      const status = this.#statuses.get(call.request.service);
      if (status === undefined) {
        callback({ code: grpc.status.NOT_FOUND, details: `unknown service "${call.request.service.slice(0, 200)}"` });
      } else {
        callback(null, { status });
      }
    };
    const watch: grpc.handleServerStreamingCall<HealthCheckRequest, HealthCheckResponse> = (call) => {
      if (call.request instanceof MalformedRequest) {
        call.emit('error', toServiceError(call.request.toError()));
        return;
      }
      const service = call.request.service;
      const watcher = { service, call };
      call.write({ status: this.#statuses.get(service) ?? 'SERVICE_UNKNOWN' });
      this.#watchers.add(watcher);
      const forget = () => this.#watchers.delete(watcher);
      call.on('cancelled', forget);
      call.on('close', forget);
      call.on('error', forget);
    };
    return { Check: check, Watch: watch };
  }
}
