/**
 * A standalone GraphQL latency probe (never part of `npm test` or `npm run bench`): the stack
 * `npm start` runs (`scripts/start-all.ts`, temp data dirs, free ports), plus a dataset `probe` of
 * generated 1-minute OHLCV bars (10 symbols × 8 whole days, put through Flight), then sequential
 * requests after a warm-up, p50/p90/p99, via the gateway and to the facade alone:
 *
 * - `bars`: one symbol's bars for one UTC day (1,440 rows, all 7 fields);
 * - `series`: one symbol's week as columns (10,080 rows);
 * - `bars390`: the seeded sample's one market day (`bars_1m`, 390 rows).
 *
 *   node --import tsx bench/src/gateway-latency.ts [requests=200] [bars,series,bars390]
 *
 * Beside the latencies it prints the CPU time each process of the stack spent per request (Linux
 * `/proc/<pid>/stat`, utime + stime): on a busy machine the latencies wander with the load, the
 * CPU cost much less. Every process inherits the environment, so `NODE_OPTIONS="--import <hook>"`
 * reaches each of them (e.g. a hook starting `node:inspector`'s profiler).
 */
import { spawn } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FlightClient, pathDescriptor } from '@flightdeck/proto';
import { childPids, cpuSeconds } from './processes.js';
import { Field, Float64, Int64, makeData, RecordBatch, Schema, Struct, Timestamp, TimeUnit, Utf8, vectorFromArray } from 'apache-arrow';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const requests = Number(process.argv[2] ?? 200);
const which = new Set((process.argv[3] ?? 'bars,series,bars390').split(','));
const warmup = 30;
const SYMBOLS = 10;
const DAYS = 8;
const START_MS = Date.parse('2024-01-01T00:00:00Z');
const DAY_MS = 86_400_000;

const schema = new Schema([
  new Field('symbol', new Utf8(), false),
  new Field('ts', new Timestamp(TimeUnit.NANOSECOND, 'UTC'), false),
  ...['open', 'high', 'low', 'close'].map((name) => new Field(name, new Float64(), true)),
  new Field('volume', new Int64(), true),
]);

/** One day of every symbol's minutes, ordered by time then symbol (as a live feed writes them). */
function dayBatch(day: number): RecordBatch {
  const n = SYMBOLS * 1440;
  const symbols: string[] = new Array(n);
  const ts = new BigInt64Array(n);
  const cols = [0, 1, 2, 3].map(() => new Float64Array(n));
  const volume = new BigInt64Array(n);
  for (let m = 0, row = 0; m < 1440; m++) {
    for (let s = 0; s < SYMBOLS; s++, row++) {
      const minute = day * 1440 + m;
      const mid = 100 + s * 10 + 5 * Math.sin(minute / 390 + s);
      symbols[row] = `P${String(s).padStart(3, '0')}`;
      ts[row] = BigInt(START_MS + minute * 60_000) * 1_000_000n;
      cols[0]![row] = mid;
      cols[1]![row] = mid + 0.5;
      cols[2]![row] = mid - 0.5;
      cols[3]![row] = mid + 0.1;
      volume[row] = BigInt(1000 + ((minute * 7 + s) % 500));
    }
  }
  const children = [
    vectorFromArray(symbols, new Utf8()).data[0]!,
    makeData({ type: schema.fields[1]!.type, length: n, data: ts } as never),
    ...cols.map((data) => makeData({ type: new Float64(), length: n, data })),
    makeData({ type: new Int64(), length: n, data: volume }),
  ];
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children }));
}

const dir = await mkdtemp(join(tmpdir(), 'fd-probe-'));
const env: NodeJS.ProcessEnv = {
  ...process.env,
  DATA_DIR: join(dir, 'flight'),
  USERS_DATA_DIR: join(dir, 'users'),
  FLIGHT_PORT: '0',
  FACADE_PORT: '0',
  USERS_PORT: '0',
  GATEWAY_PORT: '0',
  LOG_LEVEL: 'info',
};
delete env.DATABASE_URL;
const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start-all.ts'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'ignore'] });
const ready = await new Promise<{ gateway: string; facade: string; flight: string }>((resolve, reject) => {
  child.once('exit', (code) => reject(new Error(`start-all exited with ${code}`)));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.includes('flightdeck ready')) return;
    resolve(JSON.parse(line) as { gateway: string; facade: string; flight: string });
  });
});

interface Probe {
  name: string;
  rows: number;
  body: (i: number) => string;
  count: (data: any) => number;
}

