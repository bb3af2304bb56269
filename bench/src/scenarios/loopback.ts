/**
 * The loopback TCP ceiling: two Python processes moving bytes over 127.0.0.1 (bench/loopback.py),
 * the most any one Flight stream on this machine could reach. Not a server.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { BenchRun } from '../bench-run.js';
import { formatBytes, side } from '../report.js';
import type { Rep } from '../stats.js';

/** The ceiling's repetitions, measured now with bench/loopback.py (rows 0: bytes only). */
export function measureLoopback(run: BenchRun): Rep[] {
  const { python, root } = run.paths;
  const out = execFileSync(
    python,
    [join(root, 'bench', 'loopback.py'), '--bytes', String(run.cfg.loopbackBytes), '--reps', String(run.cfg.loopbackReps)],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const { reps } = JSON.parse(out) as { reps: { seconds: number; bytes: number }[] };
  return reps.map((r) => ({ seconds: r.seconds, rows: 0, bytes: r.bytes }));
}

export async function loopback(run: BenchRun): Promise<void> {
  const s = side('loopback TCP (Python sockets, one stream)', measureLoopback(run));
  const g = s.rates.gbps;
  run.record({
    id: 'loopback',
    title: `Loopback TCP limit (${formatBytes(run.cfg.loopbackBytes)}, 1 stream)`,
    kind: 'throughput',
    fd: s,
    peer: null,
    ratio: null,
    target: null,
    notes: ['Not a server: the ceiling any one Flight stream on 127.0.0.1 shares with its client.'],
    cells: { fd: `${g.median.toFixed(2)} GB/s${g.n > 1 ? ` (${g.min.toFixed(2)}–${g.max.toFixed(2)})` : ''}`, peer: '—' },
  });
}
