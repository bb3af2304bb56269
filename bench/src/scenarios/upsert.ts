/**
 * Upsert ingest: the overlapping batch (the latest minutes of every symbol, new prices) put again
 * into `bars`, whose keys it all replaces; the row count is checked after. The peer reads the
 * touched partitions, left-anti-joins them on (symbol, ts) and rewrites them.
 */
import { DATASET } from '../bench-data.js';
import type { BenchRun } from '../bench-run.js';
import type { PutResult } from '../flight-results.js';
import { side } from '../report.js';
import { syncDisks } from '../servers.js';

export async function upsert(run: BenchRun): Promise<void> {
  const gen = run.gen;
  const n = gen.data.rows;
  const m = gen.upsert.rows;
  const fdUrl = run.fdUrl();
  const fdReps: PutResult[] = [];
  const peerReps: PutResult[] = [];
  const notes: string[] = [];
  for (let i = 0; i < run.cfg.reps.upsert; i++) {
    syncDisks();
    const r = await run.py.request<PutResult>({ op: 'put', url: fdUrl, path: [DATASET], file: gen.upsert.path });
    fdReps.push({ seconds: r.seconds, rows: r.rows, bytes: r.bytes, result: r.result });
    if (run.peerIngested) {
      syncDisks();
      const p = await run.py.request<PutResult>({ op: 'put', url: run.peerUrl(), path: ['upsert', DATASET], file: gen.upsert.path });
      peerReps.push({ seconds: p.seconds, rows: p.rows, bytes: p.bytes, result: p.result });
    }
  }
  const d = await run.describe();
  if (d.rows !== n) notes.push(`after the upserts flightdeck holds ${d.rows} rows, expected ${n} (a key must not appear twice)`);
  const check = await run.get(fdUrl, { path: [DATASET] });
  if (check.rows !== n) notes.push(`after the upserts a full scan returns ${check.rows} rows, expected ${n}`);
  notes.push(
    `${m.toLocaleString('en-US')} rows (the latest minutes of every symbol, new prices) put again into the ${(n / 1e6).toFixed(1)}M-row dataset; ` +
      'the peer reads the touched date partitions, left-anti-joins them on (symbol, ts), rewrites them with write_dataset(delete_matching) and fsyncs.',
  );
  run.record({
    id: 'upsert',
    title: `Upsert ingest ${(m / 1e6).toFixed(2)}M overlapping rows`,
    kind: 'throughput',
    fd: side('flightdeck DoPut into the existing dataset', fdReps),
    peer: side('pyarrow read-merge-rewrite of the touched partitions', peerReps),
    target: null,
    notes,
  });
  run.target('≥ 1.5× the peer read-merge-rewrite', (r) => r >= 1.5);
}
