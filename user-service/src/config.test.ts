import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_USERS_DATA_DIR, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('defaults to port 4002 and embedded PGlite in <repository>/data/users, wherever it is started', () => {
    expect(loadConfig({})).toEqual({ host: '127.0.0.1', port: 4002, databaseUrl: undefined, dataDir: DEFAULT_USERS_DATA_DIR, logLevel: 'info' });
    expect(DEFAULT_USERS_DATA_DIR).toBe(fileURLToPath(new URL('../../data/users', import.meta.url)));
    expect(loadConfig({ USERS_DATA_DIR: 'rel/users' }).dataDir).toBe(resolve('rel/users'));
  });

  it('reads every variable', () => {
    const config = loadConfig({
      USERS_HOST: '0.0.0.0',
      USERS_PORT: '0',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
      USERS_DATA_DIR: '/var/lib/users',
      LOG_LEVEL: 'debug',
    });
    expect(config).toEqual({
      host: '0.0.0.0',
      port: 0,
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/test',
      dataDir: '/var/lib/users',
      logLevel: 'debug',
    });
    expect(loadConfig({ DATABASE_URL: 'postgresql://u:p@db/users' }).databaseUrl).toBe('postgresql://u:p@db/users');
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ USERS_PORT: '', DATABASE_URL: '  ', LOG_LEVEL: '' })).toMatchObject({ port: 4002, databaseUrl: undefined, logLevel: 'info' });
  });

  it.each([
    [{ USERS_PORT: '-1' }, /^USERS_PORT=/],
    [{ USERS_PORT: '65536' }, /^USERS_PORT=/],
    [{ USERS_PORT: '80.5' }, /^USERS_PORT=/],
    [{ USERS_PORT: 'http' }, /^USERS_PORT=/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL=/],
    [{ DATABASE_URL: 'not a url' }, /^DATABASE_URL /],
    [{ DATABASE_URL: 'mysql://root@localhost/users' }, /^DATABASE_URL must start with postgres/],
  ])('fails fast naming the variable: %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('never echoes a DATABASE_URL (it may hold a password)', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://root:hunter2@localhost/users' })).toThrow(/^(?!.*hunter2)/);
  });
});
