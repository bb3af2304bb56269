/**
 * Concurrent DoGets, hot: `streams` pyarrow clients (one channel each, in one process) each reading
 * the whole dataset at once; aggregate bytes over wall time.
 */
import { DATASET } from '../bench-data.js';
import type { BenchRun } from '../bench-run.js';
import type { Descriptor } from '../flight-results.js';
import { side } from '../report.js';
import type { Rep } from '../stats.js';

export async function concurrentDoget(run: BenchRun): Promise<void> {
  const streams = run.cfg.streams;
  const fdUrl = run.fdUrl();
  const peerUrl = run.peerUrl();
  const fdReps: Rep[] = [];
  const peerReps: Rep[] = [];
  const get = (url: string, descriptor: Descriptor) => run.py.request<Rep>({ op: 'concurrent', url, descriptor, streams });
  for (let i = 0; i < run.cfg.reps.concurrent; i++) {
    const f = await get(fdUrl, { path: [DATASET] });
    fdReps.push({ seconds: f.seconds, rows: f.rows, bytes: f.bytes });
    const p = await get(peerUrl, { cmd: { source: 'memory' } });
    peerReps.push({ seconds: p.seconds, rows: p.rows, bytes: p.bytes });
  }
  run.record({
    id: 'concurrent',
    title: `${streams} concurrent full-scan DoGets, hot (aggregate)`,
    kind: 'throughput',
    fd: side('flightdeck, warm cache', fdReps),
    peer: side('pyarrow in-memory table', peerReps),
    target: null,
    notes: [`${streams} pyarrow clients (one channel each) in one process, each reading the whole dataset; aggregate bytes over wall time.`],
  });
}
