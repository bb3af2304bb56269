import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('loadConfig: write-ahead ingest', () => {
  it('reads INGEST_PARQUET, INGEST_PENDING_MB and FLIGHT_TEST_ENCODE_DELAY_MS, failing fast naming the variable', () => {
    const d = loadConfig({});
    expect([d.ingestParquet, d.ingestPendingBytes, d.testEncodeDelayMs]).toEqual(['inline', 1024 * 1024 * 1024, 0]);
    const c = loadConfig({ INGEST_PARQUET: 'background', INGEST_PENDING_MB: '64', FLIGHT_TEST_ENCODE_DELAY_MS: '500' });
    expect([c.ingestParquet, c.ingestPendingBytes, c.testEncodeDelayMs]).toEqual(['background', 64 * 1024 * 1024, 500]);
    expect(() => loadConfig({ INGEST_PARQUET: 'later' })).toThrow('INGEST_PARQUET');
    expect(() => loadConfig({ INGEST_PENDING_MB: '0' })).toThrow('INGEST_PENDING_MB');
  });
});
