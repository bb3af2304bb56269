/**
 * GraphQL latency: the whole stack (`scripts/start-all.ts`) on the benchmark's DATA_DIR, one
 * symbol's bars for one UTC day (1,440 rows) per request, sequential, p50/p99: via the gateway with
 * a random symbol and day, the same requests to the facade directly (what the gateway adds), and
 * one request repeated (the warmest path). flightdeck and the peer are stopped for it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DAY_NS, iso } from '../bench-data.js';
import type { BenchRun } from '../bench-run.js';
import { side } from '../report.js';
import { startStack } from '../servers.js';
import { percentile } from '../stats.js';

const QUERY =
  'query Bench($symbol: String!, $from: DateTime, $to: DateTime) { bars(dataset: "bars", symbol: $symbol, from: $from, to: $to) { symbol ts open high low close volume } }';

interface Latencies {
  latencies_ms: number[];
  items: number[];
}

function hasRootStart(root: string): boolean {
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    return Boolean(pkg.scripts?.start) && existsSync(join(root, 'gateway', 'src', 'main.ts'));
  } catch {
    return false;
  }
}

/** One latency row: p50/p99 over sequential requests, each expected to hold 1,440 bars. */
function recordLatencies(run: BenchRun, id: string, title: string, how: string, out: Latencies, target: boolean): void {
  const lat = out.latencies_ms;
  const p50 = percentile(lat, 50);
  const p99 = percentile(lat, 99);
  const notes = [`${lat.length} sequential POSTs, ${how}; min ${Math.min(...lat).toFixed(1)} ms, max ${Math.max(...lat).toFixed(1)} ms.`];
  const wrong = out.items.filter((k) => k !== 1440);
  if (wrong.length) notes.push(`${wrong.length} responses did not hold 1,440 bars (e.g. ${wrong[0]})`);
  const reps = lat.map((ms) => ({ seconds: ms / 1000, rows: 1440, bytes: 0 }));
  run.record({
    id,
    title,
    kind: 'latency',
    fd: side(how, reps, { p50_ms: p50, p99_ms: p99 }),
    peer: null,
    ratio: null,
    target: target ? { text: 'p99 < 25 ms', measured: `p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`, met: p99 < 25 } : null,
    notes,
    cells: { fd: `p50 ${p50.toFixed(1)} ms · p99 ${p99.toFixed(1)} ms`, peer: '—' },
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
      target: { text: 'p99 < 25 ms', measured: 'not measured', met: null },
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
    const reqs = Array.from({ length: run.cfg.graphqlRequests }, () => request(rand(g.symbols), rand(days)));
    const post = (url: string, requests: object[]) => run.node.request<Latencies>({ op: 'graphql', url, requests, warmup: 0 });
    await post(stack.info.gateway, warm);
    const viaGateway = await post(stack.info.gateway, reqs);
    const viaFacade = await post(stack.info.facade, reqs);
    const same = request(Math.floor(g.symbols / 2), Math.min(1, days - 1));
    const repeated = await post(stack.info.gateway, Array.from({ length: Math.ceil(reqs.length / 2) }, () => same));

    recordLatencies(
      run,
      'graphql',
      'GraphQL one day of 1-minute bars via gateway',
      'gateway → facade → flightdeck (scripts/start-all.ts on the benchmark DATA_DIR), one symbol\'s bars for one whole UTC day ' +
        `(1,440 rows, all 7 fields) with a random symbol and day, after ${warm.length} warm-up requests (one per day)`,
      viaGateway,
      true,
    );
    recordLatencies(run, 'graphql-facade', 'GraphQL, same requests to the facade directly', 'the same random requests, straight to the facade (no gateway)', viaFacade, false);
    recordLatencies(run, 'graphql-repeat', 'GraphQL via gateway, one symbol-day repeated', `one request (${same.variables.symbol}, one day) repeated: the warmest path`, repeated, false);
  } finally {
    await stack.stop(30_000);
  }
}
