import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageReader, Table, tableFromIPC, tableToIPC, type RecordBatch } from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BARS_FIELDS, makeBars } from '../../../test-support/bars.js';
import { DatasetStore } from '../dataset-store.js';
import { FORWARD_READ_BYTES } from '../io/ipc-tier-ranges.js';
import { type ReadQuery, wholeDataset } from '@flightdeck/contract';

const silent = { info: () => undefined, warn: () => undefined };
const SYMBOLS = ['AAPL', 'MSFT', 'NVDA', 'TSLA'];
const HOURS = 24;
/** One hour partition's tier copy is about 13 kB; the day's 24 about 320 kB. */
const CACHE_BYTES = 160 * 1024;

async function* from(batches: RecordBatch[]): AsyncGenerator<RecordBatch> {
  yield* batches;
}

/** Every endpoint's rows as `symbol@ts`, in the order read, and whether each read forwarded IPC. */
async function scan(store: DatasetStore, query: ReadQuery): Promise<{ rows: string[]; forwarded: boolean }> {
  const plan = await store.plan(query);
  const rows: string[] = [];
  let forwarded = true;
  for (const e of plan.endpoints) {
    const data = await store.read(e.slice);
    if (data.kind !== 'ipc') {
      forwarded = false;
      continue;
    }
    // A cached file is a whole IPC stream; a streamed one comes as bare messages, read behind the schema.
    const schemaMessage = tableToIPC(new Table(data.schema, []), 'stream').subarray(0, -8);
    for await (const ipc of data.streams) {
      const whole = new MessageReader(ipc).readMessage()?.isSchema() === true;
      const stream = whole ? ipc : new Uint8Array(Buffer.concat([schemaMessage, ipc]));
      for (const b of tableFromIPC(stream).batches) for (const r of b) rows.push(`${r!.symbol}@${r!.ts}`);
    }
  }
  return { rows, forwarded };
}

let dir: string;
let store: DatasetStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fd-larger-'));
  store = await DatasetStore.open(
    { dataDir: dir, cacheBytes: CACHE_BYTES, ipcTier: true, rowGroupRows: 1024, maxPutBytes: 64 * 1024 * 1024, endpointTargetRows: 1, outputBatchRows: 64 },
    silent,
  );
  await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'hour', fields: BARS_FIELDS });
  await store.createDataset({ name: 'wide', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
  const batch = makeBars({ symbols: SYMBOLS, start: '2024-01-02T00:00:00Z', minutes: HOURS * 60 });
  await store.put('bars', batch.schema, from([batch]));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('full scans of a dataset larger than the hot cache', () => {
  it('return exactly the rows, keep a stable part cached and read the rest around the cache', async () => {
    const expected = SYMBOLS.length * HOURS * 60;
    const first = await scan(store, wholeDataset('bars'));
    expect(first.forwarded).toBe(true);
    expect(first.rows).toHaveLength(expected);
    expect(new Set(first.rows).size).toBe(expected);
    const afterFirst = store.cacheStats();
    expect(afterFirst.entries).toBeGreaterThan(0);
    expect(afterFirst.entries).toBeLessThan(HOURS);
    expect(afterFirst.notAdmitted).toBeGreaterThan(0);
    for (let pass = 0; pass < 3; pass++) {
      const before = store.cacheStats();
      const again = await scan(store, wholeDataset('bars'));
      expect(again.rows).toEqual(first.rows);
      const after = store.cacheStats();
      // Every file the cache kept is a hit on each later scan; nothing is evicted to make room.
      expect(after.hits - before.hits).toBe(afterFirst.entries);
      expect(after.evictions).toBe(0);
      expect(after.entries).toBe(afterFirst.entries);
    }
    expect(store.cacheStats().bytes).toBeLessThanOrEqual(CACHE_BYTES);
  });

  it('hold a bounded window while streaming a file larger than the cache', async () => {
    // One day partition of about 11 MB (stored batches of 16,384 rows): far past the cache's share, so it is never read whole.
    const large = await DatasetStore.open(
      { dataDir: dir, cacheBytes: CACHE_BYTES, ipcTier: true, rowGroupRows: 65_536, maxPutBytes: 64 * 1024 * 1024, endpointTargetRows: 1_000_000, outputBatchRows: 16_384 },
      silent,
    );
    const symbols = Array.from({ length: 140 }, (_, i) => `S${String(i).padStart(3, '0')}`);
    const batch = makeBars({ symbols, start: '2024-01-02T00:00:00Z', minutes: 1440 });
    await large.put('wide', batch.schema, from([batch]));
    const streamed = await scan(large, wholeDataset('wide'));
    expect(streamed.forwarded).toBe(true);
    expect(streamed.rows).toHaveLength(batch.numRows);
    expect(large.cacheStats().bytes).toBe(0);
    const windows = large.readWindowStats();
    expect(windows.heldBytes).toBe(0);
    // A read and the one read ahead at most, not the file.
    expect(windows.peakBytes).toBeGreaterThan(0);
    expect(windows.peakBytes).toBeLessThanOrEqual(2 * FORWARD_READ_BYTES);
  });
});
