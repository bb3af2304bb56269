/**
 * Latency of a one-day 1-minute bars query (390 bars, OHLCV) through the gateway, end to end over
 * HTTP, against the stack `npm start` runs (temp data dirs, free ports, seeded sample data).
 * Sequential requests after a warm-up; prints p50/p90/p99 for the gateway and, for comparison,
 * the facade alone. Never part of `npm test`.
 *
 *   node --import tsx bench/src/gateway-latency.ts [requests=500]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const requests = Number(process.argv[2] ?? 500);
const warmup = 50;
const query = `{ bars(dataset: "bars_1m", symbol: "AAPL", from: "2024-01-03T00:00:00Z", to: "2024-01-04T00:00:00Z") { ts open high low close volume } }`;

const dir = await mkdtemp(join(tmpdir(), 'fd-bench-'));
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
const ready = await new Promise<{ gateway: string; facade: string }>((resolve, reject) => {
  child.once('exit', (code) => reject(new Error(`start-all exited with ${code}`)));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.includes('flightdeck ready')) return;
    const entry = JSON.parse(line) as { gateway: string; facade: string };
    resolve(entry);
  });
});

async function measure(url: string): Promise<number[]> {
  const body = JSON.stringify({ query });
  const times: number[] = [];
  for (let i = 0; i < warmup + requests; i++) {
    const started = performance.now();
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const json = (await res.json()) as { data?: { bars: unknown[] }; errors?: unknown };
    const elapsed = performance.now() - started;
    if (json.errors || json.data?.bars.length !== 390) throw new Error(`unexpected answer: ${JSON.stringify(json).slice(0, 300)}`);
    if (i >= warmup) times.push(elapsed);
  }
  return times.sort((a, b) => a - b);
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const row = (name: string, t: number[]) =>
  `${name.padEnd(8)} p50 ${pct(t, 50).toFixed(2)} ms  p90 ${pct(t, 90).toFixed(2)} ms  p99 ${pct(t, 99).toFixed(2)} ms  max ${t.at(-1)!.toFixed(2)} ms`;

try {
  const gateway = await measure(ready.gateway);
  const facade = await measure(ready.facade);
  process.stdout.write(`one-day 1-minute bars (390 rows, 6 fields), ${requests} sequential requests after ${warmup} warm-up\n`);
  process.stdout.write(`${row('gateway', gateway)}\n${row('facade', facade)}\n`);
} finally {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  await rm(dir, { recursive: true, force: true });
}
