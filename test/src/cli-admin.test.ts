/**
 * The dataset commands end to end: create (with a fixed field list), ls, describe, delete-range,
 * compact, vacuum and drop, each through the bin against a real server process.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFlightdeck, startServer, tempDir, type ServerProcess } from './cli-harness.js';

let server: ServerProcess;
let dir: Awaited<ReturnType<typeof tempDir>>;
const cli = (args: string[]) => runFlightdeck(args, { url: server.url, cwd: dir.path });

async function ok(args: string[]): Promise<string> {
  const r = await cli(args);
  expect(r.code, `flightdeck ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

async function json<T>(args: string[]): Promise<T> {
  return JSON.parse(await ok([...args, '--json'])) as T;
}

interface Description {
  version: number;
  rows: number;
  partitions: { key: string; files: number }[];
  schema: { name: string; type: string; nullable: boolean }[];
}

/** One CSV per day, `symbols` x `minutes` rows each. */
async function dayCsv(name: string, day: string, symbols: string[], minutes: number): Promise<string> {
  const lines = ['symbol,ts,close'];
  for (let m = 0; m < minutes; m++) {
    for (const s of symbols) lines.push(`${s},${new Date(Date.parse(`${day}T09:30:00Z`) + m * 60_000).toISOString()},${m}`);
  }
  const path = join(dir.path, name);
  await writeFile(path, lines.join('\n'));
  return path;
}

beforeAll(async () => {
  dir = await tempDir('fd-cli-admin-');
  server = await startServer(join(dir.path, 'data'));
});

afterAll(async () => {
  await server?.stop();
  await dir?.remove();
});

