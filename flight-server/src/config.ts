import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TlsFiles } from './server/transport/tls.js';
import { loadUserTable, type UserTable } from './server/auth/user-table.js';
import { parseS3Url } from './storage/object-store/s3-store.js';

/**
 * `<repository>/data/flight`: npm runs a workspace's script in the workspace's folder, so a default
 * relative to the working directory would differ between `npm start` and `npm start -w flight-server`.
 */
export const DEFAULT_DATA_DIR = fileURLToPath(new URL('../../data/flight', import.meta.url));
/** `<repository>/data/cache`: the disk tier of object-store files (CACHE_DIR). */
export const DEFAULT_CACHE_DIR = fileURLToPath(new URL('../../data/cache', import.meta.url));

/** The Flight server's configuration, read from the environment once and validated. */
export interface FlightServerConfig extends OperationsConfig {
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
  /** Keep an uncompressed Arrow IPC copy of each data file for full reads (FLIGHT_IPC_TIER). */
  ipcTier: boolean;
  /**
   * INGEST_PARQUET: 'background' acknowledges a DoPut once its rows are durable as Arrow IPC and
   * encodes Parquet afterwards; 'inline' (default, for now) encodes before the commit. Background
   * needs the IPC tier and local mode (DATA_URL and CATALOG_URL encode inline).
   */
  ingestParquet: 'background' | 'inline';
  /** INGEST_PENDING_MB in bytes: IPC bytes waiting for their Parquet above which a DoPut waits. */
  ingestPendingBytes: number;
  /** FLIGHT_TEST_ENCODE_DELAY_MS, tests only: pause before encoding each pending file (widens the crash window). */
  testEncodeDelayMs: number;
  /** DoGet on node:http2 directly ('http2', no copy of bodies) or through grpc-js (FLIGHT_DOGET_TRANSPORT). */
  doGetTransport: 'http2' | 'grpc-js';
  /** FLIGHT_RECEIVE_WINDOW_BYTES: HTTP/2 receive window of each stream (a connection's is four times it). */
  receiveWindowBytes: number;
  /** FLIGHT_CHECKPOINT_EVERY: a catalog checkpoint follows every version that is a multiple of this. */
  checkpointEvery: number;
  /** FLIGHT_COMPACT_FILES: partitions with more files are merged in the background; 0 = off. */
  compactFiles: number;
  /**
   * Whether GLIBC_TUNABLES asks malloc for transparent huge pages (`glibc.malloc.hugetlb=1` or `2`),
   * as `npm start` and the image set it. glibc reads it when the process starts; the server only
   * reports it (the "listening" log line), so an operator can see a launcher that dropped it.
   */
  mallocHugePages: boolean;
  /** CATALOG_URL: `postgres://…` keeps the catalog in PostgreSQL, shared by replicas; null: the file catalog in DATA_DIR. */
  catalogUrl: string | null;
  /** DATA_URL: `s3://bucket/prefix` keeps data files on an object store (needs CATALOG_URL); null: in DATA_DIR. */
  dataUrl: string | null;
  /** S3_ENDPOINT: the object store's endpoint when it is not AWS (path-style); null: AWS S3. */
  s3Endpoint: string | null;
  /** CACHE_DIR: the disk tier of object-store files. */
  cacheDir: string;
  /** CACHE_DISK_MB in bytes: the disk tier's bound; 0 = no disk tier. */
  cacheDiskBytes: number;
  /**
   * FLIGHT_ADVERTISE_URL: this replica's URL as clients reach it (`grpc://host:port` or
   * `grpc+tls://host:port`); GetFlightInfo lists the live replicas' as endpoint locations. Null:
   * endpoints carry no location.
   */
  advertiseUrl: string | null;
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

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, values: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(values as readonly string[]).includes(raw)) throw new Error(`${name}=${JSON.stringify(raw)} must be one of ${values.join(', ')}`);
  return raw as T;
}

/** The last `glibc.malloc.hugetlb=` of a GLIBC_TUNABLES value is 1 or 2 (glibc takes the last). */
function mallocHugePages(tunables: string | undefined): boolean {
  const last = (tunables ?? '').split(':').filter((t) => t.startsWith('glibc.malloc.hugetlb=')).at(-1);
  return last === 'glibc.malloc.hugetlb=1' || last === 'glibc.malloc.hugetlb=2';
}

function boolean(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|on|yes)$/i.test(raw)) return true;
  if (/^(0|false|off|no)$/i.test(raw)) return false;
  throw new Error(`${name}=${JSON.stringify(raw)} must be true or false`);
}

function catalogUrl(env: NodeJS.ProcessEnv): string | null {
  const raw = env.CATALOG_URL;
  if (raw === undefined || raw === '') return null;
  if (!/^postgres(ql)?:\/\/[^/]/.test(raw)) throw new Error('CATALOG_URL must be a postgres:// (or postgresql://) URL');
  return raw;
}

