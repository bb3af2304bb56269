/**
 * The Arrow Flight service: wires each Flight call to the storage engine. `createFlightServer`
 * builds it; `main.ts` only reads config and listens, so tests drive this factory on port 0.
 */
import * as grpc from '@grpc/grpc-js';
import {
  FlightError,
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
import type { SliceData } from '../storage/read-plan.js';
import type { GuardedCall } from './access-rules.js';
import { listActionTypes, runAction } from './actions.js';
import { Authenticator } from './auth.js';
import { validatedBatches } from './batch-validation.js';
import { CallGate } from './call-gate.js';
import { CallLog } from './call-log.js';
import { HealthService, healthServiceDefinition } from './grpc-health.js';
import { FlightMetrics, startMetricsServer, type RunningMetricsServer } from './metrics.js';
import { cancellationSettled, incomingMessages, tolerateMalformedRequests } from './request-guard.js';
import { serverCredentials } from './tls.js';
import { datasetOfPath } from './descriptor.js';
import { getFlightInfo, listFlights } from './flight-info.js';
import { routeDoGetOverHttp2 } from './http2-doget.js';
import { forwardIpcStreams } from './ipc-forward.js';
import { deadlineOf, MAX_BYTES_IN_FLIGHT, writeWithBackpressure } from './stream-write.js';
import { decodeTicket } from './ticket.js';

export interface FlightServerDeps {
  config: FlightServerConfig;
  store: DatasetStore;
  logger: Logger;
  /** Auth, limits, metrics and shutdown state; built from `config` when absent. */
  gate?: CallGate;
}

export interface RunningFlightServer {
  port: number;
  url: string;
  /** Port of the `/metrics` endpoint; null when METRICS_PORT is unset. */
  metricsPort: number | null;
  /**
   * Stops accepting calls, aborts DoPuts still receiving (nothing of them is committed), waits for
   * running calls up to `graceMs` (default FLIGHT_SHUTDOWN_GRACE_MS), then cuts the rest.
   */
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

/**
 * What a DoGet stream holds at most: its read window (decoded rows of its files and the rows
 * merged from them) plus its unflushed messages, which never exceed MAX_BYTES_IN_FLIGHT nor,
 * for a small read, the read itself.
 */
function streamReservation(data: SliceData): number {
  return data.memoryBytes + Math.min(MAX_BYTES_IN_FLIGHT, data.estimatedBytes);
}

function dataBytes(m: FlightData): number {
  return m.dataHeader.byteLength + m.dataBody.byteLength;
}

export function createCallGate(deps: Pick<FlightServerDeps, 'config' | 'store'>): CallGate {
  const { config } = deps;
  const auth = new Authenticator({ users: config.users, tokenTtlMs: config.tokenTtlMs, tokenSecret: config.tokenSecret });
  return new CallGate(auth, new FlightMetrics(deps.store), config);
}

/** A call the client cancelled or whose deadline passed: CANCELLED or DEADLINE_EXCEEDED, else undefined. */
function interrupted(call: { cancelled: boolean; getDeadline(): grpc.Deadline }): FlightError | undefined {
  if (deadlineOf(call) <= Date.now()) return new FlightError('DEADLINE_EXCEEDED', 'the call outlived its deadline; its work was stopped');
  if (call.cancelled) return new FlightError('CANCELLED', 'the client cancelled the call');
  return undefined;
}

export function createFlightService(deps: FlightServerDeps): grpc.UntypedServiceImplementation {
  const { store, logger } = deps;
  const gate = deps.gate ?? createCallGate(deps);
  const startedAt = Date.now();

  const unary = <Req, Res>(rpc: GuardedCall, run: (req: Req, log: CallLog) => Promise<Res>): grpc.handleUnaryCall<Req, Res> =>
    (call, callback) => {
      const log = new CallLog(logger, rpc, gate);
      Promise.resolve()
        .then(() => run(gate.admit<Req>(log, call, rpc), log))
        .then(
          (res) => {
            log.finish(interrupted(call));
            callback(null, res);
          },
          (err: unknown) => callback(log.finish(err) ?? null),
        );
    };

  const serverStream = <Req, Res>(
    rpc: GuardedCall,
    run: (call: grpc.ServerWritableStream<Req, Res>, log: CallLog) => Promise<void>,
  ): grpc.handleServerStreamingCall<Req, Res> =>
    (call) => {
      const log = new CallLog(logger, rpc, gate);
      Promise.resolve()
        .then(() => {
          gate.admit(log, call, rpc);
          return run(call, log);
        })
        .then(
          () => {
            log.finish(interrupted(call));
            call.end();
          },
          (err: unknown) => call.emit('error', log.finish(err)),
        );
    };

  return {
    Handshake(call: grpc.ServerDuplexStream<HandshakeRequest, HandshakeResponse>) {
      const log = new CallLog(logger, 'Handshake', gate);
      // pyarrow's authenticate_basic_token sends no message and half-closes: answer on end.
      // The token goes in the response headers and the trailers (pyarrow reads the trailers first).
      call.on('data', () => undefined);
      call.on('error', () => undefined);
      call.on('cancelled', () => log.finish(interrupted(call)));
      call.on('end', () => {
        cancellationSettled(call)
          .then(() => {
            gate.admit(log, call, null);
            return gate.auth.handshake(call.metadata);
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
      // Nothing is read yet: the read is planned, and reserves what it can hold before it starts.
      const data = await store.read(slice);
      const lease = await gate.streamMemory.acquire(streamReservation(data), call);
      try {
        const onRows = (rows: number) => {
          log.rows += rows;
          gate.checkGetRows(log.rows);
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
      } finally {
        lease.release();
      }
    }),

    DoPut(call: grpc.ServerDuplexStream<FlightData, PutResult>) {
      const log = new CallLog(logger, 'DoPut', gate);
      const aborted = new AbortController();
      call.on('cancelled', () => aborted.abort());
      const run = async () => {
        gate.admit(log, call, 'DoPut');
        let receivedAt = 0;
        const stream = decodeFlightData(
          incomingMessages(call, {
            signal: gate.shutdownSignal,
            onBytes: (bytes) => {
              log.bytes += bytes;
            },
            onEnd: () => {
              receivedAt = performance.now();
            },
          }),
        );
        const schema = await stream.schema();
        const dataset = datasetOfPath(stream.firstDescriptor);
        log.dataset = dataset;
        const outcome = await store.put(
          dataset,
          schema,
          countRows(validatedBatches(stream), (rows) => {
            log.rows += rows;
          }),
          aborted.signal,
        );
        if (call.cancelled) throw new StorageError('ABORTED', 'client cancelled the DoPut');
        gate.metrics.observeCommit('put', (performance.now() - receivedAt) / 1000);
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
      const log = new CallLog(logger, 'DoExchange', gate);
      try {
        gate.admit(log, call, 'DoExchange');
        throw new FlightError('UNIMPLEMENTED', 'DoExchange is not supported by flightdeck');
      } catch (err) {
        call.emit('error', log.finish(err));
      }
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
  const { config, logger } = deps;
  const gate = deps.gate ?? createCallGate(deps);
  const health = new HealthService();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': config.maxMessageBytes,
    'grpc.max_send_message_length': -1,
  });
  const flight = createFlightService({ ...deps, gate });
  const definition = tolerateMalformedRequests(flightServiceDefinition);
  server.addService(definition, flight);
  server.addService(tolerateMalformedRequests(healthServiceDefinition), health.handlers());
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${config.host}:${config.port}`, serverCredentials(config.tls), (err, bound) =>
      err ? reject(err) : resolve(bound),
    );
  });
  if (config.doGetTransport === 'http2' && !routeDoGetOverHttp2(server, {
      doGet: flight.DoGet as grpc.handleServerStreamingCall<Ticket, FlightData>,
      maxMessageBytes: config.maxMessageBytes,
      deserialize: definition.DoGet.requestDeserialize as (bytes: Buffer) => Ticket,
    })) {
    logger.warn('DoGet stays on grpc-js: its HTTP/2 servers are not where this version expects them');
  }
  if (!gate.auth.enabled) {
    logger.warn('authentication is off: FLIGHT_USERS and FLIGHT_USERS_FILE name no user, so every client may read, write and drop datasets');
  } else if (config.tls === null) {
    logger.warn('authentication is on without TLS: passwords and bearer tokens cross the network in clear text (set FLIGHT_TLS_CERT and FLIGHT_TLS_KEY)');
  }
  let metrics: RunningMetricsServer | null = null;
  if (config.metricsPort !== null) {
    metrics = await startMetricsServer(gate.metrics, {
      host: config.metricsHost,
      port: config.metricsPort,
      serving: () => !gate.shutdownSignal.aborted,
      logger,
    });
    logger.info({ metricsPort: metrics.port, host: config.metricsHost }, 'metrics listening');
  }
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closing: Promise<void> | undefined;
  let cutNow: (() => void) | undefined;
  return {
    port,
    url: `${config.tls === null ? 'grpc' : 'grpc+tls'}://${host}:${port}`,
    metricsPort: metrics?.port ?? null,
    close: (graceMs = config.shutdownGraceMs) => {
      if (closing !== undefined) {
        if (graceMs === 0) cutNow?.();
        return closing;
      }
      closing = (async () => {
        health.shutdown();
        gate.beginShutdown();
        await new Promise<void>((resolve) => {
          const cut = () => {
            clearTimeout(timer);
            if (gate.openCalls > 0) logger.warn({ openCalls: gate.openCalls, graceMs }, 'shutdown: cutting the calls still open');
            server.forceShutdown();
            resolve();
          };
          const timer = setTimeout(cut, graceMs);
          cutNow = cut;
          server.tryShutdown(() => {
            clearTimeout(timer);
            resolve();
          });
        });
        // Cut calls unwind (an aborted DoPut removes the files it wrote) before the process exits.
        await gate.idle(5000);
        await metrics?.close();
      })();
      return closing;
    },
  };
}
