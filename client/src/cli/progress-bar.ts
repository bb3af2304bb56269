/**
 * The progress bar of `put` and `get` on a terminal (stderr), drawn by cli-progress: a bar and
 * percentage when the total bytes are known, then the phase, rows, rows/s, bytes and elapsed time,
 * redrawn a few times a second. Off a terminal, or disabled (`--no-progress`), it draws nothing;
 * callers print a summary.
 */
import cliProgress from 'cli-progress';
import { formatBytes, formatCount } from './human-units.js';

export interface ProgressState {
  rows: number;
  bytes: number;
  totalBytes: number | null;
  phase: string;
}

/** The line shown for `state` after `seconds`; `bar` draws the bar of a ratio in [0, 1]. */
export function progressText(state: ProgressState, seconds: number, bar: (ratio: number) => string): string {
  const rate = seconds > 0 ? state.rows / seconds : 0;
  let line = `${state.phase ? `${state.phase} ` : ''}${formatCount(state.rows)} rows  ${formatCount(rate)} rows/s  ${formatBytes(state.bytes)}`;
  if (state.totalBytes !== null && state.totalBytes > 0) {
    const ratio = Math.min(1, state.bytes / state.totalBytes);
    line = `[${bar(ratio)}] ${String(Math.floor(ratio * 100)).padStart(3)}%  ${line} / ${formatBytes(state.totalBytes)}`;
  }
  return `${line}  ${seconds.toFixed(0)}s`;
}

export class ProgressBar {
  readonly state: ProgressState;
  readonly #started = performance.now();
  readonly #bar: cliProgress.SingleBar | null;

  constructor(out: NodeJS.WriteStream, enabled: boolean, initial: Partial<ProgressState> = {}) {
    this.state = { rows: 0, bytes: 0, totalBytes: null, phase: '', ...initial };
    this.#bar =
      enabled && out.isTTY === true
        ? new cliProgress.SingleBar({
            stream: out,
            fps: 7,
            barsize: 24,
            barCompleteChar: '#',
            barIncompleteChar: '-',
            clearOnComplete: true,
            // Wrapping stays on (a bar killed by Ctrl-C must not leave the terminal without it); the line is cut to the width instead.
            linewrap: true,
            format: (options, params) =>
              progressText(this.state, this.elapsed() / 1000, (ratio) => cliProgress.Format.BarFormat(ratio, options)).slice(0, Math.max(1, params.maxWidth - 1)),
          })
        : null;
  }

  start(): this {
    this.#bar?.start(this.state.totalBytes ?? 0, this.state.bytes);
    return this;
  }

  /** Sets what changed; the bar shows it at its next redraw. */
  update(change: Partial<ProgressState>): void {
    Object.assign(this.state, change);
    this.#bar?.update(this.state.bytes);
  }

  /** Counts a batch read or received. */
  add(rows: number, bytes = 0): void {
    this.update({ rows: this.state.rows + rows, bytes: this.state.bytes + bytes });
  }

  /** Milliseconds since the bar was made. */
  elapsed(): number {
    return performance.now() - this.#started;
  }

  /** Clears the bar from the terminal; safe to call more than once. */
  stop(): void {
    this.#bar?.stop();
  }
}
