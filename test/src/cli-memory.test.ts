/**
 * A 2M-row CSV put through the CLI with bounded memory: the file (~120 MB) is streamed in
 * batches, so the CLI's peak RSS stays far below what holding it whole as JS values and Arrow
 * would take. Prints rows/s and peak RSS (from /usr/bin/time -v when present, else the CLI's own
 * `max_rss_bytes`).
 */
import { createWriteStream, existsSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFlightdeck, startServer, tempDir, type ServerProcess } from './cli-harness.js';

const ROWS = 2_000_000;
const SYMBOLS = 100;
const GiB = 1024 ** 3;

let server: ServerProcess;
let dir: Awaited<ReturnType<typeof tempDir>>;

async function writeCsv(path: string): Promise<void> {
  const out = createWriteStream(path);
  out.write('symbol,ts,open,high,low,close,volume\n');
  const t0 = Date.UTC(2024, 0, 1);
  for (let i = 0; i < ROWS; ) {
    let chunk = '';
    for (let k = 0; k < 5000 && i < ROWS; k++, i++) {
      const minute = Math.floor(i / SYMBOLS);
      const s = i % SYMBOLS;
      const p = 100 + s + (minute % 97) * 0.25;
      chunk += `S${s},${new Date(t0 + minute * 60_000).toISOString()},${p},${p + 1},${p - 1},${p + 0.5},${1000 + minute}\n`;
    }
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

beforeAll(async () => {
  dir = await tempDir('fd-cli-memory-');
  server = await startServer(join(dir.path, 'data'));
});

afterAll(async () => {
  await server?.stop();
  await dir?.remove();
});

describe('a 2M-row CSV put', () => {
  it('streams with bounded memory and reports its throughput', { timeout: 900_000 }, async () => {
    const csv = join(dir.path, 'big.csv');
    await writeCsv(csv);
    const time = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
    const r = await runFlightdeck(['put', csv, '--dataset', 'big', '--create', '--time-column', 'ts', '--key', 'symbol', '--json'], {
      url: server.url,
      ...(time === undefined ? {} : { timeWrapper: time }),
    });
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { rows: number; rows_per_s: number; seconds: number; bytes_read: number; version: number; max_rss_bytes: number };
    expect(summary.rows).toBe(ROWS);
    expect(summary.version).toBe(1);
    const timeRss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr);
    const peak = timeRss ? Number(timeRss[1]) * 1024 : summary.max_rss_bytes;
    const cpu = /User time \(seconds\): ([\d.]+)[\s\S]*System time \(seconds\): ([\d.]+)/.exec(r.stderr);
    const cpuSeconds = cpu ? Number(cpu[1]) + Number(cpu[2]) : null;
    console.log(
      `2M-row CSV put: ${(summary.bytes_read / 1e6).toFixed(1)} MB in ${summary.seconds.toFixed(1)} s, ${summary.rows_per_s.toLocaleString('en-US')} rows/s, ` +
        `peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB (${timeRss ? '/usr/bin/time -v' : 'process.resourceUsage'})` +
        (cpuSeconds === null ? '' : `, CLI CPU ${cpuSeconds.toFixed(1)} s (${Math.round(ROWS / cpuSeconds).toLocaleString('en-US')} rows per CPU-second)`),
    );
    expect(peak).toBeLessThan(1 * GiB);
    const d = await runFlightdeck(['describe', 'big', '--json'], { url: server.url });
    expect((JSON.parse(d.stdout) as { rows: number }).rows).toBe(ROWS);
  });
});
