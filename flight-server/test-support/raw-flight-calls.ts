/**
 * For tests: any Flight call with arbitrary request bytes and metadata over grpc-js with a
 * passthrough serializer, answering the status and the raw response messages. It sends what no
 * well-behaved client would (garbage, truncated or lying messages, odd headers).
 */
import * as grpc from '@grpc/grpc-js';
import { flightServiceDefinition, type FlightMethodName } from '@flightdeck/proto';

export interface RawOutcome {
  /** gRPC status name: OK, INVALID_ARGUMENT, ... */
  code: string;
  details: string;
  responses: Buffer[];
  trailers: grpc.Metadata | undefined;
}

const passthrough = (b: Buffer): Buffer => b;

export function rawClient(address: string, credentials = grpc.credentials.createInsecure()): grpc.Client {
  return new grpc.Client(address, credentials, {
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
  });
}

/** The request of a call encoded as the real client would. */
export function encodeRequest<N extends FlightMethodName>(name: N, request: Parameters<(typeof flightServiceDefinition)[N]['requestSerialize']>[0]): Buffer {
  const serialize = flightServiceDefinition[name].requestSerialize as (value: unknown) => Buffer;
  return serialize(request);
}

export function metadataOf(headers: Record<string, string> = {}): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(headers)) md.set(k, v);
  return md;
}

/**
 * Runs `name` sending `messages` (exactly one for unary and server-streaming calls); resolves with
 * the status, never rejects. `readResponses: false` reads no response message (a stalled client).
 */
export function rawCall(
  client: grpc.Client,
  name: FlightMethodName,
  messages: Buffer[],
  opts: { metadata?: grpc.Metadata; deadlineMs?: number; halfClose?: boolean } = {},
): Promise<RawOutcome> {
  const method = flightServiceDefinition[name];
  const metadata = opts.metadata ?? new grpc.Metadata();
  const callOptions: grpc.CallOptions = opts.deadlineMs === undefined ? {} : { deadline: Date.now() + opts.deadlineMs };
  const responses: Buffer[] = [];
  return new Promise<RawOutcome>((resolve) => {
    const onStatus = (s: grpc.StatusObject) =>
      resolve({ code: grpc.status[s.code] ?? String(s.code), details: s.details, responses, trailers: s.metadata });
    if (!method.requestStream && !method.responseStream) {
      const call = client.makeUnaryRequest(method.path, passthrough, passthrough, messages[0] ?? Buffer.alloc(0), metadata, callOptions, (_err, value) => {
        if (value) responses.push(value);
      });
      call.on('status', onStatus);
      return;
    }
    if (!method.requestStream) {
      const call = client.makeServerStreamRequest(method.path, passthrough, passthrough, messages[0] ?? Buffer.alloc(0), metadata, callOptions);
      call.on('data', (b: Buffer) => responses.push(b));
      call.on('error', () => undefined);
      call.on('status', onStatus);
      return;
    }
    const call = client.makeBidiStreamRequest(method.path, passthrough, passthrough, metadata, callOptions);
    call.on('data', (b: Buffer) => responses.push(b));
    call.on('error', () => undefined);
    call.on('status', onStatus);
    for (const m of messages) call.write(m);
    if (opts.halfClose !== false) call.end();
  });
}
