/**
 * The Arrow Flight service: one handler per call, from handlers/. Every call is admitted by the
 * call gate (auth, limits, shutdown), logged once by its CallLog, and its error mapped to a status
 * by proto's one table (toServiceError).
 */
import type * as grpc from '@grpc/grpc-js';
import type { FlightServiceHandlers } from '@flightdeck/proto';
import type { FlightServerConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { DatasetStore } from '../storage/dataset-store.js';
import { Authenticator } from './auth/auth.js';
import { doAction, listActions } from './handlers/do-action.js';
import { doGet } from './handlers/do-get.js';
import { doExchange } from './handlers/do-exchange.js';
import { doPut } from './handlers/do-put.js';
import { getFlightInfoHandler, getSchemaHandler, listFlightsHandler, pollFlightInfoHandler } from './handlers/flight-info.js';
import { handshake } from './handlers/handshake.js';
import { FlightMetrics } from './observe/metrics.js';
import { CallGate } from './transport/call-gate.js';
import { EndpointLocations, NO_LOCATIONS } from './wire/endpoint-locations.js';

export interface FlightServerDeps {
  config: FlightServerConfig;
  store: DatasetStore;
  logger: Logger;
  /** Auth, limits, metrics and shutdown state; built from `config` when absent. */
  gate?: CallGate;
  /**
   * The live replicas' URLs (FLIGHT_ADVERTISE_URL), listed as every endpoint's locations; absent
   * or empty: endpoints carry no location.
   */
  liveReplicaUrls?: () => readonly string[];
}

export function createCallGate(deps: Pick<FlightServerDeps, 'config' | 'store'>): CallGate {
  const { config } = deps;
  const auth = new Authenticator({ users: config.users, tokenTtlMs: config.tokenTtlMs, tokenSecret: config.tokenSecret });
  return new CallGate(auth, new FlightMetrics(deps.store), config);
}

export function createFlightService(deps: FlightServerDeps): FlightServiceHandlers & grpc.UntypedServiceImplementation {
  const ctx = {
    store: deps.store,
    logger: deps.logger,
    gate: deps.gate ?? createCallGate(deps),
    startedAt: Date.now(),
    locations: deps.liveReplicaUrls ? new EndpointLocations(deps.liveReplicaUrls) : NO_LOCATIONS,
  };
  return {
    Handshake: handshake(ctx),
    ListFlights: listFlightsHandler(ctx),
    GetFlightInfo: getFlightInfoHandler(ctx),
    PollFlightInfo: pollFlightInfoHandler(ctx) as FlightServiceHandlers['PollFlightInfo'],
    GetSchema: getSchemaHandler(ctx),
    DoGet: doGet(ctx),
    DoPut: doPut(ctx),
    DoExchange: doExchange(ctx),
    DoAction: doAction(ctx),
    ListActions: listActions(ctx) as FlightServiceHandlers['ListActions'],
  };
}
