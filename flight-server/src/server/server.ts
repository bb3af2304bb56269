/**
 * The Flight server process: builds the gRPC server with the Flight and health services, binds
 * it, routes DoGet onto node:http2, and shuts it down in order. `main.ts` only reads config and
 * calls this, so tests drive it in-process on port 0.
 */
import * as grpc from '@grpc/grpc-js';
import { flightServiceDefinition, type FlightData, type Ticket } from '@flightdeck/proto';
import { createCallGate, createFlightService, type FlightServerDeps } from './flight-service.js';
import { startMetricsServer, type RunningMetricsServer } from './observe/metrics.js';
import { HealthService, healthServiceDefinition } from './transport/grpc-health.js';
import { routeDoGetOverHttp2 } from './transport/http2-doget.js';
import { widenReceiveWindows } from './transport/receive-window.js';
import { tolerateMalformedRequests } from './transport/request-guard.js';
import { serverCredentials } from './transport/tls.js';

export { createCallGate, createFlightService, type FlightServerDeps } from './flight-service.js';

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

/** How long DoGets cut at the end of the grace period may take to deliver their status before they are reset. */
const CUT_LAST_WORD_MS = 1000;

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
  if (!widenReceiveWindows(server, config.receiveWindowBytes)) {
    logger.warn('receive windows stay at 64 KiB: grpc-js\'s HTTP/2 servers are not where this version expects them');
  }
  const routed =
    config.doGetTransport === 'http2'
      ? routeDoGetOverHttp2(server, {
          doGet: flight.DoGet as grpc.handleServerStreamingCall<Ticket, FlightData>,
          maxMessageBytes: config.maxMessageBytes,
          deserialize: definition.DoGet.requestDeserialize as (bytes: Buffer) => Ticket,
        })
      : null;
  if (config.doGetTransport === 'http2' && routed === null) {
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
          let cutting = false;
          const cut = (lastWordMs: number) => {
            clearTimeout(timer);
            if (cutting) return;
            cutting = true;
            if (gate.openCalls > 0) logger.warn({ openCalls: gate.openCalls, graceMs }, 'shutdown: cutting the calls still open');
            // DoGets get a status that says why before the connections go; a stalled reader gets a reset.
            const message = `the server shut down before this DoGet finished (grace period ${graceMs} ms); read it again, from another replica if there is one`;
            void (routed?.cut(message, lastWordMs) ?? Promise.resolve()).then(() => {
              server.forceShutdown();
              resolve();
            });
          };
          // No grace (FLIGHT_SHUTDOWN_GRACE_MS=0) means no last word either.
          const timer = setTimeout(() => cut(Math.min(CUT_LAST_WORD_MS, graceMs)), graceMs);
          cutNow = () => cut(0);
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
