/**
 * The global connection options (`--url`, `--token`, `--user/--password`, `--tls-*`) and the
 * client they make.
 */
import { readFileSync } from 'node:fs';
import { FlightClient, type FlightClientOptions } from '@flightdeck/proto';
import { UsageError } from './cli-error.js';

export const DEFAULT_URL = 'grpc://127.0.0.1:8815';

export interface ConnectionOptions {
  url: string;
  token?: string;
  user?: string;
  password?: string;
  /** PEM files: CA to trust, and a client certificate and key (mutual TLS), for grpc+tls:// URLs. */
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

function pemFile(path: string | undefined, option: string): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`${option} ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

function tlsOptions(opts: ConnectionOptions): FlightClientOptions['tls'] {
  if (opts.tlsCa === undefined && opts.tlsCert === undefined && opts.tlsKey === undefined) return undefined;
  if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  const rootCerts = pemFile(opts.tlsCa, '--tls-ca');
  const certChain = pemFile(opts.tlsCert, '--tls-cert');
  const privateKey = pemFile(opts.tlsKey, '--tls-key');
  return { ...(rootCerts ? { rootCerts } : {}), ...(certChain ? { certChain } : {}), ...(privateKey ? { privateKey } : {}) };
}

/** The TLS settings of the options, for clients of the other replicas an endpoint lists. */
export function locationClientOptions(opts: ConnectionOptions): FlightClientOptions {
  const tls = tlsOptions(opts);
  return tls === undefined ? {} : { tls };
}

/** A client for the options; with `--user` it first trades the password for a token (Handshake). */
export async function connect(opts: ConnectionOptions): Promise<FlightClient> {
  if (opts.user !== undefined && opts.password === undefined) {
    throw new UsageError('--user needs --password (or FLIGHT_PASSWORD)');
  }
  let client: FlightClient;
  try {
    const tls = tlsOptions(opts);
    client = new FlightClient(opts.url, {
      ...(opts.token === undefined || opts.token === '' || opts.user !== undefined ? {} : { token: opts.token }),
      ...(tls === undefined ? {} : { tls }),
    });
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`--url: ${(err as Error).message}`);
  }
  if (opts.user !== undefined) {
    try {
      await client.handshake(opts.user, opts.password!);
    } catch (err) {
      client.close();
      throw err;
    }
  }
  return client;
}