describe('dataset commands', () => {
  it('create fixes the schema; describe and ls show it', async () => {
    const out = await ok(['create', 'bars', '--time-column', 'ts', '--key', 'symbol', '--partition', 'day', '--fields', 'symbol:utf8,ts:timestamp[ms, UTC],close:float64']);
    expect(out).toBe('created dataset bars (time ts, keys [symbol], partition day), version 0\n');
    const d = await json<Description>(['describe', 'bars']);
    expect(d.version).toBe(0);
    expect(d.schema).toEqual([
      { name: 'symbol', type: 'utf8', nullable: false },
      { name: 'ts', type: 'timestamp[ms, UTC]', nullable: false },
      { name: 'close', type: 'float64', nullable: true },
    ]);
    await ok(['create', 'empty', '--time-column', 'ts']);
    expect(await ok(['describe', 'empty'])).toMatch(/schema {6}\(not fixed yet: the first put fixes it\)/);
    const listed = await json<{ name: string; rows: number }[]>(['ls']);
    expect(listed.map((f) => f.name)).toEqual(['bars', 'empty']);
    expect(await ok(['ls'])).toMatch(/^dataset\s+rows\s+size\s+columns\nbars\s+0\s/);
  });

  it('puts three days in three commits, then describe lists the partitions', async () => {
    for (const day of ['2024-01-02', '2024-01-03', '2024-01-04']) {
      await ok(['put', await dayCsv(`${day}.csv`, day, ['AAPL', 'MSFT'], 30), '--dataset', 'bars']);
    }
    // A second file for the first day, so it has two files to compact.
    await ok(['put', await dayCsv('late.csv', '2024-01-02', ['NVDA'], 30), '--dataset', 'bars']);
    const d = await json<Description>(['describe', 'bars']);
    expect(d.version).toBe(4);
    expect(d.rows).toBe(3 * 60 + 30);
    expect(d.partitions.map((p) => p.key)).toEqual(['date=2024-01-02', 'date=2024-01-03', 'date=2024-01-04']);
    const text = await ok(['describe', 'bars']);
    expect(text).toMatch(/^dataset {5}bars\ntime {8}ts\nkeys {8}symbol\npartition {3}day\nversion {5}4\nrows {8}210\n/);
    expect(text).toMatch(/date=2024-01-02 +\d+ +90 /);
  });

  it('delete-range deletes by symbol and time and makes a version', async () => {
    const r = await json<{ rows_deleted: number; version: number }>([
      'delete-range', 'bars', '--symbols', 'MSFT', '--from', '2024-01-03T00:00:00Z', '--to', '2024-01-04T00:00:00Z',
    ]);
    expect(r).toEqual({ rows_deleted: 30, version: 5 });
    expect(await ok(['delete-range', 'bars', '--symbols', 'NVDA'])).toBe('bars: deleted 30 rows; version 6\n');
    const rest = (await ok(['get', '--dataset', 'bars', '--columns', 'symbol', '--format', 'csv'])).trim().split('\n').slice(1);
    expect(rest.filter((s) => s === 'MSFT')).toHaveLength(60);
    expect(rest.filter((s) => s === 'NVDA')).toHaveLength(0);
    expect(rest).toHaveLength(150);
  });

  it('compact merges the files of a partition', async () => {
    const before = await json<Description>(['describe', 'bars']);
    const r = await json<{ files_before: number; files_after: number; version: number }>(['compact', 'bars']);
    expect(r.files_after).toBeLessThanOrEqual(r.files_before);
    expect(r.files_after).toBe(3);
    const after = await json<Description>(['describe', 'bars']);
    expect(after.rows).toBe(before.rows);
    expect(after.partitions.every((p) => p.files === 1)).toBe(true);
    expect(await ok(['compact', 'bars', '--partition-key', 'date=2024-01-02'])).toMatch(/^bars: compacted 1 file into 1; version \d+\n$/);
    // compact's former --partition still takes a Hive key.
    expect(await ok(['compact', 'bars', '--partition', 'date=2024-01-02'])).toMatch(/^bars: compacted 1 file into 1; version \d+\n$/);
  });

  it('vacuum keeps the retained versions readable', async () => {
    const current = (await json<Description>(['describe', 'bars'])).version;
    const r = await json<{ files_removed: number; bytes_freed: number; oldest_version: number }>(['vacuum', 'bars', '--retain', '1']);
    expect(r.files_removed).toBeGreaterThan(0);
    expect(r.oldest_version).toBe(current);
    const still = await ok(['get', '--dataset', 'bars', '--as-of', String(current), '--columns', 'symbol', '--format', 'csv']);
    expect(still.trim().split('\n')).toHaveLength(151);
    expect((await cli(['get', '--dataset', 'bars', '--as-of', '1'])).code).toBe(1);
    const vacuumed = await cli(['get', 'bars', '--as-of', '1']);
    expect(vacuumed.code).toBe(1);
    expect(vacuumed.stderr).toBe(`flightdeck: NOT_FOUND: version 1 of dataset "bars" was vacuumed; the oldest kept is ${current}\n`);
    const future = await cli(['get', 'bars', '--as-of', String(current + 5)]);
    expect(future.stderr).toBe(`flightdeck: NOT_FOUND: version ${current + 5} of dataset "bars" does not exist (current is ${current})\n`);
  });

  it('drop removes the dataset', async () => {
    expect(await ok(['drop', 'empty', '--yes'])).toBe('dropped dataset empty\n');
    expect((await json<{ name: string }[]>(['ls'])).map((f) => f.name)).toEqual(['bars']);
    const gone = await cli(['describe', 'empty']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^flightdeck: NOT_FOUND: /);
  });

  it('every dataset command takes the dataset first, or as --dataset', async () => {
    expect(await ok(['create', '--dataset', 'grammar', '--time-column', 'ts', '--key', 'symbol'])).toBe(
      'created dataset grammar (time ts, keys [symbol], partition day), version 0\n',
    );
    expect(await ok(['put', 'grammar', await dayCsv('g1.csv', '2024-03-01', ['AAPL', 'MSFT'], 10)])).toMatch(/^grammar: put 20 rows from 1 file .*; committed version 1, 1 partition\n$/);
    await ok(['put', await dayCsv('g2.csv', '2024-03-02', ['AAPL'], 10), '--dataset', 'grammar']);
    await ok(['put', 'grammar', await dayCsv('g3.csv', '2024-03-02', ['MSFT'], 10), '--dataset', 'grammar']);
    expect(await ok(['describe', '--dataset', 'grammar', '--json'])).toBe(await ok(['describe', 'grammar', '--json']));
    const rows = await ok(['get', 'grammar', '--format', 'csv']);
    expect(rows.trim().split('\n')).toHaveLength(41);
    expect(await ok(['get', '--dataset', 'grammar', '--format', 'csv'])).toBe(rows);
    expect(await ok(['get', 'grammar', '--dataset', 'grammar', '--format', 'csv'])).toBe(rows);
    expect(await ok(['delete-range', '--dataset', 'grammar', '--symbols', 'MSFT', '--from', '2024-03-01T09:30:00Z', '--to', '2024-03-01T09:31:00Z'])).toBe(
      'grammar: deleted 1 row; version 4\n',
    );
    expect(await ok(['compact', '--dataset', 'grammar', '--partition-key', 'date=2024-03-02'])).toBe('grammar: compacted 2 files into 1; version 5\n');
    expect(await ok(['vacuum', '--dataset', 'grammar', '--retain', '1'])).toMatch(/^grammar: removed \d+ files? \(.*\); oldest readable version 5\n$/);
    expect(await ok(['drop', '--dataset', 'grammar', '--yes'])).toBe('dropped dataset grammar\n');
  });
});
