/** The user service's configuration, read from the environment once and validated. */
import { LOG_LEVELS, type LogLevel } from '@flightdeck/graphql-http';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `<repository>/data/users`, however the service is started: npm runs a workspace's script in the
 * workspace's folder, so a default relative to the working directory would differ from `npm start`'s.
 */
export const DEFAULT_USERS_DATA_DIR = fileURLToPath(new URL('../../data/users', import.meta.url));

export { LOG_LEVELS, type LogLevel };

export interface UserServiceConfig {
  /** Interface to bind (`USERS_HOST`, default 127.0.0.1: the gateway is the public face). */
  host: string;
  /** `USERS_PORT`, default 4002; 0 picks a free port (logged on start). */
  port: number;
  /** `DATABASE_URL` (postgres:// or postgresql://); undefined means embedded PGlite in `dataDir`. */
  databaseUrl: string | undefined;
  /** `USERS_DATA_DIR` (absolute), default `<repository>/data/users`; used only when `databaseUrl` is undefined. */
  dataDir: string;
  logLevel: LogLevel;
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isInteger(value) || value > 65535) {
    throw new Error(`${name}=${JSON.stringify(raw)} must be an integer in [0, 65535]`);
  }
  return value;
}

function databaseUrl(env: NodeJS.ProcessEnv): string | undefined {
  const raw = env.DATABASE_URL?.trim();
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error('DATABASE_URL is not a valid URL (expected postgres://user@host:5432/db)');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new Error(`DATABASE_URL must start with postgres:// or postgresql://, got ${url.protocol}//`);
  }
  return raw;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): UserServiceConfig {
  const logLevel = env.LOG_LEVEL?.trim() || 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new Error(`LOG_LEVEL=${JSON.stringify(logLevel)} must be one of ${LOG_LEVELS.join(', ')}`);
  }
  return {
    host: env.USERS_HOST?.trim() || '127.0.0.1',
    port: port(env, 'USERS_PORT', 4002),
    databaseUrl: databaseUrl(env),
    dataDir: resolve(env.USERS_DATA_DIR?.trim() || DEFAULT_USERS_DATA_DIR),
    logLevel: logLevel as LogLevel,
  };
}
