/**
 * What the CLI and SDK e2e suites share: a real flight-server process (port 0, or a fixed port
 * to restart on), the `flightdeck` bin run as a child process, temp dirs, and rows read back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DataType, TimeUnit, type Table } from 'apache-arrow';
import { bundledEntry } from '../../scripts/entry-bundle.mjs';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const serverMain = join(repoRoot, 'flight-server', 'src', 'main.ts');
export const flightdeckBin = join(repoRoot, 'client', 'bin', 'flightdeck.mjs');

export interface ServerProcess {
  port: number;
  url: string;
  proc: ChildProcess;
  /** Server log so far (for failure messages). */
  log(): string;
  /** Stops the process (SIGTERM: graceful; SIGKILL: a crash) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `flight-server/src/main.ts` on `port` (0: any) over `dataDir` and waits until it listens. */
export async function startServer(dataDir: string, port = 0, env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  // One process (the server's bundle, not a runner's parent + child), so a signal reaches the server itself.
  const proc = spawn(process.execPath, [await bundledEntry(serverMain)], {
    cwd: repoRoot,
    env: { ...process.env, FLIGHT_PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    log += chunk;
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const lines = createInterface({ input: proc.stdout! });
  const bound = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not listen within 60 s\n${log}`)), 60_000);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}\n${log}`));
    });
    lines.on('line', (line) => {
      log += `${line}\n`;
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === 'flight server listening' && typeof entry.port === 'number') {
          clearTimeout(timer);
          resolve(entry.port);
        }
      } catch {
        // not a JSON log line
      }
    });
  });
  return {
    port: bound,
    url: `grpc://127.0.0.1:${bound}`,
    proc,
    log: () => log,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
}

/** A TCP port that was free a moment ago (for a server restarted on the same port). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `flightdeck ...args` as a child process against `url`. */
export async function runFlightdeck(args: string[], opts: { url?: string; env?: NodeJS.ProcessEnv; cwd?: string; timeWrapper?: string } = {}): Promise<CliResult> {
  const command = opts.timeWrapper ?? process.execPath;
  const argv = opts.timeWrapper ? ['-v', process.execPath, flightdeckBin, ...args] : [flightdeckBin, ...args];
  const child = spawn(command, argv, {
    cwd: opts.cwd ?? repoRoot,
    env: { ...process.env, ...(opts.url ? { FLIGHT_URL: opts.url } : {}), FLIGHT_TOKEN: '', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
  });
  child.stderr!.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  return { code, stdout, stderr };
}

export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A table's rows as plain objects; timestamps as exact epoch-nanosecond bigints. */
export function tableRows(table: Table): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = Array.from({ length: table.numRows }, () => ({}));
  for (const field of table.schema.fields) {
    const column = table.getChild(field.name)!;
    let offset = 0;
    for (const data of column.data) {
      for (let i = 0; i < data.length; i++) {
        let value: unknown;
        if (!data.getValid(i)) value = null;
        else if (DataType.isTimestamp(field.type)) {
          const per = { [TimeUnit.SECOND]: 1_000_000_000n, [TimeUnit.MILLISECOND]: 1_000_000n, [TimeUnit.MICROSECOND]: 1_000n, [TimeUnit.NANOSECOND]: 1n }[
            field.type.unit as TimeUnit
          ];
          value = (data.values as BigInt64Array)[i]! * per;
        } else value = column.get(offset + i);
        rows[offset + i]![field.name] = value;
      }
      offset += data.length;
    }
  }
  return rows;
}

/** The last stderr line, what a failed command prints. */
export function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}
