/**
 * DoGet full scan, hot: flightdeck with its cache filled (the `health` cache hits and misses during
 * the timed repetitions checked) against the peer's in-memory table; then the same through our
 * Node FlightClient.
 */
import { DATASET } from '../bench-data.js';
import type { BenchRun } from '../bench-run.js';
import { cpuPerScanNote, type GetResult } from '../flight-results.js';
import { formatBytes, side } from '../report.js';
import { summarize } from '../stats.js';
import { dogetHotNode } from './doget-hot-node.js';

/** What a scan spent waiting for each endpoint's first batch, as a share of the scan (medians). */
function endpointWait(reps: GetResult[], who: string): string {
  const wait = summarize(reps.map((r) => r.endpoint_wait_seconds)).median;
  const scan = summarize(reps.map((r) => r.seconds)).median;
  const endpoints = reps[0]?.endpoints ?? 0;
  return `${who} waited ${(wait * 1000).toFixed(1)} ms for the first batches of its ${endpoints} endpoint${endpoints === 1 ? '' : 's'} (${((100 * wait) / scan).toFixed(0)}% of the ${(scan * 1000).toFixed(0)} ms scan)`;
}

export async function dogetHot(run: BenchRun): Promise<void> {
  const n = run.gen.data.rows;
  const fdUrl = run.fdUrl();
  const peerUrl = run.peerUrl();
  // Fill flightdeck's cache; warm the peer's path too.
  await run.get(fdUrl, { path: [DATASET] });
  await run.get(fdUrl, { path: [DATASET] });
  await run.get(peerUrl, { cmd: { source: 'memory' } });
  const before = await run.cacheStats();
  const fdReps: GetResult[] = [];
  const peerReps: GetResult[] = [];
  for (let i = 0; i < run.cfg.reps.hot; i++) {
    fdReps.push(await run.get(fdUrl, { path: [DATASET] }, run.py, run.fd!.pid));
    peerReps.push(await run.get(peerUrl, { cmd: { source: 'memory' } }, run.py, run.peer!.pid));
  }
  const after = await run.cacheStats();
  const notes: string[] = [];
  const bad = [...fdReps, ...peerReps].filter((r) => r.rows !== n);
  if (bad.length) notes.push(`wrong row counts: ${bad.map((r) => r.rows).join(', ')} (expected ${n})`);
  if (before && after) {
    const misses = after.misses - before.misses;
    notes.push(`flightdeck cache during the timed reps: ${after.hits - before.hits} hits, ${misses} misses (CACHE_MB=${run.cacheMb}).`);
    if (misses > 0) notes.push('flightdeck missed its cache during "hot" repetitions: not everything was served from memory.');
  }
  const disk = summarize(fdReps.map((r) => Number(r.io_rchar)));
  notes.push(`flightdeck read ${formatBytes(disk.median)} from files per hot scan (median rchar).`);
  notes.push(`${endpointWait(fdReps, 'flightdeck')}; ${endpointWait(peerReps, 'peer')}. Each endpoint is one DoGet: its call, the server's start and the first message's transfer, while the client's flow-control window opens, come before its first batch.`);
  notes.push(cpuPerScanNote([['flightdeck', fdReps], ['peer', peerReps]]));
  const peerSide = side('pyarrow, in-memory table (pyarrow client)', peerReps);
  run.record({
    id: 'doget-hot',
    title: 'DoGet full scan, hot',
    kind: 'throughput',
    fd: side('flightdeck, warm cache (pyarrow client)', fdReps),
    peer: peerSide,
    target: null,
    notes,
  });
  run.target('≥ 1.0× pyarrow serving an in-memory table', (r) => r >= 1);

  await dogetHotNode(run, fdUrl);
}
