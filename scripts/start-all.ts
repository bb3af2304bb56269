/**
 * `npm start` at the repository root: starts the Flight server, the GraphQL facade, the user
 * service and the gateway as child processes (each its folder's `src/main.ts`, run from the esbuild
 * bundle scripts/entry-bundle.mjs keeps up to date, which starts in half the time of `npm start -w
 * <folder>`'s tsx), waits for each one's "listening" log line, seeds the sample
 * datasets through Flight on first start, builds the explorer page (`web/dist`) when it is missing
 * or stale (scripts/build-explorer.ts; the gateway serves it at `GET /`), and prints the URLs.
 * SIGINT/SIGTERM stop all four, gateway first, and exit 0.
 *
 * Children's pino lines pass through on stdout (plus this script's own, service "start-all");
 * the human-readable banner goes to stderr so stdout stays JSON lines. Environment: every
 * service variable passes through (FLIGHT_PORT, FACADE_PORT, USERS_PORT, GATEWAY_PORT may be 0);
 * DATA_DIR and USERS_DATA_DIR default to ./data/flight and ./data/users at the repository root;
 * DATABASE_URL, when set, is passed to the user service as usual. GLIBC_TUNABLES gets
 * `glibc.malloc.hugetlb=1` unless it already sets that tunable (malloc-env.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FlightClient } from '@flightdeck/proto';
import { pino } from 'pino';
import { ensureExplorerBuilt } from './build-explorer.js';
import { entryArgs } from './entry-bundle.mjs';
import { withMallocHugePages } from './malloc-env.js';
import { seedSampleData } from './seed-data.js';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
// Every child runs with malloc on transparent huge pages (see malloc-env.ts).
const env = withMallocHugePages(process.env);
const logLevel = env.LOG_LEVEL?.trim() || 'info';
const log = pino({ level: logLevel, base: { service: 'start-all' } });
/** pino's numeric levels: children log at least at info (their "listening" lines are read here); lines below LOG_LEVEL are not passed on. */
const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };
const threshold = LEVELS[logLevel] ?? 30;
const childLogLevel = threshold < 30 ? logLevel : 'info';
const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 15_000;

