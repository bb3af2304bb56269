import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Schema, tableFromIPC, type RecordBatch } from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BARS_FIELDS, barsSchema, makeBars, price } from '../../test-support/bars.js';
import { DatasetStore } from './dataset-store.js';
import { COALESCE_ROWS } from './read/reader.js';
import { type ReadQuery, wholeDataset } from '@flightdeck/contract';

const silent = { info: () => undefined, warn: () => undefined };
const options = (dataDir: string) => ({ dataDir, cacheBytes: 64 * 1024 * 1024, ipcTier: true, rowGroupRows: 1024, maxPutBytes: 64 * 1024 * 1024, endpointTargetRows: 10_000, outputBatchRows: 4096 });

async function* from(batches: RecordBatch[]): AsyncGenerator<RecordBatch> {
  yield* batches;
}

async function readAll(store: DatasetStore, query: ReadQuery): Promise<Record<string, unknown>[]> {
  const plan = await store.plan(query);
  const rows: Record<string, unknown>[] = [];
  for (const e of plan.endpoints) {
    const data = await store.read(e.slice);
    const batches = data.kind === 'batches' ? data.batches : (async function* () {
      for await (const ipc of data.streams) yield* tableFromIPC(ipc).batches;
    })();
    for await (const b of batches) for (const r of b) rows.push(r!.toJSON());
  }
  return rows;
}

