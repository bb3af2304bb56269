/**
 * For tests of replicas: the real flight server as a child process (`node <bundle of
 * src/main.ts>`, see scripts/entry-bundle.mjs: one process, so a SIGKILL is a real crash), on
 * 127.0.0.1 and a free port, started with an env of the test's choosing; stopped by the test, by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { bundledEntry } from '../../scripts/entry-bundle.mjs';

const FLIGHT_SERVER_DIR = fileURLToPath(new URL('..', import.meta.url));
const STARTUP_TIMEOUT_MS = 60_000;

/** Every server process started here and not yet gone: a test that times out mid-start leaves none behind. */
const started = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of started) p.kill('SIGKILL');
});

/** SIGKILLs every server process this module started that is still running; resolves when they are gone. */
export async function killStartedServerProcesses(): Promise<void> {
  await Promise.all(
    [...started].map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null || p.signalCode !== null) return resolve();
          p.once('exit', () => resolve());
          p.kill('SIGKILL');
        }),
    ),
  );
}

/**
 * A port free on 127.0.0.1 now (the kernel picks it; the listener is closed at once), for a server
 * whose URL must be known before it starts (FLIGHT_ADVERTISE_URL names its own port).
 */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface ServerProcess {
  url: string;
  pid: number;
  /** The log lines so far (JSON, as pino writes them). */
  logs: string[];
  /** Resolves with the exit code (or signal) once the process is gone. */
  exited: Promise<number | NodeJS.Signals | null>;
  /** SIGTERM (or `signal`), then SIGKILL after 10 s; resolves when the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const proc: ChildProcess = spawn(process.execPath, [await bundledEntry('flight-server/src/main.ts')], {
    cwd: FLIGHT_SERVER_DIR,
    env: { ...process.env, FLIGHT_HOST: '127.0.0.1', FLIGHT_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(proc);
  const logs: string[] = [];
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    proc.once('exit', (code, signal) => {
      started.delete(proc);
      resolve(signal ?? code);
    }),
  );
  createInterface({ input: proc.stderr! }).on('line', (line) => logs.push(line));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`flight server did not start within ${STARTUP_TIMEOUT_MS} ms:\n${logs.slice(-20).join('\n')}`));
    }, STARTUP_TIMEOUT_MS);
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      logs.push(line);
      try {
        const rec = JSON.parse(line) as { msg?: string; url?: string };
        if (rec.msg === 'flight server listening' && rec.url) {
          clearTimeout(timer);
          resolve(rec.url);
        }
      } catch {
        // not a log record
      }
    });
    void exited.then((status) => {
      clearTimeout(timer);
      reject(new Error(`flight server exited (${status}) before listening:\n${logs.slice(-20).join('\n')}`));
    });
  });
  return {
    url,
    pid: proc.pid!,
    logs,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