interface Service {
  name: string;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const services: Service[] = [];
let stopping = false;

/** Starts `<folder>/src/main.ts` (its bundle); resolves with the fields of its `readyMsg` log line. */
async function startService(name: string, folder: string, readyMsg: string, extraEnv: Record<string, string>): Promise<{ url: string; port: number }> {
  const entry = await entryArgs(join(root, folder, 'src', 'main.ts'));
  if (!entry.bundled) log.warn({ child: name, reason: entry.reason }, `${name} runs through tsx: the bundle cache cannot be written (FLIGHTDECK_BUNDLE_CACHE names another)`);
  const child = spawn(process.execPath, entry.args, {
    cwd: join(root, folder),
    env: { ...env, LOG_LEVEL: childLogLevel, ...extraEnv },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => done({ code, signal })),
  );
  services.push({ name, child, exited });
  void exited.then(({ code, signal }) => {
    if (!stopping) {
      log.error({ child: name, code, signal }, `${name} exited unexpectedly; stopping the others`);
      void shutdown(1);
    }
  });
  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not log "${readyMsg}" within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited before it was ready (code ${code}, signal ${signal})`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: { level?: number; msg?: string; url?: string; port?: number } | undefined;
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        entry = undefined; // not a JSON line: passed on as it is
      }
      if (entry === undefined || typeof entry.level !== 'number' || entry.level >= threshold) process.stdout.write(`${line}\n`);
      if (entry?.msg === readyMsg && typeof entry.url === 'string' && typeof entry.port === 'number') {
        clearTimeout(timer);
        resolveReady({ url: entry.url, port: entry.port });
      }
    });
  });
}

async function stopService(service: Service): Promise<boolean> {
  const { child, exited, name } = service;
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const timer = setTimeout(() => {
    log.warn({ child: name }, `${name} did not stop within ${STOP_TIMEOUT_MS} ms; killing it`);
    child.kill('SIGKILL');
  }, STOP_TIMEOUT_MS);
  const { code, signal } = await exited;
  clearTimeout(timer);
  const clean = code === 0 || signal === 'SIGTERM' || signal === 'SIGINT';
  log.info({ child: name, code, signal }, `${name} stopped`);
  return clean;
}

let shuttingDown: Promise<void> | undefined;
function shutdown(exitCode: number): Promise<void> {
  stopping = true;
  shuttingDown ??= (async () => {
    // Gateway first, then the subgraphs, then the Flight server they read from.
    const order = ['gateway', 'graphql-facade', 'user-service', 'flight-server'];
    const byOrder = [...services].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
    let clean = true;
    for (const wave of [byOrder.slice(0, 1), byOrder.slice(1, 3), byOrder.slice(3)]) {
      const results = await Promise.all(wave.map(stopService));
      clean &&= results.every(Boolean);
    }
    process.exit(exitCode === 0 && !clean ? 1 : exitCode);
  })();
  return shuttingDown;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    log.info({ signal }, 'stopping flightdeck');
    void shutdown(0);
  });
}

try {
  const dataDir = resolve(root, env.DATA_DIR?.trim() || 'data/flight');
  const usersDataDir = resolve(root, env.USERS_DATA_DIR?.trim() || 'data/users');
  // The page builds while the services start; the gateway serves whatever web/dist holds when asked.
  const explorer = ensureExplorerBuilt(log).catch((err: Error) => {
    log.error({ err }, `explorer page build failed; GET / on the gateway will say it is not built: ${err.message}`);
    return undefined;
  });
  const flight = await startService('flight-server', 'flight-server', 'flight server listening', { DATA_DIR: dataDir });

  const client = new FlightClient(flight.url);
  // With auth on (FLIGHT_USERS), FLIGHT_USER/FLIGHT_PASSWORD name a write user for the seed (and the facade).
  const seeding = (async () => {
    if (env.FLIGHT_USER && env.FLIGHT_PASSWORD) await client.handshake(env.FLIGHT_USER, env.FLIGHT_PASSWORD);
    return seedSampleData(client, log);
  })().finally(() => client.close());
  seeding.catch(() => undefined); // awaited below; keep an early failure from being "unhandled"
  const [facade, users] = await Promise.all([
    startService('graphql-facade', 'graphql-facade', 'graphql facade listening', { FLIGHT_URL: flight.url }),
    startService('user-service', 'user-service', 'user service listening', { USERS_DATA_DIR: usersDataDir }),
  ]);
  const gateway = await startService('gateway', 'gateway', 'gateway listening', { FACADE_URL: facade.url, USERS_URL: users.url });
  const seeded = await seeding;
  const built = await explorer;

  const explorerUrl = new URL('/', gateway.url).href;
  const urls = { gateway: gateway.url, explorer: explorerUrl, facade: facade.url, users: users.url, flight: flight.url };
  log.info({ ...urls, seeded, explorerBuild: built?.status ?? 'failed', dataDir, usersDataDir }, 'flightdeck ready');
  process.stderr.write(
    [
      '',
      'flightdeck is running (Ctrl-C stops all four):',
      `  explorer page     ${explorerUrl}${built === undefined ? ' (build failed: see the log)' : ''}`,
      `  GraphQL gateway   ${gateway.url}`,
      `  financial facade  ${facade.url}`,
      `  user service      ${users.url}`,
      `  Arrow Flight      ${flight.url}`,
      `  data              ${dataDir} (Flight), ${env.DATABASE_URL ? 'DATABASE_URL' : usersDataDir} (users)`,
      '',
      'First query:',
      `  curl -s ${gateway.url} -H 'content-type: application/json' \\`,
      `    -d '{"query":"{ instrument(symbol: \\"SPX\\") { latest { ts close } bars(from: \\"2020-04-01\\", interval: \\"1w\\") { ts open high low close volume } } }"}'`,
      '',
    ].join('\n'),
  );
} catch (err) {
  log.error({ err }, `start failed: ${(err as Error).message}`);
  await shutdown(1);
}
