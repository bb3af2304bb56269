/**
 * The flight server's start-up faults, as an operator meets them: the process (`flight-server/src/main.ts`)
 * exits non-zero with one line naming the fault, not a stack trace: a setting out of range (exit 2,
 * on stderr, before any logger), a PostgreSQL catalog that does not answer and a port already in
 * use (exit 1, one fatal log line).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledEntry } from '../../scripts/entry-bundle.mjs';

/** The server's entry point as `npm start` runs it: its bundle (scripts/entry-bundle.mjs). */
const MAIN = await bundledEntry(join(import.meta.dirname, '..', '..', 'flight-server', 'src', 'main.ts'));

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runServer(env: Record<string, string>): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', FLIGHT_HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the server did not exit within 30 s:\n${stdout}\n${stderr}`));
    }, 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The fatal log line, checked to be the only thing that names the fault (no stack frames). */
function fatalLine(exit: Exit): { msg: string; code?: string } {
  const lines = exit.stdout.trim().split('\n').filter((l) => l.startsWith('{'));
  const fatal = lines.map((l) => JSON.parse(l) as { level: number; msg: string; code?: string; err?: unknown }).filter((l) => l.level === 60);
  expect(fatal).toHaveLength(1);
  expect(fatal[0]!.err).toBeUndefined();
  expect(exit.stdout + exit.stderr).not.toMatch(/\n\s+at /);
  return fatal[0]!;
}

describe('flight server start-up faults', () => {
  let dataDir: string;
  let listener: Server;
  let busyPort: number;
  let closedPort: number;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'fd-startup-'));
    listener = createServer();
    await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
    busyPort = (listener.address() as { port: number }).port;
    // A port nothing listens on: bound, then released.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    closedPort = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
  });

  afterAll(async () => {
    await new Promise<void>((r) => listener?.close(() => r()));
    await rm(dataDir, { recursive: true, force: true });
  });

  it('a setting out of range: exit 2, one line on stderr naming it', async () => {
    const exit = await runServer({ DATA_DIR: dataDir, FLIGHT_PORT: '99999' });
    expect(exit.code).toBe(2);
    expect(exit.stderr.trim()).toBe('flight-server: FLIGHT_PORT="99999" must be an integer in [0, 65535]');
  });

  it('a PostgreSQL catalog that does not answer: exit 1, one fatal line naming it', async () => {
    const exit = await runServer({ DATA_DIR: dataDir, FLIGHT_PORT: '0', CATALOG_URL: `postgres://postgres@127.0.0.1:${closedPort}/test` });
    expect(exit.code).toBe(1);
    const fatal = fatalLine(exit);
    expect(fatal.code).toBe('UNAVAILABLE');
    expect(fatal.msg).toMatch(new RegExp(`^flight server could not start: PostgreSQL catalog at 127\\.0\\.0\\.1:${closedPort}/test unreachable: .*ECONNREFUSED`));
  });

  it('a second server on the same DATA_DIR: exit 1 naming the first; after the first is killed -9, a restart takes over', async () => {
    const first = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', FLIGHT_HOST: '127.0.0.1', DATA_DIR: dataDir, FLIGHT_PORT: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error(`the first server did not listen within 30 s:\n${out}`)), 30_000);
        first.stdout.setEncoding('utf8').on('data', (c: string) => {
          out += c;
          if (out.includes('flight server listening')) {
            clearTimeout(timer);
            resolve();
          }
        });
        first.once('exit', (code) => reject(new Error(`the first server exited (${code}):\n${out}`)));
      });
      const second = await runServer({ DATA_DIR: dataDir, FLIGHT_PORT: '0' });
      expect(second.code).toBe(1);
      expect(fatalLine(second).msg).toMatch(new RegExp(`DATA_DIR ${dataDir} is in use by flight server pid ${first.pid} `));
    } finally {
      first.kill('SIGKILL');
      await new Promise((r) => (first.exitCode !== null || first.signalCode !== null ? r(null) : first.once('exit', r)));
    }
    // The killed server's lock is stale: a restart starts (and stops cleanly on SIGTERM).
    const restart = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', FLIGHT_HOST: '127.0.0.1', DATA_DIR: dataDir, FLIGHT_PORT: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    restart.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      if (out.includes('flight server listening')) restart.kill('SIGTERM');
    });
    const timer = setTimeout(() => restart.kill('SIGKILL'), 30_000);
    const code = await new Promise((r) => restart.once('exit', r));
    clearTimeout(timer);
    expect(out).toContain('flight server listening');
    expect(code).toBe(0);
  });

  it('a port already in use: exit 1, one fatal line naming it', async () => {
    const exit = await runServer({ DATA_DIR: dataDir, FLIGHT_PORT: String(busyPort) });
    expect(exit.code).toBe(1);
    expect(fatalLine(exit).msg).toMatch(new RegExp(`^flight server could not start: .*EADDRINUSE.*127\\.0\\.0\\.1:${busyPort}`));
  });
});
