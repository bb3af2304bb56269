/**
 * The servers under test: flightdeck as one process (`node --import tsx`, never the tsx CLI, whose
 * child would outlive a kill of its pid), the pyarrow peer, and the whole stack via the root start
 * script for GraphQL. Also the page-cache drop that makes "cold" mean nothing in memory, and the
 * machine's fsynced write rate that bounds ingest.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, fsyncSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { withMallocHugePages } from '../../scripts/malloc-env.js';
import { parseJsonLine, startProcess, type Managed } from './processes.js';

export interface Listening {
  port: number;
  url: string;
}

function baseEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  // A benchmark runs with auth off and no npm flags leaking into the servers' config.
  delete env.FLIGHT_USERS;
  for (const k of Object.keys(env)) if (k.startsWith('npm_config_')) delete env[k];
  return env;
}

/** flightdeck started as `npm start` starts it (malloc on huge pages included), on the bench's data. */
export function startFlightdeck(root: string, dataDir: string, cacheMb: number | null): Promise<Managed<Listening>> {
  const env = {
    ...withMallocHugePages(baseEnv()),
    FLIGHT_PORT: '0',
    FLIGHT_HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    ...(cacheMb === null ? {} : { CACHE_MB: String(cacheMb) }),
  };
  return startProcess<Listening>('flightdeck', process.execPath, ['--import', 'tsx', 'flight-server/src/main.ts'], {
    cwd: root,
    env,
    timeoutMs: 120_000,
    ready: (line) => {
      const msg = parseJsonLine(line);
      if (msg?.msg !== 'flight server listening' || typeof msg.port !== 'number') return undefined;
      return { port: msg.port, url: `grpc://127.0.0.1:${msg.port}` };
    },
  });
}

export interface PeerOptions {
  memory?: string;
  parquetDir?: string;
  putDir?: string;
}

export function startPeer(root: string, python: string, opts: PeerOptions): Promise<Managed<Listening>> {
  const args = [join(root, 'bench', 'peer_server.py')];
  if (opts.memory) args.push('--memory', opts.memory);
  if (opts.parquetDir) args.push('--parquet-dir', opts.parquetDir);
  if (opts.putDir) args.push('--put-dir', opts.putDir);
  return startProcess<Listening>('peer', python, args, {
    cwd: root,
    env: baseEnv(),
    timeoutMs: 120_000,
    ready: (line) => {
      const msg = parseJsonLine(line);
      if (typeof msg?.port !== 'number') return undefined;
      return { port: msg.port, url: `grpc://127.0.0.1:${msg.port}` };
    },
  });
}

export interface Stack {
  gateway: string;
  facade: string;
  flight: string;
}

/** `npm start`'s script (scripts/start-all.ts) on port 0 everywhere, reading `dataDir`. */
export function startStack(root: string, dataDir: string, usersDir: string, cacheMb: number | null): Promise<Managed<Stack>> {
  const env: NodeJS.ProcessEnv = {
    ...baseEnv(),
    DATA_DIR: dataDir,
    USERS_DATA_DIR: usersDir,
    FLIGHT_PORT: '0',
    FACADE_PORT: '0',
    USERS_PORT: '0',
    GATEWAY_PORT: '0',
    LOG_LEVEL: 'info',
    ...(cacheMb === null ? {} : { CACHE_MB: String(cacheMb) }),
  };
  delete env.DATABASE_URL;
  return startProcess<Stack>('start-all', process.execPath, ['--import', 'tsx', 'scripts/start-all.ts'], {
    cwd: root,
    env,
    timeoutMs: 180_000,
    ready: (line) => {
      const msg = parseJsonLine(line);
      if (msg?.msg !== 'flightdeck ready' || typeof msg.gateway !== 'string') return undefined;
      return { gateway: msg.gateway, facade: String(msg.facade), flight: String(msg.flight) };
    },
  });
}

let dropWorks: boolean | undefined;

/** sync, then drop the OS page cache (needs root); false when the kernel refuses. */
export function dropPageCache(): boolean {
  execFileSync('sync');
  if (dropWorks === false) return false;
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3\n');
    dropWorks = true;
  } catch {
    dropWorks = false;
  }
  return dropWorks;
}

export function syncDisks(): void {
  execFileSync('sync');
}

/**
 * The rate at which this machine makes written bytes durable: `bytes` written to a new file in
 * `dir` in 8 MiB writes, then fsynced, timed together (the ceiling of any ingest that must write
 * and fsync that many bytes). Bytes per second.
 */
export function fsyncedWriteRate(dir: string, bytes = 512 * 1024 * 1024): number {
  const path = join(dir, `fsync-rate-${process.pid}.bin`);
  const chunk = Buffer.alloc(8 * 1024 * 1024, 0x5a);
  syncDisks();
  const started = performance.now();
  const fd = openSync(path, 'w');
  try {
    for (let written = 0; written < bytes; ) written += writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - written));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  return bytes / ((performance.now() - started) / 1000);
}
