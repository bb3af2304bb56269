/**
 * `flightdeck backup`, `restore` and `copy` end to end, through the bin against two real
 * flight-server processes: a dataset dropped and restored comes back with every row, its schema,
 * keys, partitioning and retention; corrupt, partial and missing backups are refused naming the
 * file, in a directory and on an S3-compatible store (s3rver); a copy between the servers (whole, filtered, and one killed mid-way then run again) lands
 * exactly the source's rows, none twice.
 */
import { spawn } from 'node:child_process';
import { appendFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cmdDescriptor, FlightClient, pathDescriptor } from '@flightdeck/proto';
import { makeBars } from '@flightdeck/flight-server/testing';
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3RVER_CREDENTIALS, startS3rver, type S3rverHarness } from '../../flight-server/test-support/s3rver.js';
import { flightdeckBin, lastLine, repoRoot, runFlightdeck, startServer, tableRows, tempDir, type ServerProcess } from './cli-harness.js';

const SYMBOLS = ['AAPL', 'MSFT', 'NVDA'];
const DAYS = 24;
const MINUTES = 60;
/** One day of bars per endpoint, so the copy is a series of 24 commits. */
const ENDPOINT_ROWS = String(SYMBOLS.length * MINUTES);

let source: ServerProcess;
let target: ServerProcess;
let dir: Awaited<ReturnType<typeof tempDir>>;
let sourceClient: FlightClient;
let targetClient: FlightClient;
const figures: Record<string, number> = {};

interface Description {
  name: string;
  schema: { name: string; type: string; nullable: boolean }[];
  time_column: string;
  key_columns: string[];
  partition: string;
  version: number;
  rows: number;
  retention?: string;
  partitions: { key: string; rows: number; min_time: string; max_time: string }[];
}

const describeOn = (client: FlightClient, name: string) => client.doActionJson<Description>('describe_dataset', { name });

/** What a restore or copy must preserve: everything but the version and the files' layout. */
function essence(d: Description) {
  return {
    schema: d.schema,
    time_column: d.time_column,
    key_columns: d.key_columns,
    partition: d.partition,
    rows: d.rows,
    retention: d.retention,
    partitions: d.partitions.map((p) => ({ key: p.key, rows: p.rows, min_time: p.min_time, max_time: p.max_time })),
  };
}

/** Every row of a query, sorted by symbol then time, timestamps as exact bigints. */
async function rowsOf(client: FlightClient, query: Record<string, unknown>): Promise<Record<string, unknown>[]> {
  const info = await client.getFlightInfo(cmdDescriptor(JSON.stringify(query)));
  const rows: Record<string, unknown>[] = [];
  for (const e of info.endpoint) rows.push(...tableRows(await client.readTable(e.ticket!.ticket)));
  return rows.sort((a, b) => String(a.symbol).localeCompare(String(b.symbol)) || (a.ts! < b.ts! ? -1 : a.ts! > b.ts! ? 1 : 0));
}

function keysOf(rows: Record<string, unknown>[]): Set<string> {
  return new Set(rows.map((r) => `${String(r.symbol)}|${String(r.ts)}`));
}

