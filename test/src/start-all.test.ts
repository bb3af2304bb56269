/**
 * `npm start` smoke test: the root script starts all four services (temp data dirs, ports 0),
 * seeds the sample data, serves it through the gateway, and stops cleanly (exit 0) on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

let dir: string | undefined;
let child: ChildProcess | undefined;

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

function startAll(env: NodeJS.ProcessEnv): { proc: ChildProcess; lines: Record<string, any>[]; ready: Promise<Record<string, any>> } {
  const proc = spawn('npm', ['start', '--silent'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, any>[] = [];
  let stderr = '';
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const ready = new Promise<Record<string, any>>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`npm start exited early (code ${code}):\n${stderr}`)));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      let entry: Record<string, any>;
      try {
        entry = JSON.parse(line) as Record<string, any>;
      } catch {
        return;
      }
      lines.push(entry);
      if (entry.msg === 'flightdeck ready') resolve(entry);
    });
  });
  return { proc, lines, ready };
}

describe('npm start', () => {
  it('starts all four services, serves the seeded data through the gateway and stops on SIGTERM', async () => {
    dir = await mkdtemp(join(tmpdir(), 'fd-start-'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATA_DIR: join(dir, 'flight'),
      USERS_DATA_DIR: join(dir, 'users'),
      FLIGHT_PORT: '0',
      FACADE_PORT: '0',
      USERS_PORT: '0',
      GATEWAY_PORT: '0',
    };
    delete env.DATABASE_URL; // the embedded defaults: PGlite
    const { proc, lines, ready } = startAll(env);
    child = proc;
    const entry = await ready;
    // Every service runs with malloc on huge pages; the Flight server reports what it got.
    const listening = lines.find((l) => l.msg === 'flight server listening');
    expect(listening?.mallocHugePages).toBe(true);
    expect(entry.seeded).toEqual([
      { dataset: 'bars_1d', status: 'created', rows: 5105 + 4 * 5 },
      { dataset: 'bars_1m', status: 'created', rows: 7800 },
    ]);

    const res = await fetch(entry.gateway as string, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ instrument(symbol: "SPX") { latest { ts close } } }' }),
    });
    expect(await res.json()).toEqual({ data: { instrument: { latest: { ts: '2020-04-17T00:00:00.000Z', close: 2874.560059 } } } });

    // The explorer page, built by npm start when missing or stale, at GET / with its bundled script.
    expect(['built', 'fresh']).toContain(entry.explorerBuild);
    const page = await fetch(entry.explorer as string);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await page.text();
    expect(html).toContain('<title>flightdeck explorer</title>');
    const scriptPath = /<script[^>]+src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(scriptPath).toBeDefined();
    const script = await fetch(new URL(scriptPath!, entry.explorer as string));
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await script.text()).toContain('lightweight-charts'); // bundled, not fetched from elsewhere

    // The stocks of the minute data have daily bars in the default dataset too.
    const stocks = await fetch(entry.gateway as string, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ instrument(symbol: "AAPL") { latest { ts } bars { ts } } }' }),
    });
    const aapl = ((await stocks.json()) as { data: { instrument: { latest: { ts: string }; bars: { ts: string }[] } } }).data.instrument;
    expect(aapl.latest.ts).toBe('2024-01-08T00:00:00.000Z');
    expect(aapl.bars.map((b) => b.ts)).toEqual(['2024-01-02', '2024-01-03', '2024-01-04', '2024-01-05', '2024-01-08'].map((d) => `${d}T00:00:00.000Z`));

    const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    proc.kill('SIGTERM');
    expect(await exit).toBe(0);
    const stopped = lines.filter((l) => l.service === 'start-all' && / stopped$/.test(l.msg)).map((l) => [l.child, l.code]);
    expect(stopped.sort()).toEqual([
      ['flight-server', 0],
      ['gateway', 0],
      ['graphql-facade', 0],
      ['user-service', 0],
    ]);
  }, 240_000);
});
