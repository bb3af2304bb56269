/**
 * The Arrow Flight service: wires each Flight call to the storage engine. `createFlightServer`
 * builds it; `main.ts` only reads config and listens, so tests drive this factory on port 0.
 */
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import {
  decodeFlightData,
  encodeFlightData,
  encodeSchema,
  flightServiceDefinition,
  type Action,
  type ActionType,
  type Criteria,
  type FlightData,
  type FlightDescriptor,
  type FlightInfo,
  type HandshakeRequest,
  type HandshakeResponse,
  type PutResult,
  type Result,
  type SchemaResult,
  type Ticket,
} from '@flightdeck/proto';
import type { RecordBatch } from 'apache-arrow';
import type { FlightServerConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { DatasetStore } from '../storage/dataset-store.js';
import { StorageError } from '../storage/errors.js';
import { listActionTypes, runAction } from './actions.js';
import { CallLog } from './call-log.js';
import { datasetOfPath } from './descriptor.js';
import { getFlightInfo, listFlights } from './flight-info.js';
import { forwardIpcStreams } from './ipc-forward.js';
import { writeWithBackpressure } from './stream-write.js';
import { decodeTicket } from './ticket.js';

export interface FlightServerDeps {
  config: FlightServerConfig;
  store: DatasetStore;
  logger: Logger;
}

export interface RunningFlightServer {
  port: number;
  url: string;
  /** Stops accepting calls and waits for running ones (up to `graceMs`), then forces the rest. */
  close(graceMs?: number): Promise<void>;
}

const SERVER_VERSION = '0.1.0';
/** Record batches are split into messages of about this size (pyarrow handles 1-4 MiB best). */
const MAX_SEND_MESSAGE_BYTES = 4 * 1024 * 1024;

async function* countRows(batches: AsyncIterable<RecordBatch>, onRows: (rows: number) => void): AsyncGenerator<RecordBatch> {
  for await (const b of batches) {
    onRows(b.numRows);
    yield b;
  }
}

function dataBytes(m: FlightData): number {
  return m.dataHeader.byteLength + m.dataBody.byteLength;
}

export function createFlightService(deps: FlightServerDeps): grpc.UntypedServiceImplementation {
  const { store, logger } = deps;
  const startedAt = Date.now();

  const unary = <Req, Res>(rpc: string, run: (req: Req, log: CallLog) => Promise<Res>): grpc.handleUnaryCall<Req, Res> =>
    (call, callback) => {
      const log = new CallLog(logger, rpc);
      run(call.request, log).then(
        (res) => {
          log.finish();
          callback(null, res);
        },
        (err: unknown) => callback(log.finish(err) ?? null),
      );
    };

  const serverStream = <Req, Res>(
    rpc: string,
    run: (call: grpc.ServerWritableStream<Req, Res>, log: CallLog) => Promise<void>,
  ): grpc.handleServerStreamingCall<Req, Res> =>
    (call) => {
      const log = new CallLog(logger, rpc);
      run(call, log).then(
        () => {
          log.finish();
          call.end();
        },
        (err: unknown) => call.emit('error', log.finish(err)),
      );
    };

  return {
    Handshake(call: grpc.ServerDuplexStream<HandshakeRequest, HandshakeResponse>) {
      const log = new CallLog(logger, 'Handshake');
      // pyarrow's authenticate_basic_token sends no message and half-closes: answer on end.
      call.on('data', () => undefined);
      call.on('error', () => undefined);
      call.on('end', () => {
        const token = randomBytes(24).toString('base64url');
        const md = new grpc.Metadata();
        md.set('authorization', `Bearer ${token}`);
        call.sendMetadata(md);
        call.write({ protocolVersion: 0, payload: Buffer.alloc(0) });
        log.finish();
        call.end();
      });
    },

    ListFlights: serverStream<Criteria, FlightInfo>('ListFlights', async (call, log) => {
      const infos = await listFlights(store);
      log.rows = infos.length;
      await writeWithBackpressure(call, infos);
    }),

    GetFlightInfo: unary<FlightDescriptor, FlightInfo>('GetFlightInfo', async (descriptor, log) => {
      const { info, plan } = await getFlightInfo(store, descriptor);
      log.dataset = descriptor.type === 'PATH' ? descriptor.path[0] : undefined;
      log.rows = plan.totalRecords;
      return info;
    }),

    PollFlightInfo: unary<FlightDescriptor, unknown>('PollFlightInfo', async (descriptor, log) => {
      // Planning is immediate, so the poll is complete at once (no descriptor to poll again).
      const { info, plan } = await getFlightInfo(store, descriptor);
      log.rows = plan.totalRecords;
      return { info, flightDescriptor: null, progress: 1, expirationTime: null };
    }),

    GetSchema: unary<FlightDescriptor, SchemaResult>('GetSchema', async (descriptor) => {
      const { plan } = await getFlightInfo(store, descriptor);
      return { schema: Buffer.from(encodeSchema(plan.schema)) };
    }),

    DoGet: serverStream<Ticket, FlightData>('DoGet', async (call, log) => {
      const ticket = decodeTicket(call.request.ticket);
      const slice =
        ticket.kind === 'slice'
          ? ticket.slice
          : { query: { ...ticket.query, asOf: (await store.plan(ticket.query)).version }, partitions: null };
      log.dataset = slice.query.dataset;
      const data = await store.read(slice);
      const onRows = (rows: number) => {
        log.rows += rows;
      };
      const messages =
        data.kind === 'ipc'
          ? forwardIpcStreams(data.schema, data.streams, onRows)
          : encodeFlightData(countRows(data.batches, onRows), { schema: data.schema, maxMessageBytes: MAX_SEND_MESSAGE_BYTES });
      try {
        await writeWithBackpressure(call, messages, (m) => {
          log.bytes += dataBytes(m);
        });
      } finally {
        await messages.return(undefined);
      }
    }),

    DoPut(call: grpc.ServerDuplexStream<FlightData, PutResult>) {
      const log = new CallLog(logger, 'DoPut');
      const aborted = new AbortController();
      call.on('cancelled', () => aborted.abort());
      const run = async () => {
        const stream = decodeFlightData(call);
        const schema = await stream.schema();
        const dataset = datasetOfPath(stream.firstDescriptor);
        log.dataset = dataset;
        const outcome = await store.put(
          dataset,
          schema,
          countRows(stream, (rows) => {
            log.rows += rows;
          }),
          aborted.signal,
        );
        if (call.cancelled) throw new StorageError('ABORTED', 'client cancelled the DoPut');
        call.write({ appMetadata: Buffer.from(JSON.stringify(outcome), 'utf8') });
      };
      run().then(
        () => {
          log.finish();
          call.end();
        },
        (err: unknown) => call.emit('error', log.finish(err)),
      );
    },

    DoExchange(call: grpc.ServerDuplexStream<FlightData, FlightData>) {
      const log = new CallLog(logger, 'DoExchange');
      call.emit('error', log.finish(Object.assign(new Error('DoExchange is not supported by flightdeck'), { code: 'UNIMPLEMENTED' })));
    },

    DoAction: serverStream<Action, Result>('DoAction', async (call, log) => {
      const { result, dataset } = await runAction({ store, startedAt, serverVersion: SERVER_VERSION }, call.request.type, call.request.body);
      log.dataset = dataset;
      await writeWithBackpressure(call, [{ body: result }]);
    }),

    ListActions: serverStream<unknown, ActionType>('ListActions', async (call) => {
      await writeWithBackpressure(call, listActionTypes());
    }),
  };
}

/** Builds the gRPC server and binds it; resolves once it listens. */
export async function startFlightServer(deps: FlightServerDeps): Promise<RunningFlightServer> {
  const { config } = deps;
  const server = new grpc.Server({
    'grpc.max_receive_message_length': config.maxMessageBytes,
    'grpc.max_send_message_length': -1,
  });
  server.addService(flightServiceDefinition, createFlightService(deps));
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${config.host}:${config.port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    );
  });
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return {
    port,
    url: `grpc://${host}:${port}`,
    close: (graceMs = 5000) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