let dir: string;
let store: DatasetStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fd-store-'));
  store = await DatasetStore.open(options(dir), silent);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('DatasetStore', () => {
  it('creates, puts across partitions and reads back in key/time order', async () => {
    await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
    const batch = makeBars({ symbols: ['MSFT', 'AAPL'], start: '2024-01-02T23:00:00Z', minutes: 120 });
    const out = await store.put('bars', batch.schema, from([batch]));
    expect(out).toEqual({ rows: 240, version: 1, partitions: ['date=2024-01-02', 'date=2024-01-03'] });
    const rows = await readAll(store, wholeDataset('bars'));
    expect(rows).toHaveLength(240);
    // Both small partitions share one endpoint, ordered by key then time across them.
    expect((await store.plan(wholeDataset('bars'))).endpoints).toHaveLength(1);
    expect(rows.slice(0, 120).every((r) => r.symbol === 'AAPL')).toBe(true);
    expect(rows.slice(120).every((r) => r.symbol === 'MSFT')).toBe(true);
    expect(rows.slice(0, 120).map((r) => r.ts)).toEqual(Array.from({ length: 120 }, (_, m) => Date.parse('2024-01-02T23:00:00Z') + m * 60_000));
    const split = await DatasetStore.open({ ...options(dir), endpointTargetRows: 100 }, silent);
    const plan = await split.plan(wholeDataset('bars'));
    expect(plan.endpoints.map((e) => e.slice.partitions)).toEqual([['date=2024-01-02'], ['date=2024-01-03']]);
    expect(plan.ordered).toBe(false);
    expect(plan.totalRecords).toBe(240);
    const desc = await store.describe('bars');
    expect(desc.rows).toBe(240);
    expect(desc.partitions.map((p) => p.key)).toEqual(['date=2024-01-02', 'date=2024-01-03']);
  });

  it('upserts: a re-sent bar replaces the stored one, last write in a stream wins', async () => {
    await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
    const first = makeBars({ symbols: ['AAPL'], start: '2024-01-02T10:00:00Z', minutes: 10 });
    await store.put('bars', first.schema, from([first]));
    const resent = makeBars({ symbols: ['AAPL'], start: '2024-01-02T10:05:00Z', minutes: 10, priceOffset: 1000 });
    const resentAgain = makeBars({ symbols: ['AAPL'], start: '2024-01-02T10:14:00Z', minutes: 1, priceOffset: 2000 });
    const out = await store.put('bars', first.schema, from([resent, resentAgain]));
    expect(out.version).toBe(2);
    const rows = await readAll(store, wholeDataset('bars'));
    expect(rows).toHaveLength(15);
    expect(rows[4]!.open).toBe(price(0, 4));
    expect(rows[5]!.open).toBe(price(0, 0) + 1000);
    expect(rows[14]!.open).toBe(price(0, 0) + 2000);
  });

  it('filters by symbols and [start, end) and projects columns', async () => {
    await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'hour', fields: BARS_FIELDS });
    const batch = makeBars({ symbols: ['AAPL', 'MSFT', 'GOOG'], start: '2024-01-02T09:00:00Z', minutes: 180 });
    await store.put('bars', batch.schema, from([batch]));
    const query: ReadQuery = {
      ...wholeDataset('bars'),
      symbols: ['MSFT'],
      startNs: BigInt(Date.parse('2024-01-02T09:59:00Z')) * 1_000_000n,
      endNs: BigInt(Date.parse('2024-01-02T10:02:00Z')) * 1_000_000n,
      columns: ['close', 'ts'],
    };
    const plan = await store.plan(query);
    expect(plan.schema.fields.map((f) => f.name)).toEqual(['close', 'ts']);
    const rows = await readAll(store, query);
    expect(rows.map((r) => r.ts)).toEqual([0, 1, 2].map((m) => Date.parse('2024-01-02T09:59:00Z') + m * 60_000));
    expect(rows.map((r) => r.close)).toEqual([59, 60, 61].map((m) => price(1, m) + 0.5));
    const limited = await readAll(store, { ...wholeDataset('bars'), limit: 5 });
    expect(limited.map((r) => r.symbol)).toEqual(['AAPL', 'AAPL', 'AAPL', 'AAPL', 'AAPL']);
  });

  it('reads a few symbols of a many-symbol partition from the IPC tier, fetching about their bytes alone', async () => {
    const symbols = Array.from({ length: 200 }, (_, i) => `S${String(i).padStart(3, '0')}`);
    const batch = makeBars({ symbols, start: '2024-01-02T14:30:00Z', minutes: 390, symbolType: 'dictionary' });
    const parquetOnly = await DatasetStore.open({ ...options(join(dir, 'parquet-only')), ipcTier: false }, silent);
    for (const s of [store, parquetOnly]) {
      await s.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
      await s.put('bars', batch.schema, from([batch]));
    }
    const query: ReadQuery = {
      ...wholeDataset('bars'),
      symbols: ['S150', 'S007'],
      startNs: BigInt(Date.parse('2024-01-02T15:00:00Z')) * 1_000_000n,
      endNs: null,
    };
    const before = store.ioStats().bytesRead;
    const rows = await readAll(store, query);
    const read = store.ioStats().bytesRead - before;
    expect(rows).toHaveLength(2 * 360);
    expect(rows).toEqual(await readAll(parquetOnly, query));
    expect(rows[0]).toMatchObject({ symbol: 'S007', ts: Date.parse('2024-01-02T15:00:00Z'), close: price(7, 30) + 0.5 });
    // Two symbols of 200 are 1 % of the rows; headers, key runs and the dictionary add a little.
    const tierFiles = (await readdir(join(dir, 'bars', '_ipc'), { recursive: true })).filter((f) => f.endsWith('.arrows'));
    expect(tierFiles).toHaveLength(1);
    const tierBytes = (await stat(join(dir, 'bars', '_ipc', tierFiles[0]!))).size;
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThan(tierBytes * 0.025);
    // Read again: served from the hot cache, nothing read from disk.
    const hits = store.cacheStats().hits;
    const reread = store.ioStats().bytesRead;
    expect(await readAll(store, query)).toEqual(rows);
    expect(store.ioStats().bytesRead).toBe(reread);
    expect(store.cacheStats().hits).toBeGreaterThan(hits);
    // Another symbol of the same file reuses the file's directory (headers, dictionary, key runs:
    // some 13 kB here): only the symbol's 390 rows of about 52 bytes are read.
    const other = await readAll(store, { ...query, symbols: ['S100'] });
    expect(other).toEqual(await readAll(parquetOnly, { ...query, symbols: ['S100'] }));
    expect(store.ioStats().bytesRead - reread).toBeLessThan(390 * 60);
  }, 30_000);

  it('a limit over many files keeps the first rows in key/time order', async () => {
    await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'hour', fields: BARS_FIELDS });
    // Six hourly files of four symbols; every file holds rows of every symbol.
    const batch = makeBars({ symbols: ['D', 'B', 'C', 'A'], start: '2024-03-04T09:00:00Z', minutes: 360 });
    await store.put('bars', batch.schema, from([batch]));
    const all = await readAll(store, wholeDataset('bars'));
    for (const limit of [1, 7, 70, 500]) {
      expect(await readAll(store, { ...wholeDataset('bars'), limit }), `limit ${limit}`).toEqual(all.slice(0, limit));
    }
    const some = all.filter((r) => r.symbol === 'B' || r.symbol === 'D');
    expect(await readAll(store, { ...wholeDataset('bars'), symbols: ['D', 'B'], limit: 400 })).toEqual(some.slice(0, 400));
  });

  it('joins the short runs of a merge or of many small files into batches of COALESCE_ROWS, in order', async () => {
    await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
    // Twenty appends of 50 minutes each, two symbols: files that follow each other in time for
    // one symbol, and whose keys interleave for both (each file holds a run of each).
    for (let k = 0; k < 20; k++) {
      const start = new Date(Date.parse('2024-01-02T00:00:00Z') + k * 50 * 60_000).toISOString();
      const batch = makeBars({ symbols: ['AAPL', 'MSFT'], start, minutes: 50 });
      await store.put('bars', batch.schema, from([batch]));
    }
    const small = Math.min(COALESCE_ROWS, options(dir).outputBatchRows);
    const batchesOf = async (query: ReadQuery): Promise<RecordBatch[]> => {
      const plan = await store.plan(query);
      const out: RecordBatch[] = [];
      for (const e of plan.endpoints) {
        const data = await store.read(e.slice);
        expect(data.kind).toBe('batches');
        if (data.kind === 'batches') for await (const b of data.batches) out.push(b);
      }
      return out;
    };
    // A limit keeps the read off the forwarding path, so rows come through the merge.
    for (const query of [
      { ...wholeDataset('bars'), limit: 1_000_000 },
      { ...wholeDataset('bars'), symbols: ['MSFT'], limit: 1_000_000 },
    ]) {
      const batches = await batchesOf(query);
      const rows = batches.flatMap((b) => [...b].map((r) => r!.toJSON()));
      const symbols = query.symbols ?? ['AAPL', 'MSFT'];
      expect(rows).toHaveLength(symbols.length * 1000);
      expect(rows.map((r) => `${r.symbol} ${r.ts}`)).toEqual(
        symbols.flatMap((s) => Array.from({ length: 1000 }, (_, m) => `${s} ${Date.parse('2024-01-02T00:00:00Z') + m * 60_000}`)),
      );
      // Every batch but the last reaches the join's size (the runs alone are 50 rows).
      expect(batches.slice(0, -1).every((b) => b.numRows >= small)).toBe(true);
      expect(batches.length).toBeLessThanOrEqual(Math.ceil(rows.length / small));
    }
    // A batch size under the runs' sum: joined runs are cut again, never above it.
    const narrow = await DatasetStore.open({ ...options(dir), outputBatchRows: 70 }, silent);
    const plan = await narrow.plan({ ...wholeDataset('bars'), limit: 1_000_000 });
    const sizes: number[] = [];
    let last = '';
    for (const e of plan.endpoints) {
      const data = await narrow.read(e.slice);
      if (data.kind !== 'batches') throw new Error('expected batches');
      for await (const b of data.batches) {
        sizes.push(b.numRows);
        for (const r of b) {
          const key = `${r!.symbol} ${String(r!.ts).padStart(16, '0')}`;
          expect(key > last).toBe(true);
          last = key;
        }
      }
    }
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(2000);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(70);
  });

  it('commits nothing when a stream fails half way', async () => {
    await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
    const good = makeBars({ symbols: ['AAPL'], start: '2024-01-02T10:00:00Z', minutes: 10 });
    async function* failing(): AsyncGenerator<RecordBatch> {
      yield good;
      throw new Error('client went away');
    }
    await expect(store.put('bars', good.schema, failing())).rejects.toThrow('client went away');
    expect((await store.describe('bars')).version).toBe(0);
    expect(await readAll(store, wholeDataset('bars'))).toEqual([]);
  });

  it('fixes the schema with the first put when the dataset was created without fields', async () => {
    await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: null });
    expect((await store.plan(wholeDataset('bars'))).schema.fields).toEqual([]);
    const batch = makeBars({ symbols: ['AAPL'], start: '2024-01-02T10:00:00Z', minutes: 3, symbolType: 'dictionary' });
    await store.put('bars', batch.schema, from([batch]));
    expect((await store.describe('bars')).schema.map((f) => `${f.name}:${f.type}`)).toEqual([
      'symbol:dictionary<utf8>',
      'ts:timestamp[ns, UTC]',
      'open:float64',
      'high:float64',
      'low:float64',
      'close:float64',
      'volume:int64',
    ]);
    // utf8 and dictionary<utf8> count as one type
    const plain = makeBars({ symbols: ['MSFT'], start: '2024-01-02T10:00:00Z', minutes: 3, symbolType: 'utf8' });
    await store.put('bars', plain.schema, from([plain]));
    expect(await readAll(store, wholeDataset('bars'))).toHaveLength(6);
  });

  it('refuses mismatched schemas, nulls in keys and unknown columns with messages naming them', async () => {
    await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
    const wrong = new Schema(barsSchema().fields.filter((f) => ['symbol', 'ts', 'close'].includes(f.name)));
    await expect(store.put('bars', wrong, from([]))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/open|close/) });
    await expect(store.plan({ ...wholeDataset('bars'), columns: ['nope'] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('"nope"') });
    await expect(store.plan(wholeDataset('missing'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(
      store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS }),
    ).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
  });

  it('reads old versions and survives a restart that finds orphaned files', async () => {
    await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
    const a = makeBars({ symbols: ['AAPL'], start: '2024-01-02T10:00:00Z', minutes: 5 });
    await store.put('bars', a.schema, from([a]));
    const b = makeBars({ symbols: ['AAPL'], start: '2024-01-02T10:00:00Z', minutes: 5, priceOffset: 1 });
    await store.put('bars', b.schema, from([b]));
    expect((await readAll(store, { ...wholeDataset('bars'), asOf: 1 }))[0]!.open).toBe(price(0, 0));
    expect((await readAll(store, wholeDataset('bars')))[0]!.open).toBe(price(0, 0) + 1);
    await expect(store.plan({ ...wholeDataset('bars'), asOf: 7 })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    // Leftovers of an interrupted put and an interrupted commit.
    await mkdir(join(dir, 'bars', 'date=2030-01-01'), { recursive: true });
    await writeFile(join(dir, 'bars', 'date=2030-01-01', 'part-orphan.parquet'), 'half written');
    await writeFile(join(dir, 'bars', '_catalog', '.tmp-123'), '{');
    const reopened = await DatasetStore.open(options(dir), silent);
    expect(existsSync(join(dir, 'bars', 'date=2030-01-01'))).toBe(false);
    expect((await readdir(join(dir, 'bars', '_catalog'))).filter((n) => n.startsWith('.tmp'))).toEqual([]);
    expect((await reopened.describe('bars')).version).toBe(2);
    expect(await readAll(reopened, wholeDataset('bars'))).toHaveLength(5);
  });

  it('resamples 1-minute bars into hourly OHLCV', async () => {
    await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
    const batch = makeBars({ symbols: ['AAPL', 'MSFT'], start: '2024-01-02T09:30:00Z', minutes: 90 });
    await store.put('bars', batch.schema, from([batch]));
    const rows = await readAll(store, { ...wholeDataset('bars'), interval: '1h' });
    expect(rows.map((r) => `${r.symbol}@${new Date(r.ts as number).toISOString()}`)).toEqual([
      'AAPL@2024-01-02T09:00:00.000Z',
      'AAPL@2024-01-02T10:00:00.000Z',
      'MSFT@2024-01-02T09:00:00.000Z',
      'MSFT@2024-01-02T10:00:00.000Z',
    ]);
    const prices = (s: number, from: number, to: number) => Array.from({ length: to - from }, (_, i) => price(s, from + i));
    const first = rows[0]!;
    expect(first.open).toBe(price(0, 0));
    expect(first.close).toBe(price(0, 29) + 0.5);
    expect(first.high).toBe(Math.max(...prices(0, 0, 30)) + 1);
    expect(first.low).toBe(Math.min(...prices(0, 0, 30)) - 1);
    expect(first.volume).toBe(BigInt(Array.from({ length: 30 }, (_, i) => 1000 + i).reduce((a, b) => a + b)));
  });

  it('deletes a range, compacts, evolves the schema, vacuums and drops', async () => {
    await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
    // Three puts into one day with disjoint times: three files, no merge.
    for (const start of ['2024-01-02T10:00:00Z', '2024-01-02T11:00:00Z', '2024-01-02T12:00:00Z']) {
      const b = makeBars({ symbols: ['AAPL', 'MSFT'], start, minutes: 10 });
      await store.put('bars', b.schema, from([b]));
    }
    expect((await store.describe('bars')).partitions[0]!.files).toBe(3);

    const del = await store.deleteRange('bars', ['MSFT'], BigInt(Date.parse('2024-01-02T11:05:00Z')) * 1_000_000n, null);
    expect(del).toEqual({ rows_deleted: 15, version: 4 });
    expect(await store.deleteRange('bars', ['NOPE'], null, null)).toEqual({ rows_deleted: 0, version: 4 });
    const afterDelete = await readAll(store, wholeDataset('bars'));
    expect(afterDelete).toHaveLength(45);
    expect(afterDelete.filter((r) => r.symbol === 'MSFT').map((r) => new Date(r.ts as number).toISOString()).at(-1)).toBe('2024-01-02T11:04:00.000Z');

    const compacted = await store.compact('bars', null);
    expect(compacted).toEqual({ files_before: 3, files_after: 1, version: 5 });
    expect(await store.compact('bars', null)).toEqual({ files_before: 1, files_after: 1, version: 5 });
    expect(await readAll(store, wholeDataset('bars'))).toEqual(afterDelete);

    const evolved = await store.evolveSchema('bars', [{ name: 'vwap', type: 'float64', nullable: true }]);
    expect(evolved.version).toBe(6);
    expect(evolved.schema.at(-1)).toEqual({ name: 'vwap', type: 'float64', nullable: true });
    expect((await readAll(store, wholeDataset('bars'))).every((r) => r.vwap === null)).toBe(true);
    // A later put may omit the added column.
    const late = makeBars({ symbols: ['AAPL'], start: '2024-01-03T10:00:00Z', minutes: 2 });
    expect((await store.put('bars', late.schema, from([late]))).version).toBe(7);
    await expect(store.evolveSchema('bars', [{ name: 'open', type: 'int32', nullable: true }])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(store.evolveSchema('bars', [{ name: 'x', type: 'int32', nullable: false }])).rejects.toThrow(/nullable/);

    const filesOnDisk = async () => (await readdir(join(dir, 'bars'), { recursive: true })).filter((n) => String(n).endsWith('.parquet')).length;
    expect(await filesOnDisk()).toBe(7);
    const vac = await store.vacuum('bars', 1);
    expect(vac.files_removed).toBe(10); // five Parquet files and their IPC tier copies
    expect(vac.oldest_version).toBe(7);
    expect(await filesOnDisk()).toBe(2);
    await expect(store.plan({ ...wholeDataset('bars'), asOf: 5 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await readAll(store, wholeDataset('bars'))).toHaveLength(47);

    expect(await store.drop('bars')).toEqual({ dropped: true });
    expect(existsSync(join(dir, 'bars'))).toBe(false);
    await expect(store.describe('bars')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('commits concurrent writers one after another, losing no row', async () => {
    await store.createDataset({ name: 'bars', timeColumn: 'ts', keyColumns: ['symbol'], partition: 'day', fields: BARS_FIELDS });
    const writes = Array.from({ length: 6 }, (_, i) =>
      makeBars({ symbols: i % 2 ? ['AAPL', 'MSFT'] : ['MSFT', 'GOOG'], start: `2024-01-02T10:0${i}:00Z`, minutes: 20, priceOffset: i * 1000 }),
    );
    const outcomes = await Promise.all(writes.map((b) => store.put('bars', b.schema, from([b]))));
    expect(outcomes.map((o) => o.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    // Reference: apply the writes serially in commit order, last write wins per key.
    const expected = new Map<string, number>();
    for (const i of outcomes.map((o, i) => [o.version, i] as const).sort((a, b) => a[0] - b[0]).map(([, i]) => i)) {
      for (const r of writes[i]!) expected.set(`${r!.symbol}@${r!.ts}`, r!.open as number);
    }
    const rows = await readAll(store, wholeDataset('bars'));
    expect(rows).toHaveLength(expected.size);
    for (const r of rows) expect(r.open).toBe(expected.get(`${r.symbol}@${r.ts}`));
  });
});
