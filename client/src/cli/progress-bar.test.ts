import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ProgressBar, progressText } from './progress-bar.js';

/** A stream that says it is (or is not) a terminal and keeps what was written to it. */
function terminal(isTTY: boolean): { stream: NodeJS.WriteStream; text(): string } {
  const stream = Object.assign(new PassThrough(), { isTTY, columns: 200 }) as unknown as NodeJS.WriteStream;
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  return { stream, text: () => text };
}

describe('progressText', () => {
  it('shows phase, rows, rows/s and bytes, and a bar with a percentage when the total is known', () => {
    const bar = (ratio: number) => `<${ratio}>`;
    expect(progressText({ rows: 1500, bytes: 2500, totalBytes: null, phase: 'reading' }, 3, bar)).toBe('reading 1,500 rows  500 rows/s  2.5 KB  3s');
    expect(progressText({ rows: 1500, bytes: 500, totalBytes: 1000, phase: 'committing' }, 3, bar)).toBe(
      '[<0.5>]  50%  committing 1,500 rows  500 rows/s  500 B / 1.0 KB  3s',
    );
    expect(progressText({ rows: 0, bytes: 0, totalBytes: null, phase: '' }, 0, bar)).toBe('0 rows  0 rows/s  0 B  0s');
  });
});

describe('ProgressBar', () => {
  it('draws on a terminal with cli-progress and clears the line when stopped', async () => {
    const out = terminal(true);
    const progress = new ProgressBar(out.stream, true, { totalBytes: 1000, phase: 'reading' }).start();
    progress.add(1500, 500);
    await sleep(400); // a few redraws
    progress.update({ phase: 'committing' });
    await sleep(400);
    progress.stop();
    const text = out.text();
    expect(text).toMatch(/\[#{12}-{12}\]  50%  reading 1,500 rows  [\d,]+ rows\/s  500 B \/ 1\.0 KB  \ds/);
    expect(text).toContain('committing 1,500 rows');
    expect(text).toMatch(/\x1b\[2K$/); // clearOnComplete: the bar leaves no line behind
    expect(progress.state).toEqual({ rows: 1500, bytes: 500, totalBytes: 1000, phase: 'committing' });
  });

  it('draws nothing off a terminal or when disabled, but still counts', async () => {
    for (const [isTTY, enabled] of [
      [false, true],
      [true, false],
    ] as const) {
      const out = terminal(isTTY);
      const progress = new ProgressBar(out.stream, enabled).start();
      progress.add(10, 100);
      await sleep(200);
      progress.stop();
      expect(out.text()).toBe('');
      expect(progress.state.rows).toBe(10);
      expect(progress.elapsed()).toBeGreaterThan(0);
    }
  });
});