async function cliOk(args: string[], url = source.url): Promise<string> {
  const r = await runFlightdeck(args, { url, cwd: dir.path });
  expect(r.code, `flightdeck ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

async function cliJson<T>(args: string[], url = source.url): Promise<T> {
  return JSON.parse(await cliOk([...args, '--json'], url)) as T;
}

/** Creates `name` on the source with a retention and an evolved column, over `DAYS` days in several commits. */
async function seed(name: string): Promise<void> {
  await sourceClient.doActionJson('create_dataset', { name, time_column: 'ts', key_columns: ['symbol'], partition: 'day', retention: '10y' });
  for (let d = 0; d < DAYS; d += 6) {
    const batches = [];
    for (let i = d; i < d + 6; i++) batches.push(makeBars({ symbols: SYMBOLS, start: new Date(Date.UTC(2024, 0, 2 + i, 14, 30)).toISOString(), minutes: MINUTES }));
    await sourceClient.doPut(pathDescriptor(name), batches);
  }
  // A re-crawl of one day with other prices (an upsert), and a nullable column added later.
  await sourceClient.doPut(pathDescriptor(name), [makeBars({ symbols: ['MSFT'], start: '2024-01-05T14:30:00Z', minutes: MINUTES, priceOffset: 1000 })]);
  await sourceClient.doActionJson('evolve_schema', { dataset: name, add: [{ name: 'venue', type: 'utf8', nullable: true }] });
}

beforeAll(async () => {
  dir = await tempDir('fd-backup-copy-');
  [source, target] = await Promise.all([
    startServer(join(dir.path, 'source'), 0, { FLIGHT_ENDPOINT_ROWS: ENDPOINT_ROWS }),
    startServer(join(dir.path, 'target'), 0, { FLIGHT_ENDPOINT_ROWS: ENDPOINT_ROWS }),
  ]);
  sourceClient = new FlightClient(source.url);
  targetClient = new FlightClient(target.url);
  await seed('bars');
}, 120_000);

afterAll(async () => {
  sourceClient?.close();
  targetClient?.close();
  await Promise.all([source?.stop(), target?.stop()]);
  await dir?.remove();
  if (Object.keys(figures).length > 0) process.stderr.write(`backup/restore/copy rows/s: ${JSON.stringify(figures)}\n`);
});

describe('backup and restore', () => {
  it('a dropped dataset comes back with every row, its schema, keys, partitioning and retention', async () => {
    const before = await describeOn(sourceClient, 'bars');
    const rowsBefore = await rowsOf(sourceClient, { dataset: 'bars' });
    expect(rowsBefore.length).toBe(SYMBOLS.length * DAYS * MINUTES);

    const backup = join(dir.path, 'bk-bars');
    const b = await cliJson<{ version: number; rows: number; files: number; rows_per_s: number }>(['backup', 'bars', '--to', backup]);
    expect(b).toMatchObject({ version: before.version, rows: rowsBefore.length });
    expect(b.files).toBeGreaterThan(1);
    figures.backup = b.rows_per_s;
    const manifest = JSON.parse(await readFile(join(backup, 'flightdeck-backup.json'), 'utf8')) as { dataset: unknown; files: { path: string }[] };
    expect(manifest.dataset).toEqual({ schema: before.schema, time_column: 'ts', key_columns: ['symbol'], partition: 'day', retention: '10y' });
    expect((await readdir(join(backup, 'data'))).sort()).toEqual(manifest.files.map((f) => f.path.replace('data/', '')).sort());

    await cliOk(['drop', 'bars', '--yes']);
    const r = await cliJson<{ rows: number; rows_per_s: number; version: number }>(['restore', backup, '--as', 'bars']);
    expect(r.rows).toBe(rowsBefore.length);
    figures.restore = r.rows_per_s;

    const after = await describeOn(sourceClient, 'bars');
    expect(essence(after)).toEqual(essence(before));
    expect(await rowsOf(sourceClient, { dataset: 'bars' })).toEqual(rowsBefore);
  });

  it('backs up an older version with --as-of and restores it on another server', async () => {
    const current = await describeOn(sourceClient, 'bars');
    await sourceClient.doActionJson('delete_range', { dataset: 'bars', symbols: ['NVDA'] });
    const old = await rowsOf(sourceClient, { dataset: 'bars', as_of: current.version });
    const backup = join(dir.path, 'bk-old');
    await cliOk(['backup', 'bars', '--to', backup, '--as-of', String(current.version)]);
    await cliOk(['restore', backup, '--as', 'bars_old'], target.url);
    expect(await rowsOf(targetClient, { dataset: 'bars_old' })).toEqual(old);
    expect(essence(await describeOn(targetClient, 'bars_old'))).toEqual(essence(current));
  });

  describe('refuses a backup that is not whole, naming the file, and creates nothing', () => {
    let good: string;
    let files: { path: string; bytes: number }[];

    beforeAll(async () => {
      good = join(dir.path, 'bk-good');
      await cliOk(['backup', 'bars', '--to', good]);
      files = (JSON.parse(await readFile(join(good, 'flightdeck-backup.json'), 'utf8')) as { files: { path: string; bytes: number }[] }).files;
    });

    async function copyOf(name: string): Promise<string> {
      const to = join(dir.path, name);
      await rm(to, { recursive: true, force: true });
      const r = spawn('cp', ['-r', good, to]);
      await new Promise((resolve) => r.once('close', resolve));
      return to;
    }

    async function refused(backup: string, fault: RegExp): Promise<void> {
      const r = await runFlightdeck(['restore', backup, '--as', 'bars_bad'], { url: target.url, cwd: dir.path });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr.trim()).toMatch(fault);
      const listed = await runFlightdeck(['ls', '--json'], { url: target.url });
      expect((JSON.parse(listed.stdout) as { name: string }[]).map((d) => d.name)).not.toContain('bars_bad');
    }

    it('a flipped byte: checksum mismatch', async () => {
      const backup = await copyOf('bk-corrupt');
      const victim = join(backup, files[1]!.path);
      const bytes = await readFile(victim);
      bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
      await writeFile(victim, bytes);
      await refused(backup, new RegExp(`^flightdeck: .*${files[1]!.path}: checksum mismatch`));
    });

    it('a truncated or grown file: its size', async () => {
      const backup = await copyOf('bk-grown');
      await appendFile(join(backup, files[0]!.path), 'x');
      await refused(backup, new RegExp(`${files[0]!.path}: ${files[0]!.bytes + 1} bytes, the backup manifest says ${files[0]!.bytes}`));
    });

    it('a missing file', async () => {
      const backup = await copyOf('bk-missing');
      await rm(join(backup, files.at(-1)!.path));
      await refused(backup, new RegExp(`${files.at(-1)!.path}: missing \\(the backup manifest lists it\\)`));
    });

    it('no manifest (a backup that did not finish)', async () => {
      const backup = await copyOf('bk-partial');
      await rm(join(backup, 'flightdeck-backup.json'));
      await refused(backup, /flightdeck-backup\.json: no backup manifest: the backup did not finish/);
    });

    it('a manifest naming a file outside the backup', async () => {
      const backup = await copyOf('bk-escape');
      const path = join(backup, 'flightdeck-backup.json');
      await writeFile(path, (await readFile(path, 'utf8')).replace(files[0]!.path, '../../etc/passwd'));
      await refused(backup, /field "files\.0\.path" in backup manifest/);
    });

    it('backup refuses a directory that already holds a backup, or other files', async () => {
      const again = await runFlightdeck(['backup', 'bars', '--to', good], { url: source.url });
      expect(again.code).toBe(2);
      expect(again.stderr).toMatch(/already holds a backup/);
      const other = join(dir.path, 'not-empty');
      await rm(other, { recursive: true, force: true });
      await mkdir(join(other, 'x'), { recursive: true });
      await writeFile(join(other, 'notes.txt'), 'mine');
      const r = await runFlightdeck(['backup', 'bars', '--to', other], { url: source.url });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/is not empty \(notes\.txt, x\)/);
      expect(await readFile(join(other, 'notes.txt'), 'utf8')).toBe('mine');
    });

    it('a backup that fails leaves nothing behind', async () => {
      const to = join(dir.path, 'bk-none', 'deep');
      const r = await runFlightdeck(['backup', 'nosuch', '--to', to], { url: source.url });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/NOT_FOUND: dataset "nosuch" does not exist/);
      await expect(stat(join(dir.path, 'bk-none'))).rejects.toThrow(/ENOENT/);
    });

    it('restore refuses a name already taken by a dataset with rows', async () => {
      const r = await runFlightdeck(['restore', good, '--as', 'bars'], { url: source.url });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/ALREADY_EXISTS: dataset "bars" exists \(version \d+, \d+ rows\)/);
    });
  });
});

describe('backup and restore on an object store (s3rver)', () => {
  let s3: S3rverHarness;
  let client: S3Client;
  const env = () => ({ ...S3RVER_CREDENTIALS, S3_ENDPOINT: s3.endpoint });
  // The AWS SDK may warn on stderr first (Node 20 support ends in 2027); the failure is the last line.
  const run = async (args: string[], url: string) => {
    const r = await runFlightdeck(args, { url, cwd: dir.path, env: env() });
    return { ...r, stderr: lastLine(r.stderr) };
  };

  beforeAll(async () => {
    s3 = await startS3rver('backups');
    client = new S3Client({
      endpoint: s3.endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: { accessKeyId: S3RVER_CREDENTIALS.AWS_ACCESS_KEY_ID, secretAccessKey: S3RVER_CREDENTIALS.AWS_SECRET_ACCESS_KEY },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  });

  afterAll(async () => {
    client?.destroy();
    await s3?.close();
  });

  it('round-trips a dataset through s3://bucket/prefix onto another server', async () => {
    const expected = await rowsOf(sourceClient, { dataset: 'bars' });
    const b = await run(['backup', 'bars', '--to', 's3://backups/nightly/bars', '--json'], source.url);
    expect(b.code, b.stderr).toBe(0);
    expect((JSON.parse(b.stdout) as { rows: number }).rows).toBe(expected.length);
    const again = await run(['backup', 'bars', '--to', 's3://backups/nightly/bars'], source.url);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/s3:\/\/backups\/nightly\/bars already holds a backup/);
    const r = await run(['restore', 's3://backups/nightly/bars', '--as', 'bars_from_s3'], target.url);
    expect(r.code, r.stderr).toBe(0);
    expect(await rowsOf(targetClient, { dataset: 'bars_from_s3' })).toEqual(expected);
    expect(essence(await describeOn(targetClient, 'bars_from_s3'))).toEqual(essence(await describeOn(sourceClient, 'bars')));
  });

  it('refuses a corrupt object, a missing one, and a prefix without a manifest, naming them', async () => {
    const b = await run(['backup', 'bars', '--to', 's3://backups/faulty'], source.url);
    expect(b.code, b.stderr).toBe(0);
    await client.send(new PutObjectCommand({ Bucket: 'backups', Key: 'faulty/data/part-00002.parquet', Body: 'not parquet' }));
    let r = await run(['restore', 's3://backups/faulty', '--as', 'bars_bad'], target.url);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^flightdeck: s3:\/\/backups\/faulty\/data\/part-00002\.parquet: 11 bytes, the backup manifest says \d+/);
    await client.send(new DeleteObjectCommand({ Bucket: 'backups', Key: 'faulty/data/part-00002.parquet' }));
    r = await run(['restore', 's3://backups/faulty', '--as', 'bars_bad'], target.url);
    expect(r.stderr).toMatch(/s3:\/\/backups\/faulty\/data\/part-00002\.parquet: missing \(the backup manifest lists it\)/);
    await client.send(new DeleteObjectCommand({ Bucket: 'backups', Key: 'faulty/flightdeck-backup.json' }));
    r = await run(['restore', 's3://backups/faulty', '--as', 'bars_bad'], target.url);
    expect(r.stderr).toMatch(/s3:\/\/backups\/faulty\/flightdeck-backup\.json: no backup manifest: the backup did not finish/);
    const listed = JSON.parse((await runFlightdeck(['ls', '--json'], { url: target.url })).stdout) as { name: string }[];
    expect(listed.map((d) => d.name)).not.toContain('bars_bad');
  });
});

describe('copy between two servers', () => {
  it('copies a whole dataset into a new one of the same spec', async () => {
    const c = await cliJson<{ rows: number; commits: number; rows_per_s: number }>(['copy', 'bars', '--from', source.url, '--to', target.url, '--as', 'bars_all']);
    const expected = await rowsOf(sourceClient, { dataset: 'bars' });
    expect(c.rows).toBe(expected.length);
    expect(c.commits).toBeGreaterThan(10);
    figures.copy = c.rows_per_s;
    expect(await rowsOf(targetClient, { dataset: 'bars_all' })).toEqual(expected);
    const [s, t] = [await describeOn(sourceClient, 'bars'), await describeOn(targetClient, 'bars_all')];
    expect(essence(t)).toEqual(essence(s));
    await expect(stat(join(dir.path, 'flightdeck-copy-bars_all.state.json'))).rejects.toThrow(/ENOENT/);
  });

  it('copies a query (symbols, start, end) and a second run adds nothing twice', async () => {
    const args = ['copy', '--dataset', 'bars', '--from', source.url, '--to', target.url, '--as', 'bars_slice', '--symbols', 'AAPL', '--start', '2024-01-04', '--end', '2024-01-09T15:00:00Z'];
    await cliOk(args);
    const expected = await rowsOf(sourceClient, { dataset: 'bars', symbols: ['AAPL'], start: '2024-01-04', end: '2024-01-09T15:00:00Z' });
    expect(expected.length).toBe(5 * MINUTES + 30);
    expect(await rowsOf(targetClient, { dataset: 'bars_slice' })).toEqual(expected);
    await cliOk(args);
    expect(await rowsOf(targetClient, { dataset: 'bars_slice' })).toEqual(expected);
  });

  it('copies a dataset whose schema is not fixed yet as an empty one of the same spec', async () => {
    await sourceClient.doActionJson('create_dataset', { name: 'unfixed', time_column: 'ts', key_columns: ['symbol'], partition: 'hour' });
    await cliOk(['copy', 'unfixed', '--from', source.url, '--to', target.url]);
    expect(essence(await describeOn(targetClient, 'unfixed'))).toEqual(essence(await describeOn(sourceClient, 'unfixed')));
  });

  it('refuses to copy into a dataset of another spec', async () => {
    await targetClient.doActionJson('create_dataset', { name: 'other', time_column: 'ts', key_columns: [], partition: 'month' });
    const r = await runFlightdeck(['copy', 'bars', '--from', source.url, '--to', target.url, '--as', 'other'], { cwd: dir.path });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/dataset "other" on grpc:\/\/127\.0\.0\.1:\d+ differs from "bars": it has keys \[\], not \[symbol\]/);
  });

  it('names the server it cannot reach', async () => {
    const r = await runFlightdeck(['copy', 'bars', '--from', source.url, '--to', 'grpc://127.0.0.1:1', '--as', 'nowhere'], { cwd: dir.path });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^flightdeck: UNAVAILABLE: cannot reach grpc:\/\/127\.0\.0\.1:1: /);
  });

  it('a copy killed mid-way finishes when run again: exactly the source rows, none twice', async () => {
    const state = join(dir.path, 'resume.state.json');
    const args = [flightdeckBin, 'copy', 'bars', '--from', source.url, '--to', target.url, '--as', 'bars_resumed', '--state', state, '--json'];
    const child = spawn(process.execPath, args, { cwd: repoRoot, env: { ...process.env, FLIGHT_TOKEN: '' }, stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    const expected = await rowsOf(sourceClient, { dataset: 'bars' });

    // Kill it by pid once a few endpoints are committed, well before the last.
    let doneAtKill = 0;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && child.exitCode === null) {
      try {
        doneAtKill = (JSON.parse(await readFile(state, 'utf8')) as { done: string[] }).done.length;
      } catch {
        doneAtKill = 0; // not written yet, or being renamed
      }
      if (doneAtKill >= 3) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    process.kill(child.pid!, 'SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const recorded = (JSON.parse(await readFile(state, 'utf8')) as { done: string[] }).done.length;
    expect(recorded).toBeGreaterThanOrEqual(3);
    const partial = await rowsOf(targetClient, { dataset: 'bars_resumed' });
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.length).toBeLessThan(expected.length);

    const resumed = JSON.parse((await runFlightdeck(args.slice(1), { cwd: dir.path })).stdout) as { rows: number; resumed_after: number; commits: number };
    expect(resumed.resumed_after).toBe(recorded);
    expect(resumed.rows).toBe(expected.length);
    const rows = await rowsOf(targetClient, { dataset: 'bars_resumed' });
    expect(rows.length).toBe(expected.length);
    expect(keysOf(rows).size).toBe(rows.length);
    expect(rows).toEqual(expected);
    await expect(stat(state)).rejects.toThrow(/ENOENT/);
  });

  it('refuses a state file of another copy, naming it', async () => {
    const state = join(dir.path, 'other.state.json');
    await writeFile(
      state,
      JSON.stringify({ format: 'flightdeck-copy-state', from: source.url, to: target.url, dataset: 'bars', as: 'x', symbols: null, start: null, end: null, source_version: 1, done: [], rows: 0 }),
    );
    const r = await runFlightdeck(['copy', 'bars', '--from', source.url, '--to', target.url, '--as', 'y', '--state', state], { cwd: dir.path });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--state .*other\.state\.json records another copy \(as "x"\)/);
  });
});
