/**
 * DoGet full scan, hot, through our Node FlightClient (arrow-js decoding every batch) against the
 * pyarrow client reading the same warm flightdeck server, repetitions alternating between the two
 * clients (issue 14's target: the Node client at least 0.8× the pyarrow client). Part of the hot
 * scenario, on the cache it filled.
 */
import { DATASET } from '../bench-data.js';
import type { BenchRun } from '../bench-run.js';
import type { GetResult } from '../flight-results.js';
import { side } from '../report.js';

export async function dogetHotNode(run: BenchRun, fdUrl: string): Promise<void> {
  const nodeReps: GetResult[] = [];
  const pyReps: GetResult[] = [];
  await run.get(fdUrl, { path: [DATASET] }, run.node);
  for (let i = 0; i < run.cfg.reps.hot; i++) {
    nodeReps.push(await run.get(fdUrl, { path: [DATASET] }, run.node));
    pyReps.push(await run.get(fdUrl, { path: [DATASET] }, run.py));
  }
  const n = run.gen.data.rows;
  const bad = [...nodeReps, ...pyReps].filter((r) => r.rows !== n);
  run.record({
    id: 'doget-hot-node',
    title: 'DoGet full scan, hot, Node FlightClient vs the pyarrow client',
    kind: 'throughput',
    fd: side('flightdeck, warm cache (Node FlightClient)', nodeReps),
    peer: side('flightdeck, warm cache (pyarrow client)', pyReps),
    target: null,
    notes: [
      ...(bad.length ? [`wrong row counts: ${bad.map((r) => r.rows).join(', ')} (expected ${n})`] : []),
      'Both columns read the same flightdeck server, repetitions alternating between the clients: the ratio is the Node client over the pyarrow client. Bytes: the Arrow buffers of the batches each client decoded.',
      `Both clients ran with GLIBC_TUNABLES=${String((run.meta.clientEnv as { GLIBC_TUNABLES?: string } | undefined)?.GLIBC_TUNABLES ?? '')} (the server's allocator setting): on a VM whose page faults are slow, fresh receive buffers bound either client (docs/configuration.md, "Memory allocator").`,
    ],
  });
  run.target('≥ 0.8× the pyarrow client on the same server', (r) => r >= 0.8);
}
