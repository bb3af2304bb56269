/**
 * DoGet full scan, cold: each repetition restarts flightdeck (warmed on an unrelated small dataset)
 * and drops the page cache, then the peer reads the same Parquet files with its page cache dropped.
 */
import { DATASET } from '../bench-data.js';
import type { BenchRun } from '../bench-run.js';
import { cpuPerScanNote, type GetResult } from '../flight-results.js';
import { formatBytes, side } from '../report.js';
import { summarize } from '../stats.js';

/** Waits until the Parquet files under flightdeck's dataset directory hold every row. */
async function checkPeerParquet(run: BenchRun): Promise<void> {
  const n = run.gen.data.rows;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const info = await run.action<{ files: number; rows: number; bytes: number }>(run.peerUrl(), 'parquet_info');
    if (info.rows === n) {
      run.meta.parquetFiles = info;
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`flightdeck's *.parquet files hold ${info.rows} rows, expected ${n} (superseded files, or Parquet not written yet)`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export async function dogetCold(run: BenchRun): Promise<void> {
  await checkPeerParquet(run);
  const n = run.gen.data.rows;
  const fdReps: GetResult[] = [];
  const peerReps: GetResult[] = [];
  const notes: string[] = [];
  for (let i = 0; i < run.cfg.reps.cold; i++) {
    await run.coldFd();
    fdReps.push(await run.fdGet({ path: [DATASET] }));
    run.cold();
    peerReps.push(await run.get(run.peerUrl(), { cmd: { source: 'parquet' } }, run.py, run.peer!.pid));
  }
  for (const [who, reps] of [['flightdeck', fdReps], ['peer', peerReps]] as const) {
    const bad = reps.filter((r) => r.rows !== n);
    if (bad.length) notes.push(`${who} returned ${bad.map((r) => r.rows).join(', ')} rows instead of ${n}`);
  }
  const ioNote = (reps: GetResult[]) => formatBytes(summarize(reps.map((r) => Number(r.io_read_bytes))).median);
  const reported = summarize(fdReps.map((r) => Number(r.reported_bytes_read)));
  if (reported.n > 0) notes.push(`flightdeck reports ${formatBytes(reported.median)} of Parquet read per cold scan (health.io.bytesRead).`);
  notes.push(
    `Each repetition: flightdeck restarted, warmed on an unrelated small dataset, page cache dropped; the peer's page cache dropped (it keeps nothing between requests). ` +
      `Read from disk (median, /proc/<pid>/io read_bytes): flightdeck ${ioNote(fdReps)}, peer ${ioNote(peerReps)}. ` +
      `Endpoints: flightdeck ${fdReps[0]?.endpoints}, peer ${peerReps[0]?.endpoints}.`,
  );
  notes.push(cpuPerScanNote([['flightdeck', fdReps], ['peer', peerReps]]));
  run.record({
    id: 'doget-cold',
    title: 'DoGet full scan, cold',
    kind: 'throughput',
    fd: side('flightdeck, restarted, page cache dropped (pyarrow client)', fdReps),
    peer: side('pyarrow.dataset over the same Parquet files, page cache dropped (pyarrow client)', peerReps),
    target: null,
    notes,
  });
  run.target('≥ 1.0× pyarrow reading the same Parquet', (r) => r >= 1);
}
