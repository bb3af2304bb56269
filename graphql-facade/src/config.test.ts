import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has the contract defaults', () => {
    expect(loadConfig({})).toMatchObject({
      host: '127.0.0.1',
      port: 4001,
      flightUrl: 'grpc://127.0.0.1:8815',
      defaultDataset: 'bars_1d',
      maxRows: 100_000,
      locationRefreshMs: 5000,
    });
    expect(loadConfig({ FACADE_LOCATION_REFRESH_MS: '0' }).locationRefreshMs).toBe(0);
  });

  it('fails fast naming the variable', () => {
    expect(() => loadConfig({ FACADE_PORT: 'x' })).toThrow(/FACADE_PORT/);
    expect(() => loadConfig({ FLIGHT_URL: 'http://h:1' })).toThrow(/FLIGHT_URL/);
    expect(() => loadConfig({ FACADE_DEFAULT_DATASET: 'Bars' })).toThrow(/FACADE_DEFAULT_DATASET/);
    expect(() => loadConfig({ FACADE_MAX_ROWS: '0' })).toThrow(/FACADE_MAX_ROWS/);
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
    expect(() => loadConfig({ FACADE_LOCATION_REFRESH_MS: '-1' })).toThrow(/FACADE_LOCATION_REFRESH_MS/);
    expect(() => loadConfig({ FLIGHT_USER: 'reader' })).toThrow(/FLIGHT_PASSWORD is missing/);
  });
});
