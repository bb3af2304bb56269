/**
 * DoPut ingest through our Node FlightClient into flightdeck (each repetition a new dataset,
 * dropped after), beside the peer's pyarrow figures for scale. Part of the ingest scenario.
 */
import { DATASET_SPEC } from '../bench-data.js';
import type { BenchRun } from '../bench-run.js';
import type { PutResult } from '../flight-results.js';
import { side, type Side } from '../report.js';
import { syncDisks } from '../servers.js';

export async function doputIngestNode(run: BenchRun, url: string, peerSide: Side): Promise<void> {
  if (run.cfg.reps.nodeIngest <= 0) return;
  const gen = run.gen;
  const nodeReps: PutResult[] = [];
  for (let i = 0; i < run.cfg.reps.nodeIngest; i++) {
    const name = `node_ingest_${i}`;
    await run.action(url, 'create_dataset', { name, ...DATASET_SPEC });
    syncDisks();
    const r = await run.node.request<PutResult>({ op: 'put', url, path: [name], file: gen.data.path });
    nodeReps.push({ seconds: r.seconds, rows: r.rows, bytes: r.bytes, result: r.result });
    await run.action(url, 'drop_dataset', { name });
  }
  run.record({
    id: 'ingest-node',
    title: `DoPut ingest ${(gen.data.rows / 1e6).toFixed(1)}M rows, Node FlightClient`,
    kind: 'throughput',
    fd: side('flightdeck DoPut (Node FlightClient)', nodeReps),
    peer: peerSide,
    target: null,
    notes: ['Peer column: pyarrow write_dataset with the pyarrow client (the same figures as above), for scale.'],
  });
}
