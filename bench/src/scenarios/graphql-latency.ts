/**
 * GraphQL latency: the whole stack (`scripts/start-all.ts`) on the benchmark's DATA_DIR, sequential
 * requests, p50/p99:
 * - `bars`: one symbol's bars for one UTC day (1,440 rows) per request, via the gateway with a
 *   random symbol and day, as many other random requests of that kind to the facade directly (what
 *   the gateway adds; not the same ones, which the first pass left in the server's cache), and
 *   one request repeated (the warmest path);
 * - `series`: one symbol's week of 1-minute bars as columns (10,080 rows) per request, via the
 *   gateway and to the facade directly (needs 7 whole days of data: `--minutes 10080` or more).
 * flightdeck and the peer are stopped for it.
 */
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DAY_NS, iso } from '../bench-data.js';
import type { BenchRun } from '../bench-run.js';
import { side } from '../report.js';
import { childPids, cpuSeconds } from '../processes.js';
import { startStack } from '../servers.js';
import { percentile } from '../stats.js';

const QUERY =
  'query Bench($symbol: String!, $from: DateTime, $to: DateTime) { bars(dataset: "bars", symbol: $symbol, from: $from, to: $to) { symbol ts open high low close volume } }';
const SERIES_QUERY =
  'query BenchSeries($symbol: String!, $from: DateTime, $to: DateTime) { instrument(symbol: $symbol) { series(dataset: "bars", from: $from, to: $to) { symbol ts open high low close volume } } }';
const WEEK_DAYS = 7;
const BARS_TARGET = { text: 'p99 < 25 ms', ms: 25 };
const SERIES_TARGET = { text: 'p99 < 50 ms', ms: 50 };

interface Latencies {
  latencies_ms: number[];
  items: number[];
  /** CPU milliseconds per request of each process of the stack (by folder), where /proc tells. */
  cpu?: string;
}

/** The stack's processes (start-all's children) by folder: flight-server, graphql-facade, user-service, gateway. */
function stackProcesses(stackPid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of childPids(stackPid)) {
    try {
      out.set(basename(readlinkSync(`/proc/${pid}/cwd`)), pid);
    } catch {
      // Gone or unreadable: no CPU figure for it.
    }
  }
  return out;
}

/** Runs `measure` and adds each process's CPU time per request (steadier than latency on a busy machine). */
async function withCpu(processes: Map<string, number>, measure: () => Promise<Latencies>): Promise<Latencies> {
  const before = new Map([...processes].map(([name, pid]) => [name, cpuSeconds(pid) * 1000]));
  const out = await measure();
  const n = out.latencies_ms.length;
  const parts = [...processes]
    .map(([name, pid]) => [name, (cpuSeconds(pid) * 1000 - before.get(name)!) / n] as const)
    .filter(([, ms]) => Number.isFinite(ms) && ms >= 0.05)
    .map(([name, ms]) => `${name} ${ms.toFixed(1)} ms`);
  return parts.length > 0 ? { ...out, cpu: parts.join(', ') } : out;
}

function hasRootStart(root: string): boolean {
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    return Boolean(pkg.scripts?.start) && existsSync(join(root, 'gateway', 'src', 'main.ts'));
  } catch {
    return false;
  }
}

/** One latency row: p50/p99 over sequential requests, each expected to hold `rows` bars. */
function recordLatencies(
  run: BenchRun,
  id: string,
  title: string,
  how: string,
  out: Latencies,
  target: { text: string; ms: number } | null,
  rows = 1440,
): void {
  const lat = out.latencies_ms;
  const p50 = percentile(lat, 50);
  const p99 = percentile(lat, 99);
  const notes = [`${lat.length} sequential POSTs, ${how}; min ${Math.min(...lat).toFixed(1)} ms, max ${Math.max(...lat).toFixed(1)} ms.`];
  if (out.cpu !== undefined) notes.push(`CPU time per request: ${out.cpu}.`);
  const wrong = out.items.filter((k) => k !== rows);
  if (wrong.length) notes.push(`${wrong.length} responses did not hold ${rows.toLocaleString('en-US')} bars (e.g. ${wrong[0]})`);
  const reps = lat.map((ms) => ({ seconds: ms / 1000, rows, bytes: 0 }));
  run.record({
    id,
    title,
    kind: 'latency',
    fd: side(how, reps, { p50_ms: p50, p99_ms: p99 }),
    peer: null,
    ratio: null,
    target: target ? { text: target.text, measured: `p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`, met: p99 < target.ms } : null,
    notes,
    cells: { fd: `p50 ${p50.toFixed(1)} ms · p99 ${p99.toFixed(1)} ms`, peer: '—' },
  });
}

/** A row that could not be measured, saying why. */
function recordMissing(run: BenchRun, id: string, title: string, target: { text: string } | null, why: string): void {
  run.record({
    id,
    title,
    kind: 'latency',
    fd: null,
    peer: null,
    target: target ? { text: target.text, measured: 'not measured', met: null } : null,
    notes: [`not measured: ${why}`],
    cells: { fd: 'not measured', peer: '—' },
  });
}

