/** The facade's configuration, read from the environment once and validated (fail fast naming the variable). */
import { LOG_LEVELS, type LogLevel } from '@flightdeck/graphql-http';

export { LOG_LEVELS, type LogLevel };

export interface FacadeConfig {
  /** `FACADE_HOST`, default 127.0.0.1 (the gateway is the public face). */
  host: string;
  /** `FACADE_PORT`, default 4001; 0 picks a free port (logged on start). */
  port: number;
  /** `FLIGHT_URL`, default grpc://127.0.0.1:8815. */
  flightUrl: string;
  /**
   * `FACADE_LOCATION_REFRESH_MS`, default 5000: how often the facade asks for the Flight replicas'
   * endpoint locations (reads spread over them and fail over); 0 reads through `FLIGHT_URL` only.
   */
  locationRefreshMs: number;
  /** `FLIGHT_USER` and `FLIGHT_PASSWORD` (both or neither): basic-auth Handshake for a Flight server with auth on. */
  flightCredentials: { user: string; password: string } | undefined;
  /** `FACADE_DEFAULT_DATASET`, default bars_1d: the dataset of `bars`/`latest` when the query names none. */
  defaultDataset: string;
  /** `FACADE_MAX_ROWS`, default 100000: the most bar rows one GraphQL request may return. */
  maxRows: number;
  /** `FACADE_MAX_DEPTH`, default 10: deepest field nesting of an operation. */
  maxDepth: number;
  /** `FACADE_MAX_ALIASES`, default 30: aliased fields in an operation (after fragment expansion). */
  maxAliases: number;
  /** `FACADE_MAX_COST`, default 5000: static cost of an operation (list fields weigh 10 times their selection). */
  maxCost: number;
  /** `FACADE_MAX_SUBSCRIPTIONS` (200), `FACADE_SUBSCRIPTION_BUFFER` (10000 bars), `FACADE_SUBSCRIPTION_SYMBOLS` (100): bounds of `barUpdates`. */
  subscriptions: { maxSubscriptions: number; maxBuffered: number; maxSymbols: number };
  logLevel: LogLevel;
}

const DATASET_NAME = /^[a-z][a-z0-9_]{0,62}$/;

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`${name}=${JSON.stringify(env[name])} must be an integer in [${min}, ${max}]`);
  }
  return value;
}

function flightUrl(env: NodeJS.ProcessEnv): string {
  const raw = env.FLIGHT_URL?.trim() || 'grpc://127.0.0.1:8815';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`FLIGHT_URL=${JSON.stringify(raw)} is not a URL (expected grpc://host:port)`);
  }
  if (!['grpc:', 'grpc+tcp:', 'grpc+tls:'].includes(url.protocol)) {
    throw new Error(`FLIGHT_URL=${JSON.stringify(raw)} must start with grpc://, grpc+tcp:// or grpc+tls://`);
  }
  return raw;
}

function flightCredentials(env: NodeJS.ProcessEnv): FacadeConfig['flightCredentials'] {
  const user = env.FLIGHT_USER?.trim() || undefined;
  const password = env.FLIGHT_PASSWORD || undefined;
  if ((user === undefined) !== (password === undefined)) {
    throw new Error(`FLIGHT_USER and FLIGHT_PASSWORD go together: ${user === undefined ? 'FLIGHT_USER' : 'FLIGHT_PASSWORD'} is missing`);
  }
  return user === undefined || password === undefined ? undefined : { user, password };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): FacadeConfig {
  const logLevel = env.LOG_LEVEL?.trim() || 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new Error(`LOG_LEVEL=${JSON.stringify(logLevel)} must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const defaultDataset = env.FACADE_DEFAULT_DATASET?.trim() || 'bars_1d';
  if (!DATASET_NAME.test(defaultDataset)) {
    throw new Error(`FACADE_DEFAULT_DATASET=${JSON.stringify(defaultDataset)} is not a dataset name (${DATASET_NAME.source})`);
  }
  return {
    host: env.FACADE_HOST?.trim() || '127.0.0.1',
    port: integer(env, 'FACADE_PORT', 4001, 0, 65535),
    flightUrl: flightUrl(env),
    locationRefreshMs: integer(env, 'FACADE_LOCATION_REFRESH_MS', 5000, 0, 3_600_000),
    flightCredentials: flightCredentials(env),
    defaultDataset,
    maxRows: integer(env, 'FACADE_MAX_ROWS', 100_000, 1, 100_000_000),
    maxDepth: integer(env, 'FACADE_MAX_DEPTH', 10, 2, 1000),
    maxAliases: integer(env, 'FACADE_MAX_ALIASES', 30, 0, 100_000),
    maxCost: integer(env, 'FACADE_MAX_COST', 5000, 10, 100_000_000),
    subscriptions: {
      // Each subscription is one Flight stream on the facade's one connection (FLIGHT_MAX_CALLS_PER_CONNECTION, 256).
      maxSubscriptions: integer(env, 'FACADE_MAX_SUBSCRIPTIONS', 200, 0, 100_000),
      maxBuffered: integer(env, 'FACADE_SUBSCRIPTION_BUFFER', 10_000, 1, 10_000_000),
      maxSymbols: integer(env, 'FACADE_SUBSCRIPTION_SYMBOLS', 100, 1, 100_000),
    },
    logLevel: logLevel as LogLevel,
  };
}