const barsQuery = 'query($s: String!, $from: DateTime, $to: DateTime) { bars(dataset: "probe", symbol: $s, from: $from, to: $to) { symbol ts open high low close volume } }';
const seriesQuery =
  'query($s: String!, $from: DateTime, $to: DateTime) { instrument(symbol: $s) { series(dataset: "probe", from: $from, to: $to) { symbol ts open high low close volume } } }';
const sym = (i: number) => `P${String((i * 7) % SYMBOLS).padStart(3, '0')}`;
const day = (d: number) => new Date(START_MS + d * DAY_MS).toISOString();
const probes: Probe[] = [
  {
    name: 'bars',
    rows: 1440,
    body: (i) => JSON.stringify({ query: barsQuery, variables: { s: sym(i), from: day(i % DAYS), to: day((i % DAYS) + 1) } }),
    count: (d) => d.bars.length,
  },
  {
    name: 'series',
    rows: 7 * 1440,
    body: (i) => JSON.stringify({ query: seriesQuery, variables: { s: sym(i), from: day(i % 2), to: day((i % 2) + 7) } }),
    count: (d) => d.instrument.series.ts.length,
  },
  {
    name: 'bars390',
    rows: 390,
    body: () =>
      JSON.stringify({ query: '{ bars(dataset: "bars_1m", symbol: "AAPL", from: "2024-01-03T00:00:00Z", to: "2024-01-04T00:00:00Z") { ts open high low close volume } }' }),
    count: (d) => d.bars.length,
  },
];

/** The stack's processes (children of start-all) by folder, for their CPU time. */
function stackPids(parent: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of childPids(parent)) {
    try {
      out.set(basename(readlinkSync(`/proc/${pid}/cwd`)), pid);
    } catch {
      // Gone, or not ours to read.
    }
  }
  return out;
}

/** utime + stime of a process in milliseconds. */
function cpuMs(pid: number): number {
  return cpuSeconds(pid) * 1000;
}

function cpuPerRequest(pids: Map<string, number>, run: () => Promise<number[]>): Promise<{ times: number[]; cpu: string }> {
  const before = new Map([...pids].map(([name, pid]) => [name, cpuMs(pid)]));
  return run().then((times) => ({
    times,
    cpu: [...pids].map(([name, pid]) => `${name} ${((cpuMs(pid) - before.get(name)!) / (times.length + warmup)).toFixed(1)}`).join(', '),
  }));
}

async function measure(url: string, probe: Probe): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < warmup + requests; i++) {
    const body = probe.body(i);
    const started = performance.now();
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const json = (await res.json()) as { data?: unknown; errors?: unknown };
    const elapsed = performance.now() - started;
    if (json.errors || probe.count(json.data) !== probe.rows) throw new Error(`${probe.name}: unexpected answer: ${JSON.stringify(json).slice(0, 300)}`);
    if (i >= warmup) times.push(elapsed);
  }
  return times.sort((a, b) => a - b);
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const row = (name: string, t: number[]) =>
  `${name.padEnd(16)} p50 ${pct(t, 50).toFixed(2).padStart(7)} ms  p90 ${pct(t, 90).toFixed(2).padStart(7)} ms  p99 ${pct(t, 99).toFixed(2).padStart(7)} ms  max ${t.at(-1)!.toFixed(2)} ms`;

try {
  const flight = new FlightClient(ready.flight);
  try {
    await flight.doActionJson('create_dataset', { name: 'probe', time_column: 'ts', key_columns: ['symbol'], partition: 'day' });
    for (let d = 0; d < DAYS; d++) await flight.doPut(pathDescriptor('probe'), [dayBatch(d)]);
  } finally {
    flight.close();
  }
  const pids = stackPids(child.pid!);
  process.stdout.write(`${requests} sequential requests after ${warmup} warm-up each; CPU ms per request by process\n`);
  for (const probe of probes.filter((p) => which.has(p.name))) {
    const gateway = await cpuPerRequest(pids, () => measure(ready.gateway, probe));
    const facade = await cpuPerRequest(pids, () => measure(ready.facade, probe));
    process.stdout.write(`${row(`${probe.name} gateway`, gateway.times)}  cpu/req: ${gateway.cpu}\n`);
    process.stdout.write(`${row(`${probe.name} facade`, facade.times)}  cpu/req: ${facade.cpu}\n`);
  }
} finally {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  await rm(dir, { recursive: true, force: true });
}