export async function graphqlLatency(run: BenchRun): Promise<void> {
  const { root, tmp } = run.paths;
  if (!hasRootStart(root)) {
    run.record({
      id: 'graphql',
      title: 'GraphQL one day of 1-minute bars via gateway',
      kind: 'latency',
      fd: null,
      peer: null,
      target: { text: BARS_TARGET.text, measured: 'not measured', met: null },
      notes: ['TODO not measured: gateway/ or the root start script is missing.'],
      cells: { fd: 'not measured', peer: '—' },
    });
    return;
  }
  await run.stopServers();
  const stack = await startStack(root, run.fdDataDir, join(tmp, 'users-data'), run.cacheMb);
  try {
    const g = run.gen;
    const days = Math.floor(g.minutes / 1440);
    if (days < 1) throw new Error('the data spans less than one whole day');
    let seed = 7;
    const rand = (k: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % k;
    };
    const request = (sym: number, day: number) => {
      const start = BigInt(g.start_ns) + BigInt(day) * DAY_NS;
      return { query: QUERY, variables: { symbol: `S${String(sym).padStart(4, '0')}`, from: iso(start), to: iso(start + DAY_NS) } };
    };
    // Warm-up: every day once (each partition opened once), then random symbol-days.
    const warm = Array.from({ length: days }, (_, d) => request(rand(g.symbols), d));
    // Each pass its own random requests: replaying the gateway's to the facade would find the
    // selective reads the first pass left in flightdeck's cache, and flatter the facade.
    const reqs = Array.from({ length: run.cfg.graphqlRequests }, () => request(rand(g.symbols), rand(days)));
    const facadeReqs = Array.from({ length: run.cfg.graphqlRequests }, () => request(rand(g.symbols), rand(days)));
    const post = (url: string, requests: object[]) => run.node.request<Latencies>({ op: 'graphql', url, requests, warmup: 0 });
    const processes = stackProcesses(stack.pid);
    await post(stack.info.gateway, warm);
    const viaGateway = await withCpu(processes, () => post(stack.info.gateway, reqs));
    const viaFacade = await withCpu(processes, () => post(stack.info.facade, facadeReqs));
    const same = request(Math.floor(g.symbols / 2), Math.min(1, days - 1));
    const repeated = await withCpu(processes, () => post(stack.info.gateway, Array.from({ length: Math.ceil(reqs.length / 2) }, () => same)));

    recordLatencies(
      run,
      'graphql',
      'GraphQL one day of 1-minute bars via gateway',
      'gateway → facade → flightdeck (scripts/start-all.ts on the benchmark DATA_DIR), one symbol\'s bars for one whole UTC day ' +
        `(1,440 rows, all 7 fields) with a random symbol and day, after ${warm.length} warm-up requests (one per day)`,
      viaGateway,
      BARS_TARGET,
    );
    recordLatencies(run, 'graphql-facade', 'GraphQL, requests of that kind to the facade directly', 'other random requests of the same kind, straight to the facade (no gateway)', viaFacade, null);
    recordLatencies(run, 'graphql-repeat', 'GraphQL via gateway, one symbol-day repeated', `one request (${same.variables.symbol}, one day) repeated: the warmest path`, repeated, null);

    // series: one week of 1-minute bars as columns.
    const seriesTitle = 'GraphQL series, one week of 1-minute bars via gateway';
    const seriesFacadeTitle = 'GraphQL series, requests of that kind to the facade directly';
    const weeks = days - WEEK_DAYS + 1;
    if (weeks < 1) {
      const why = `the data spans ${days} whole days, a week needs ${WEEK_DAYS} (run with --minutes ${WEEK_DAYS * 1440} or more)`;
      recordMissing(run, 'graphql-series', seriesTitle, SERIES_TARGET, why);
      recordMissing(run, 'graphql-series-facade', seriesFacadeTitle, null, why);
      return;
    }
    const weekRequest = (sym: number, day: number) => {
      const start = BigInt(g.start_ns) + BigInt(day) * DAY_NS;
      const end = start + BigInt(WEEK_DAYS) * DAY_NS;
      return { query: SERIES_QUERY, variables: { symbol: `S${String(sym).padStart(4, '0')}`, from: iso(start), to: iso(end) } };
    };
    const weekWarm = Array.from({ length: 5 }, () => weekRequest(rand(g.symbols), rand(weeks)));
    const weekReqs = Array.from({ length: run.cfg.graphqlRequests }, () => weekRequest(rand(g.symbols), rand(weeks)));
    const facadeWeekReqs = Array.from({ length: run.cfg.graphqlRequests }, () => weekRequest(rand(g.symbols), rand(weeks)));
    let seriesViaGateway: Latencies;
    let seriesViaFacade: Latencies;
    try {
      await post(stack.info.gateway, weekWarm);
      seriesViaGateway = await withCpu(processes, () => post(stack.info.gateway, weekReqs));
      seriesViaFacade = await withCpu(processes, () => post(stack.info.facade, facadeWeekReqs));
    } catch (err) {
      const why = `the series request failed: ${(err as Error).message.slice(0, 300)}`;
      recordMissing(run, 'graphql-series', seriesTitle, SERIES_TARGET, why);
      recordMissing(run, 'graphql-series-facade', seriesFacadeTitle, null, why);
      return;
    }
    const rows = WEEK_DAYS * 1440;
    recordLatencies(
      run,
      'graphql-series',
      seriesTitle,
      `gateway → facade → flightdeck, \`instrument(symbol) { series(from, to) { symbol ts open high low close volume } }\` for one symbol's ` +
        `${WEEK_DAYS} whole UTC days (${rows.toLocaleString('en-US')} rows as 7 parallel arrays), random symbol and week, after 5 warm-up requests`,
      seriesViaGateway,
      SERIES_TARGET,
      rows,
    );
    recordLatencies(run, 'graphql-series-facade', seriesFacadeTitle, 'other random series requests of the same kind, straight to the facade (no gateway)', seriesViaFacade, null, rows);
  } finally {
    await stack.stop(30_000);
  }
}
