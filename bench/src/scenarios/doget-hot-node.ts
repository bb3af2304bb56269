/**
 * DoGet full scan, hot, through our Node FlightClient (arrow-js decoding every batch), beside the
 * peer's pyarrow figures for scale. Part of the hot scenario, on the cache it filled.
 */
import { DATASET } from '../bench-data.js';
import type { BenchRun } from '../bench-run.js';
import type { GetResult } from '../flight-results.js';
import { side, type Side } from '../report.js';

export async function dogetHotNode(run: BenchRun, fdUrl: string, peerSide: Side): Promise<void> {
  const nodeReps: GetResult[] = [];
  await run.get(fdUrl, { path: [DATASET] }, run.node);
  for (let i = 0; i < run.cfg.reps.hot; i++) nodeReps.push(await run.get(fdUrl, { path: [DATASET] }, run.node));
  run.record({
    id: 'doget-hot-node',
    title: 'DoGet full scan, hot, Node FlightClient',
    kind: 'throughput',
    fd: side('flightdeck, warm cache (Node FlightClient)', nodeReps),
    peer: peerSide,
    target: null,
    notes: ['Peer column: pyarrow in-memory with the pyarrow client (same figures as above), for scale. Bytes: the Arrow buffers of the batches arrow-js decoded.'],
  });
}
