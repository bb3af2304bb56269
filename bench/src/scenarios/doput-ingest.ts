/**
 * DoPut ingest: the whole data into a new dataset, per repetition, timed from the call to its
 * PutResult (flightdeck: committed; the peer: write_dataset done and fsynced). The first
 * repetition stays as `bars`, the dataset every later scenario reads; this scenario also starts the
 * peer over it. Then the same through our Node FlightClient.
 */
import { join } from 'node:path';
import { DATASET, DATASET_SPEC, WARMUP } from '../bench-data.js';
import type { BenchRun } from '../bench-run.js';
import type { PutResult } from '../flight-results.js';
import { ioCounters } from '../processes.js';
import { formatBytes, side } from '../report.js';
import { fsyncedWriteRate, syncDisks } from '../servers.js';
import { summarize } from '../stats.js';
import { doputIngestNode } from './doput-ingest-node.js';

export async function doputIngest(run: BenchRun): Promise<void> {
  const fd = await run.startFd();
  const url = fd.info.url;
  const gen = run.gen;
  const n = gen.data.rows;
  const create = (name: string) => run.action(url, 'create_dataset', { name, ...DATASET_SPEC });
  // Warm-up (JIT, connections): the upsert file into a scratch dataset; then the small
  // unrelated dataset that warms every restarted server before a cold measurement.
  await create('scratch');
  await run.py.request({ op: 'put', url, path: ['scratch'], file: gen.upsert.path });
  await run.action(url, 'drop_dataset', { name: 'scratch' });
  await create(WARMUP);
  await run.py.request({ op: 'put', url, path: [WARMUP], file: gen.warmup.path });

  const fdReps: PutResult[] = [];
  const notes: string[] = [];
  for (let i = 0; i < run.cfg.reps.ingest; i++) {
    const name = i === 0 ? DATASET : `ingest_${i}`;
    await create(name);
    syncDisks();
    const r = await putWritten(run, fd.pid, { op: 'put', url, path: [name], file: gen.data.path });
    fdReps.push(r);
    const acked = (r.result as { rows?: number } | null)?.rows;
    if (acked !== n) notes.push(`rep ${i + 1}: PutResult says rows=${String(acked)}, sent ${n}`);
    if (i > 0) await run.action(url, 'drop_dataset', { name });
  }
  // INGEST_PARQUET=background acknowledges before Parquet exists; list_files waits for it, so the
  // peer (which reads flightdeck's Parquet files) and the later scenarios start from whole files.
  const mode = process.env.INGEST_PARQUET === 'background' ? 'background' : 'inline';
  const listStarted = performance.now();
  await run.action(url, 'list_files', { dataset: DATASET });
  const listSeconds = (performance.now() - listStarted) / 1000;
  const d = await run.describe();
  if (d.rows !== n) throw new Error(`after DoPut, describe_dataset(${DATASET}) reports ${d.rows} rows, expected ${n}`);
  run.meta.flightdeckDataset = { rows: d.rows, bytes: d.bytes, partitions: d.partitions.length, files: d.partitions.reduce((k, p) => k + p.files, 0) };

  // The peer: in-memory table, flightdeck's Parquet files, and its own write_dataset directory.
  await run.startPeer({ memory: gen.data.path, parquetDir: join(run.fdDataDir, DATASET), putDir: run.peerPutDir });
  const peerUrl = run.peerUrl();
  await run.py.request({ op: 'put', url: peerUrl, path: ['put', 'warmup'], file: gen.upsert.path });
  await run.action(peerUrl, 'drop', { name: 'warmup' });
  const peerReps: PutResult[] = [];
  for (let i = 0; i < run.cfg.reps.ingest; i++) {
    const name = i === 0 ? DATASET : `ingest_${i}`;
    syncDisks();
    const r = await putWritten(run, run.peer!.pid, { op: 'put', url: peerUrl, path: ['put', name], file: gen.data.path });
    peerReps.push(r);
    if (i > 0) await run.action(peerUrl, 'drop', { name });
  }
  run.peerIngested = true;
  // What bounds both sides: the bytes each must make durable, at the rate this disk makes them so.
  const fsyncRate = fsyncedWriteRate(run.fdDataDir);
  const written = (reps: PutResult[]) => formatBytes(summarize(reps.map((r) => Number(r.io_write_bytes ?? NaN))).median);
  const peerSide = side('pyarrow write_dataset (pyarrow client)', peerReps);
  run.record({
    id: 'ingest',
    title: `DoPut ingest ${(n / 1e6).toFixed(1)}M rows, new dataset`,
    kind: 'throughput',
    fd: side('flightdeck DoPut (pyarrow client)', fdReps),
    peer: peerSide,
    target: null,
    notes: [
      ...notes,
      'Timed from the DoPut call to its PutResult (flightdeck: committed; peer: write_dataset done and every file and directory fsynced). GB/s of Arrow bytes sent.',
      `Written to storage during the call (median, /proc/<pid>/io write_bytes; flightdeck's Parquet of the previous repetition, encoded in the background, included): flightdeck ${written(fdReps)}, peer ${written(peerReps)}. ` +
        `This machine makes written bytes durable at ${(fsyncRate / 1e6).toFixed(0)} MB/s (512 MiB written and fsynced, timed).`,
      mode === 'background'
        ? `flightdeck INGEST_PARQUET=background: acknowledged once the rows are durable as Arrow IPC (written and fsynced); Parquet encoded afterwards (list_files waited ${listSeconds.toFixed(1)} s after the last rep for the last Parquet of \`${DATASET}\`).`
        : 'flightdeck INGEST_PARQUET=inline (the default): Parquet encoded and fsynced before the commit.',
    ],
  });
  run.target('≥ 1.5× pyarrow write_dataset + fsync', (r) => r >= 1.5);

  await doputIngestNode(run, url, peerSide);
}

/** One DoPut through the pyarrow worker, with the bytes the server `pid` wrote to storage meanwhile. */
async function putWritten(run: BenchRun, pid: number, request: { op: 'put'; url: string; path: string[]; file: string }): Promise<PutResult> {
  const before = ioCounters(pid);
  const r = await run.py.request<PutResult>(request);
  const after = ioCounters(pid);
  const rep: PutResult = { seconds: r.seconds, rows: r.rows, bytes: r.bytes, result: r.result };
  if (before && after) rep.io_write_bytes = after.writeBytes - before.writeBytes;
  return rep;
}
