/**
 * The processes a benchmark run starts: servers that announce their port on stdout, JSON-line
 * workers (the clients), one-shot scripts. Every child is registered so the run can stop exactly
 * what it started (by pid) on any exit; stdout and stderr are drained continuously into a short
 * ring buffer so a pipe never blocks a server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const started = new Set<ChildProcess>();

/** Kills every child still running (SIGKILL, by pid); for exit paths. */
export function killAllStarted(): void {
  for (const child of started) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      for (const pid of childPids(child.pid)) tryKill(pid, 'SIGKILL');
      tryKill(child.pid, 'SIGKILL');
    }
  }
}

function tryKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Direct children of a process, from /proc (empty where /proc is unavailable). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export interface IoCounters {
  /** Bytes the process asked for through read-like syscalls (page cache hits included). */
  rchar: number;
  /** Bytes the process caused to be fetched from storage. */
  readBytes: number;
  /** Bytes the process caused to be sent to storage (counted when it dirties the page cache). */
  writeBytes: number;
}

/** CPU seconds (user + system, all threads) a process has used, from /proc/<pid>/stat; NaN where unreadable. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th, in clock ticks.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** /proc/<pid>/io of a process (all its threads), or null where unreadable. */
export function ioCounters(pid: number): IoCounters | null {
  try {
    const text = readFileSync(`/proc/${pid}/io`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
    return { rchar: field('rchar'), readBytes: field('read_bytes'), writeBytes: field('write_bytes') };
  } catch {
    return null;
  }
}

export class Ring {
  readonly lines: string[] = [];
  constructor(readonly size = 200) {}
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.size) this.lines.shift();
  }
  tail(n = 40): string {
    return this.lines.slice(-n).join('\n');
  }
}

export interface StartOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Returns a value once a stdout line shows the process is ready. */
  ready: (line: string) => unknown;
  /** Called with every stdout line after the ready one. */
  onLine?: (line: string) => void;
  /** Keep a pipe to the process's stdin (workers); servers get none. */
  stdin?: boolean;
  timeoutMs?: number;
}

export class Managed<T> {
  readonly stdout = new Ring();
  readonly stderr = new Ring();

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly info: T,
    readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
  ) {}

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; children it left behind are killed by pid. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) return;
    const kids = childPids(this.pid);
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const pid of [...kids, ...childPids(this.pid)]) tryKill(pid, 'SIGKILL');
      this.child.kill('SIGKILL');
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  logs(): string {
    return `--- ${this.name} stdout ---\n${this.stdout.tail()}\n--- ${this.name} stderr ---\n${this.stderr.tail()}`;
  }
}

/** Starts a process and resolves once `ready` returns a value for one of its stdout lines. */
export function startProcess<T>(name: string, command: string, args: string[], opts: StartOptions): Promise<Managed<T>> {
  const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  started.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once('exit', (code, signal) => {
      started.delete(child);
      done({ code, signal });
    }),
  );
  let resolveReady!: (v: T) => void;
  const readyValue = new Promise<T>((r) => (resolveReady = r));
  let isReady = false;
  const holder: { managed?: Managed<T> } = {};
  const out = new Ring();
  const err = new Ring();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    (holder.managed?.stdout ?? out).push(line);
    if (isReady) {
      opts.onLine?.(line);
    } else {
      const v = opts.ready(line);
      if (v !== undefined && v !== null) {
        isReady = true;
        resolveReady(v as T);
      }
    }
  });
  createInterface({ input: child.stderr! }).on('line', (line) => (holder.managed?.stderr ?? err).push(line));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} was not ready within ${opts.timeoutMs ?? 60_000} ms\n${out.tail()}\n${err.tail()}`));
    }, opts.timeoutMs ?? 60_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('exit', (code, signal) => {
      if (isReady) return;
      clearTimeout(timer);
      reject(new Error(`${name} exited before it was ready (code ${code}, signal ${signal})\n${out.tail()}\n${err.tail()}`));
    });
    void readyValue.then((v) => {
      clearTimeout(timer);
      const managed = new Managed<T>(name, child, v, exited);
      managed.stdout.lines.push(...out.lines);
      managed.stderr.lines.push(...err.lines);
      holder.managed = managed;
      resolve(managed);
    });
  });
}

export function parseJsonLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const v = JSON.parse(line) as unknown;
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A JSON-line worker (bench/client.py, src/node-client.ts): one request at a time, each answered
 * by one stdout line.
 */
export class JsonWorker {
  readonly #proc: Managed<true>;
  readonly #box: { waiting?: (line: string) => void };

  private constructor(proc: Managed<true>, box: { waiting?: (line: string) => void }) {
    this.#proc = proc;
    this.#box = box;
  }

  static async start(name: string, command: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<JsonWorker> {
    const box: { waiting?: (line: string) => void } = {};
    const proc = await startProcess<true>(name, command, args, {
      cwd,
      ...(env === undefined ? {} : { env }),
      stdin: true,
      ready: (line) => (parseJsonLine(line)?.ready === true ? true : undefined),
      onLine: (line) => {
        if (!parseJsonLine(line)) return;
        const waiting = box.waiting;
        box.waiting = undefined;
        waiting?.(line);
      },
    });
    proc.child.stdin?.on('error', () => undefined);
    return new JsonWorker(proc, box);
  }

  get pid(): number {
    return this.#proc.pid;
  }

  /** Sends one command; resolves with its answer, rejects on {"ok":false} or a dead worker. */
  async request<R extends object>(cmd: object, timeoutMs = 600_000): Promise<R> {
    if (!this.#proc.running) throw new Error(`${this.#proc.name} is not running\n${this.#proc.logs()}`);
    if (this.#box.waiting) throw new Error(`${this.#proc.name}: one request at a time`);
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#box.waiting = undefined;
        reject(new Error(`${this.#proc.name}: no answer within ${timeoutMs} ms to ${JSON.stringify(cmd).slice(0, 200)}`));
      }, timeoutMs);
      void this.#proc.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`${this.#proc.name} exited\n${this.#proc.logs()}`));
      });
      this.#box.waiting = (l) => {
        clearTimeout(timer);
        resolve(l);
      };
      this.#proc.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
    });
    const msg = JSON.parse(line) as { ok: boolean; error?: string; trace?: string };
    if (!msg.ok) throw new Error(`${this.#proc.name}: ${msg.error}${msg.trace ? `\n${msg.trace}` : ''}`);
    return msg as unknown as R;
  }

  async close(): Promise<void> {
    if (!this.#proc.running) return;
    this.#proc.child.stdin!.end(`${JSON.stringify({ op: 'quit' })}\n`);
    const timer = setTimeout(() => void this.#proc.stop(2_000), 5_000);
    await this.#proc.exited;
    clearTimeout(timer);
  }
}
