/**
 * Commit notifications and the rows a version wrote: on the file catalog (this process's commits,
 * upserts told apart row by row) and across two stores on one PostgreSQL catalog (another
 * replica's commits, announced when this one catches up).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC, type RecordBatch } from 'apache-arrow';
import { wholeDataset, type ReadQuery } from '@flightdeck/contract';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BARS_FIELDS, makeBars } from '../../test-support/bars.js';
import { createTestDatabase, PG_AVAILABLE, type TestDatabase } from '../../test-support/pg-catalog.js';
import { batchesOf, silentLog, storeOptions } from '../../test-support/store-reads.js';
import type { CommitEvent, FeedEvent } from './commit-feed.js';
import { DatasetStore } from './dataset-store.js';

let dir: string;
const stores: DatasetStore[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fd-commit-feed-'));
});
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  await rm(dir, { recursive: true, force: true });
});

async function open(catalogUrl: string | null = null): Promise<DatasetStore> {
  const store = await DatasetStore.open({ ...storeOptions(dir), catalogUrl, compactFiles: 0 }, silentLog);
  stores.push(store);
  return store;
}

async function put(store: DatasetStore, symbols: string[], start: string, minutes: number, priceOffset = 0): Promise<number> {
  const b = makeBars({ symbols, start, minutes, priceOffset });
  return (await store.put('bars', b.schema, batchesOf([b]))).version;
}

/** What a follower of `query` would be sent for `event`. */
async function committedRows(store: DatasetStore, event: CommitEvent, query: ReadQuery): Promise<Record<string, unknown>[]> {
  const data = await store.readCommitted(event, query, BARS_FIELDS.map((f) => f.name));
  if (data === null) return [];
  const batches: AsyncIterable<RecordBatch> =
    data.kind === 'batches'
      ? data.batches
      : (async function* () {
          for await (const ipc of data.streams) yield* tableFromIPC(ipc).batches;
        })();
  const rows: Record<string, unknown>[] = [];
  for await (const b of batches) for (const r of b) rows.push(r!.toJSON());
  return rows;
}

describe('commit notifications', () => {
  it('announce each durable commit in order; a version\'s rows are what it wrote, upserts row by row', async () => {
    const store = await open();
    await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
    await put(store, ['AAPL', 'MSFT'], '2024-01-02T14:30:00Z', 60);
    const events: FeedEvent[] = [];
    const stop = store.commits.subscribe('bars', (e) => events.push(e));
    const other: FeedEvent[] = [];
    store.commits.subscribe('other', (e) => other.push(e));
    expect(store.commits.listenerCount()).toBe(2);

    const v2 = await put(store, ['AAPL', 'MSFT'], '2024-01-02T15:30:00Z', 5);
    // Three minutes inside the stored range, with new prices: the stored file is rewritten whole.
    const v3 = await put(store, ['AAPL'], '2024-01-02T14:40:00Z', 3, 1000);
    const compacted = (await store.compact('bars', null)).version;
    const deleted = (await store.deleteRange('bars', ['MSFT'], null, null)).version;
    expect(events.map((e) => (e.kind === 'commit' ? [e.version, e.writesRows] : e.kind))).toEqual([
      [v2, true],
      [v3, true],
      [compacted, false],
      [deleted, false],
    ]);
    expect(other).toEqual([]);

    const q = wholeDataset('bars');
    const appended = await committedRows(store, events[0] as CommitEvent, q);
    expect(appended).toHaveLength(10);
    const upsert = events[1] as CommitEvent;
    // The rewritten file holds the 120 rows of version 1, three of them replaced...
    expect(upsert.added.map((f) => f.rows)).toEqual([120]);
    expect([...upsert.written.values()].flat()).toEqual([[10, 13]]);
    // ...and a follower gets only the three rows written, with their new values.
    const rows = await committedRows(store, upsert, q);
    expect(rows.map((r) => [r.symbol, r.close])).toEqual([
      ['AAPL', expect.closeTo(1000 + 100 + 0 * 0.25 + 0.5, 6)],
      ['AAPL', expect.closeTo(1000 + 100 + 1 * 0.25 + 0.5, 6)],
      ['AAPL', expect.closeTo(1000 + 100 + 2 * 0.25 + 0.5, 6)],
    ]);
    expect(await committedRows(store, upsert, { ...q, symbols: ['MSFT'] })).toEqual([]);
    expect(await committedRows(store, events[2] as CommitEvent, q)).toEqual([]);

    stop();
    stop();
    expect(store.commits.listenerCount()).toBe(1);
    await store.drop('other').catch(() => undefined);
    await store.drop('bars');
    expect(events).toHaveLength(4);
  });

  it('a drop ends the dataset\'s followers', async () => {
    const store = await open();
    await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
    const events: FeedEvent[] = [];
    store.commits.subscribe('bars', (e) => events.push(e));
    await store.drop('bars');
    expect(events).toEqual([{ kind: 'drop', dataset: 'bars' }]);
  });
});

describe.skipIf(!PG_AVAILABLE)('commit notifications across replicas (PostgreSQL catalog)', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    await db.drop();
  });

  it('a commit on one store reaches the other store\'s followers within 2 s, with the rows of its files', async () => {
    const a = await open(db.url);
    const b = await open(db.url);
    await a.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
    const t0 = Date.now();
    while (!b.listDatasets().some((m) => m.name === 'bars')) {
      if (Date.now() - t0 > 2000) throw new Error('the dataset did not reach the other store within 2 s');
      await new Promise((r) => setTimeout(r, 5));
    }
    const events: CommitEvent[] = [];
    b.commits.subscribe('bars', (e) => {
      if (e.kind === 'commit') events.push(e);
    });
    const started = Date.now();
    const v1 = await put(a, ['AAPL', 'MSFT'], '2024-01-02T14:30:00Z', 4);
    const v2 = await put(a, ['AAPL'], '2024-01-02T15:30:00Z', 2);
    while (events.length < 2) {
      if (Date.now() - started > 2000) throw new Error(`only ${events.length} of 2 commits reached the other store within 2 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(events.map((e) => e.version)).toEqual([v1, v2]);
    expect(await committedRows(b, events[0]!, { ...wholeDataset('bars'), symbols: ['MSFT'] })).toHaveLength(4);
    expect(await committedRows(b, events[1]!, wholeDataset('bars'))).toHaveLength(2);
  });
});
