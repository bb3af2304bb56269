/** The Flight server's configuration, read from the environment once and validated. */
export interface FlightServerConfig {
  host: string;
  port: number;
  dataDir: string;
  logLevel: string;
  /** Largest gRPC message the server accepts (pyarrow sends one message per batch). */
  maxMessageBytes: number;
  /** Arrow bytes one DoPut stream may hold before its commit. */
  maxPutBytes: number;
  rowGroupRows: number;
  endpointTargetRows: number;
  outputBatchRows: number;
  /** Bytes the hot cache of decoded partitions may hold (CACHE_MB). */
  cacheBytes: number;
}

const MiB = 1024 * 1024;

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name}=${JSON.stringify(raw)} must be an integer in [${min}, ${max}]`);
  }
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): FlightServerConfig {
  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new Error(`LOG_LEVEL=${JSON.stringify(logLevel)} must be one of fatal, error, warn, info, debug, trace, silent`);
  }
  return {
    host: env.FLIGHT_HOST || '127.0.0.1',
    port: integer(env, 'FLIGHT_PORT', 8815, 0, 65535),
    dataDir: env.DATA_DIR || './data/flight',
    logLevel,
    maxMessageBytes: integer(env, 'FLIGHT_MAX_MESSAGE_BYTES', 256 * MiB, 1 * MiB, 2047 * MiB),
    maxPutBytes: integer(env, 'FLIGHT_MAX_PUT_BYTES', 4096 * MiB, 1 * MiB),
    rowGroupRows: integer(env, 'FLIGHT_ROW_GROUP_ROWS', 131_072, 1024),
    endpointTargetRows: integer(env, 'FLIGHT_ENDPOINT_ROWS', 100_000, 1),
    outputBatchRows: integer(env, 'FLIGHT_BATCH_ROWS', 65_536, 1),
    cacheBytes: integer(env, 'CACHE_MB', 512, 0, 1024 * 1024) * MiB,
  };
}
