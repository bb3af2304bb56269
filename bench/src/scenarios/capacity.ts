/**
 * Server capacity, hot: flightdeck with its cache filled (as in doget-hot.ts), read by a client that
 * only counts bytes (count-bytes-client.ts: node:http2, no decoding, the largest windows), against
 * the loopback TCP ceiling of the same run. The loopback row is taken from the run when that
 * scenario ran, else measured here the same way. Target: at least half the ceiling.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { FlightClient, pathDescriptor } from '@flightdeck/proto';
import { DATASET } from '../bench-data.js';
import type { BenchRun } from '../bench-run.js';
import { cpuSeconds } from '../processes.js';
import { formatBytes, side } from '../report.js';
import type { Rep } from '../stats.js';
import { measureLoopback } from './loopback.js';

interface CountedRep {
  seconds: number;
  bytes: number;
  cpuSeconds: number;
}

/** The loopback ceiling's reps: the earlier row of this run, or measured now with bench/loopback.py. */
function loopbackReps(run: BenchRun): { reps: Rep[]; source: string } {
  const row = run.rows.find((r) => r.id === 'loopback' && r.fd !== null);
  if (row?.fd) return { reps: row.fd.reps, source: 'the loopback row of this run' };
  return { reps: measureLoopback(run), source: 'bench/loopback.py, run by this scenario' };
}

/**
 * Scans the byte-counting client makes before the timed ones. A fresh Node process reads its first
 * few 520 MB scans at about half its steady speed while its JIT and heap settle (2026-12-06, idle
 * machine: 2.2–2.4 GB/s for scans 1–4, then 3.7–4.5 GB/s), and its steady speed is what says how
 * much the server can send.
 */
const WARM_UP_SCANS = 4;

export async function capacity(run: BenchRun): Promise<void> {
  const fdUrl = run.fdUrl();
  // Fill the cache as the hot scenario does (a no-op when it already ran).
  await run.get(fdUrl, { path: [DATASET] });
  await run.get(fdUrl, { path: [DATASET] });
  const client = new FlightClient(fdUrl);
  let tickets: string[];
  try {
    const info = await client.getFlightInfo(pathDescriptor(DATASET));
    tickets = info.endpoint.map((e) => Buffer.from(e.ticket!.ticket).toString('base64'));
  } finally {
    client.close();
  }
  const { root } = run.paths;
  const reps = run.cfg.reps.hot;
  const scans = WARM_UP_SCANS + reps;
  const before = await run.cacheStats();
  const cpu0 = cpuSeconds(run.fd!.pid);
  const out = execFileSync(process.execPath, ['--import', 'tsx', join(root, 'bench', 'src', 'count-bytes-client.ts'), fdUrl, String(scans), ...tickets], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
    timeout: 30 * 60_000,
  });
  const serverCpu = cpuSeconds(run.fd!.pid) - cpu0;
  const after = await run.cacheStats();
  const all = (JSON.parse(out) as { reps: CountedRep[] }).reps;
  const warmUp = all.slice(0, WARM_UP_SCANS);
  const counted = all.slice(WARM_UP_SCANS);
  const fdSide = side(
    'flightdeck, warm cache (byte-counting node:http2 client)',
    counted.map((r) => ({ seconds: r.seconds, rows: run.gen.data.rows, bytes: r.bytes })),
  );
  const ceiling = loopbackReps(run);
  const ceilingSide = side('loopback TCP (Python sockets, one stream)', ceiling.reps);
  const ratio = fdSide.rates.gbps.median / ceilingSide.rates.gbps.median;
  const notes = [
    `Bytes are HTTP/2 DATA bytes (gRPC framing and FlightData protobuf included), not Arrow buffers; ${formatBytes(counted[0]?.bytes ?? 0)} per scan. Ceiling: ${ceiling.source}.`,
    `Client CPU per scan ${median(counted.map((r) => r.cpuSeconds)).toFixed(2)} s; flightdeck CPU ${(serverCpu / scans).toFixed(2)} s per scan (all ${scans} scans).`,
    `The client's first ${WARM_UP_SCANS} scans warm it up and are not counted: ${warmUp.map((r) => `${(r.bytes / r.seconds / 1e9).toFixed(2)} GB/s (client CPU ${r.cpuSeconds.toFixed(2)} s)`).join(', ')}.`,
  ];
  if (before && after && after.misses > before.misses) notes.push(`flightdeck missed its cache ${after.misses - before.misses} times during these scans.`);
  run.record({
    id: 'capacity',
    title: 'Server capacity, hot, byte-counting client vs loopback TCP',
    kind: 'throughput',
    fd: fdSide,
    peer: ceilingSide,
    ratio,
    target: null,
    notes,
    cells: {
      fd: `${fdSide.rates.gbps.median.toFixed(2)} GB/s${fdSide.rates.gbps.n > 1 ? ` (${fdSide.rates.gbps.min.toFixed(2)}–${fdSide.rates.gbps.max.toFixed(2)})` : ''}`,
      peer: `${ceilingSide.rates.gbps.median.toFixed(2)} GB/s (loopback TCP)`,
    },
  });
  run.target('≥ 50% of the loopback TCP ceiling', (r) => r >= 0.5);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[s.length >> 1]!;
}
