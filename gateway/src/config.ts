/** The gateway's configuration, read from the environment once and validated (fail fast naming the variable). */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOG_LEVELS, type LogLevel } from '@flightdeck/graphql-http';

export { LOG_LEVELS, type LogLevel };

export interface SubgraphEndpoint {
  /** Subgraph name in the supergraph. */
  name: string;
  /** Routing URL (`.../graphql`). */
  url: string;
  /** The variable the URL came from, for error messages. */
  variable: string;
}

export interface GatewayConfig {
  /** `GATEWAY_HOST`, default 127.0.0.1 (set 0.0.0.0 to serve other machines). */
  host: string;
  /** `GATEWAY_PORT`, default 4000; 0 picks a free port (logged on start). */
  port: number;
  /** `FACADE_URL` (default http://127.0.0.1:4001/graphql) and `USERS_URL` (default http://127.0.0.1:4002/graphql). */
  subgraphs: SubgraphEndpoint[];
  /** `SUPERGRAPH_FILE`: serve this composed supergraph instead of composing from the running subgraphs. */
  supergraphFile: string | undefined;
  /** `GATEWAY_STARTUP_TIMEOUT_MS`, default 60000: how long start-up waits for the subgraphs. */
  startupTimeoutMs: number;
  /** `GATEWAY_POLL_INTERVAL_MS`, default 0 (off): re-introspect the subgraphs this often and recompose on change. */
  pollIntervalMs: number;
  /** `EXPLORER_DIR`, default `web/dist` of this repository: the built explorer page served at `GET /`. */
  explorerDir: string;
  /** `GATEWAY_SUBSCRIPTION_BUFFER`, default 10000: results one subscription may have waiting at the gateway before it is cut. */
  subscriptionBuffer: number;
  logLevel: LogLevel;
}

/** Where `npm run build -w web` writes the explorer page. */
export const DEFAULT_EXPLORER_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url));

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new Error(`${name}=${JSON.stringify(env[name])} must be an integer in [${min}, ${max}]`);
  }
  return value;
}

function httpUrl(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const raw = env[name]?.trim() || fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`${name}=${JSON.stringify(raw)} is not a URL (expected http://host:port/graphql)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`${name}=${JSON.stringify(raw)} must start with http:// or https://`);
  }
  return raw;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const logLevel = env.LOG_LEVEL?.trim() || 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new Error(`LOG_LEVEL=${JSON.stringify(logLevel)} must be one of ${LOG_LEVELS.join(', ')}`);
  }
  return {
    host: env.GATEWAY_HOST?.trim() || '127.0.0.1',
    port: integer(env, 'GATEWAY_PORT', 4000, 0, 65535),
    subgraphs: [
      { name: 'financial', url: httpUrl(env, 'FACADE_URL', 'http://127.0.0.1:4001/graphql'), variable: 'FACADE_URL' },
      { name: 'users', url: httpUrl(env, 'USERS_URL', 'http://127.0.0.1:4002/graphql'), variable: 'USERS_URL' },
    ],
    supergraphFile: env.SUPERGRAPH_FILE?.trim() || undefined,
    startupTimeoutMs: integer(env, 'GATEWAY_STARTUP_TIMEOUT_MS', 60_000, 0, 3_600_000),
    pollIntervalMs: integer(env, 'GATEWAY_POLL_INTERVAL_MS', 0, 0, 86_400_000),
    explorerDir: resolve(env.EXPLORER_DIR?.trim() || DEFAULT_EXPLORER_DIR),
    subscriptionBuffer: integer(env, 'GATEWAY_SUBSCRIPTION_BUFFER', 10_000, 1, 10_000_000),
    logLevel: logLevel as LogLevel,
  };
}
