/**
 * A live progress line on a terminal (stderr): rows, rows/s, bytes and a bar when the total is
 * known, redrawn a few times a second. Off a terminal it draws nothing; callers print a summary.
 */
import { formatBytes, formatCount } from './human-units.js';

export interface ProgressState {
  rows: number;
  bytes: number;
  totalBytes: number | null;
  phase: string;
}

export class ProgressLine {
  readonly #out: NodeJS.WriteStream;
  readonly #enabled: boolean;
  readonly #started = performance.now();
  #timer: NodeJS.Timeout | null = null;
  #drawn = false;
  readonly state: ProgressState = { rows: 0, bytes: 0, totalBytes: null, phase: '' };

  constructor(out: NodeJS.WriteStream, enabled: boolean) {
    this.#out = out;
    this.#enabled = enabled && out.isTTY === true;
  }

  start(): this {
    if (this.#enabled) {
      this.#timer = setInterval(() => this.#draw(), 150);
      this.#timer.unref();
    }
    return this;
  }

  /** Milliseconds since start. */
  elapsed(): number {
    return performance.now() - this.#started;
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    if (this.#drawn) this.#out.write('\r\x1b[2K');
    this.#drawn = false;
  }

  #draw(): void {
    const s = this.state;
    const seconds = this.elapsed() / 1000;
    const rate = seconds > 0 ? s.rows / seconds : 0;
    let line = `${s.phase ? `${s.phase} ` : ''}${formatCount(s.rows)} rows  ${formatCount(rate)} rows/s  ${formatBytes(s.bytes)}`;
    if (s.totalBytes !== null && s.totalBytes > 0) {
      const ratio = Math.min(1, s.bytes / s.totalBytes);
      const width = 24;
      const filled = Math.round(ratio * width);
      line = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(ratio * 100)).padStart(3)}%  ${line} / ${formatBytes(s.totalBytes)}`;
    }
    line += `  ${seconds.toFixed(0)}s`;
    const columns = this.#out.columns ?? 100;
    this.#out.write(`\r\x1b[2K${line.slice(0, columns - 1)}`);
    this.#drawn = true;
  }
}