/** DATA_URL, S3_ENDPOINT and the disk tier, checked together. */
function objectStoreConfig(env: NodeJS.ProcessEnv, catalog: string | null): Pick<FlightServerConfig, 'dataUrl' | 's3Endpoint' | 'cacheDir' | 'cacheDiskBytes'> {
  const dataUrl = env.DATA_URL || null;
  const s3Endpoint = env.S3_ENDPOINT || null;
  if (dataUrl !== null) {
    parseS3Url(dataUrl);
    if (catalog === null) {
      throw new Error('DATA_URL needs CATALOG_URL (postgres://…): with data on an object store the catalog lives in PostgreSQL, where every replica sees each commit');
    }
  }
  if (s3Endpoint !== null) {
    if (dataUrl === null) throw new Error('S3_ENDPOINT is set but DATA_URL is not: S3_ENDPOINT names the object store of DATA_URL=s3://bucket/prefix');
    let url: URL | null = null;
    try {
      url = new URL(s3Endpoint);
    } catch {
      url = null;
    }
    if (!url || !['http:', 'https:'].includes(url.protocol)) throw new Error(`S3_ENDPOINT=${JSON.stringify(s3Endpoint)} must be an http:// or https:// URL`);
  }
  return {
    dataUrl,
    s3Endpoint,
    cacheDir: resolve(env.CACHE_DIR || DEFAULT_CACHE_DIR),
    cacheDiskBytes: integer(env, 'CACHE_DISK_MB', 10240, 0, 1024 * 1024 * 1024) * MiB,
  };
}

/** FLIGHT_ADVERTISE_URL: a grpc:// or grpc+tls:// URL with a host and a port, nothing after them. */
function advertiseUrl(env: NodeJS.ProcessEnv): string | null {
  const raw = env.FLIGHT_ADVERTISE_URL;
  if (raw === undefined || raw === '') return null;
  const fault = `FLIGHT_ADVERTISE_URL=${JSON.stringify(raw)} must be grpc://host:port or grpc+tls://host:port (this replica's address as clients reach it)`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(fault);
  }
  const port = Number(url.port);
  if (!['grpc:', 'grpc+tls:'].includes(url.protocol) || url.hostname === '' || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(fault);
  if (url.username || url.password || (url.pathname !== '' && url.pathname !== '/') || url.search || url.hash) throw new Error(fault);
  return `${url.protocol}//${url.host}`;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): FlightServerConfig {
  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new Error(`LOG_LEVEL=${JSON.stringify(logLevel)} must be one of fatal, error, warn, info, debug, trace, silent`);
  }
  return {
    host: env.FLIGHT_HOST || '127.0.0.1',
    port: integer(env, 'FLIGHT_PORT', 8815, 0, 65535),
    dataDir: resolve(env.DATA_DIR || DEFAULT_DATA_DIR),
    logLevel,
    maxMessageBytes: integer(env, 'FLIGHT_MAX_MESSAGE_BYTES', 256 * MiB, 1 * MiB, 2047 * MiB),
    maxPutBytes: integer(env, 'FLIGHT_MAX_PUT_BYTES', 4096 * MiB, 1 * MiB),
    rowGroupRows: integer(env, 'FLIGHT_ROW_GROUP_ROWS', 131_072, 1024),
    endpointTargetRows: integer(env, 'FLIGHT_ENDPOINT_ROWS', 100_000, 1),
    outputBatchRows: integer(env, 'FLIGHT_BATCH_ROWS', 65_536, 1),
    cacheBytes: integer(env, 'CACHE_MB', 512, 0, 1024 * 1024) * MiB,
    ipcTier: boolean(env, 'FLIGHT_IPC_TIER', true),
    ingestParquet: oneOf(env, 'INGEST_PARQUET', ['background', 'inline'] as const, 'inline'),
    ingestPendingBytes: integer(env, 'INGEST_PENDING_MB', 1024, 1, 1024 * 1024) * MiB,
    testEncodeDelayMs: integer(env, 'FLIGHT_TEST_ENCODE_DELAY_MS', 0, 0, 3_600_000),
    doGetTransport: oneOf(env, 'FLIGHT_DOGET_TRANSPORT', ['http2', 'grpc-js'] as const, 'http2'),
    receiveWindowBytes: integer(env, 'FLIGHT_RECEIVE_WINDOW_BYTES', 4 * MiB, 65_535, 256 * MiB),
    checkpointEvery: integer(env, 'FLIGHT_CHECKPOINT_EVERY', 100, 1, 1_000_000),
    compactFiles: integer(env, 'FLIGHT_COMPACT_FILES', 16, 0, 1_000_000),
    mallocHugePages: mallocHugePages(env.GLIBC_TUNABLES),
    catalogUrl: catalogUrl(env),
    ...objectStoreConfig(env, catalogUrl(env)),
    advertiseUrl: advertiseUrl(env),
    ...loadOperationsConfig(env),
  };
}

/** Auth, TLS, metrics, limits and shutdown (README, "Security and operations"). */
export interface OperationsConfig {
  /** FLIGHT_USERS and FLIGHT_USERS_FILE; null: auth off. */
  users: UserTable | null;
  /** FLIGHT_TOKEN_TTL (seconds, default 3600). */
  tokenTtlMs: number;
  /** FLIGHT_TOKEN_SECRET: HMAC key of bearer tokens; null: random per process. */
  tokenSecret: Buffer | null;
  /** FLIGHT_TLS_CERT / FLIGHT_TLS_KEY (/ FLIGHT_TLS_CLIENT_CA); null: plaintext. */
  tls: TlsFiles | null;
  /** METRICS_PORT; null: no metrics endpoint. */
  metricsPort: number | null;
  /** METRICS_HOST (default FLIGHT_HOST). */
  metricsHost: string;
  /** FLIGHT_MAX_CONCURRENT_CALLS; 0 = unlimited. */
  maxConcurrentCalls: number;
  /** FLIGHT_MAX_CALLS_PER_CONNECTION; 0 = unlimited. */
  maxCallsPerConnection: number;
  /** FLIGHT_MAX_ROWS_PER_GET; 0 = unlimited. */
  maxRowsPerGet: number;
  /** FLIGHT_SHUTDOWN_GRACE_MS: how long running calls may take to finish after SIGTERM. */
  shutdownGraceMs: number;
  /** FLIGHT_STREAM_MEMORY_MB in bytes: what open DoGet streams may hold together; 0 = unlimited. */
  streamMemoryBytes: number;
  /** FLIGHT_STREAM_MEMORY_WAIT_MS: how long a DoGet waits for that memory before RESOURCE_EXHAUSTED. */
  streamMemoryWaitMs: number;
  /** FLIGHT_FOLLOW_MAX_PENDING: commits a DoGet `follow` stream may fall behind before RESOURCE_EXHAUSTED. */
  followMaxPending: number;
}

function loadOperationsConfig(env: NodeJS.ProcessEnv): OperationsConfig {
  const cert = env.FLIGHT_TLS_CERT || undefined;
  const key = env.FLIGHT_TLS_KEY || undefined;
  const clientCa = env.FLIGHT_TLS_CLIENT_CA || undefined;
  if ((cert === undefined) !== (key === undefined)) throw new Error('FLIGHT_TLS_CERT and FLIGHT_TLS_KEY must be set together');
  if (clientCa !== undefined && cert === undefined) throw new Error('FLIGHT_TLS_CLIENT_CA needs FLIGHT_TLS_CERT and FLIGHT_TLS_KEY');
  const secret = env.FLIGHT_TOKEN_SECRET || undefined;
  if (secret !== undefined && secret.length < 32) throw new Error('FLIGHT_TOKEN_SECRET must be at least 32 characters');
  const metricsPort = env.METRICS_PORT === undefined || env.METRICS_PORT === '' ? null : integer(env, 'METRICS_PORT', 0, 0, 65535);
  // One full DoGet stream reserves 16 MiB (README, Limits): a smaller budget would refuse them all.
  const streamMemoryMb = integer(env, 'FLIGHT_STREAM_MEMORY_MB', 1024, 0, 1024 * 1024);
  if (streamMemoryMb > 0 && streamMemoryMb < 16) throw new Error(`FLIGHT_STREAM_MEMORY_MB=${streamMemoryMb} must be 0 (unlimited) or at least 16`);
  return {
    users: loadUserTable(env.FLIGHT_USERS, env.FLIGHT_USERS_FILE),
    tokenTtlMs: integer(env, 'FLIGHT_TOKEN_TTL', 3600, 1, 30 * 24 * 3600) * 1000,
    tokenSecret: secret === undefined ? null : Buffer.from(secret, 'utf8'),
    tls: cert === undefined || key === undefined ? null : { certFile: cert, keyFile: key, clientCaFile: clientCa ?? null },
    metricsPort,
    metricsHost: env.METRICS_HOST || env.FLIGHT_HOST || '127.0.0.1',
    maxConcurrentCalls: integer(env, 'FLIGHT_MAX_CONCURRENT_CALLS', 1024, 0),
    maxCallsPerConnection: integer(env, 'FLIGHT_MAX_CALLS_PER_CONNECTION', 256, 0),
    maxRowsPerGet: integer(env, 'FLIGHT_MAX_ROWS_PER_GET', 0, 0),
    shutdownGraceMs: integer(env, 'FLIGHT_SHUTDOWN_GRACE_MS', 10_000, 0, 24 * 3600 * 1000),
    streamMemoryBytes: streamMemoryMb * MiB,
    streamMemoryWaitMs: integer(env, 'FLIGHT_STREAM_MEMORY_WAIT_MS', 30_000, 0, 24 * 3600 * 1000),
    followMaxPending: integer(env, 'FLIGHT_FOLLOW_MAX_PENDING', 1000, 1, 1_000_000),
  };
}
