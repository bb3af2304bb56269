/**
 * DoGet full scan, dataset larger than CACHE_MB (issue 14): flightdeck restarted with its default
 * hot cache (CACHE_MB unset) over a dataset whose IPC tier copy does not fit in it, scanned again
 * and again, against the peer decoding the same Parquet on every request. A cache that thrashes
 * must not make these scans slower than having no cache. When the data is not larger than the
 * default cache, the server gets a CACHE_MB of three quarters of the tier bytes (so a day's file
 * still fits the cache's per-entry share, as at full size), and the notes say so. The run's own server (and its CACHE_MB) is started again afterwards.
 */
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DATASET } from '../bench-data.js';
import type { BenchRun } from '../bench-run.js';
import { cpuPerScanNote, type CacheStats, type GetResult } from '../flight-results.js';
import { cpuSeconds } from '../processes.js';
import { formatBytes, side } from '../report.js';
import { summarize } from '../stats.js';

/** flight-server/src/config.ts: CACHE_MB's default. */
const DEFAULT_CACHE_MB = 512;
const MiB = 1024 * 1024;

type FullCacheStats = CacheStats & { evictions?: number; notAdmitted?: number };

/** Bytes of the IPC tier copies of the dataset's current files (what the hot cache would hold). */
async function tierBytes(run: BenchRun): Promise<number> {
  const listed = await run.action<{ files: { url: string }[] }>(run.fdUrl(), 'list_files', { dataset: DATASET });
  let bytes = 0;
  for (const f of listed.files) {
    const path = fileURLToPath(f.url);
    const at = path.lastIndexOf(`/${DATASET}/`) + DATASET.length + 2;
    const tier = `${path.slice(0, at)}_ipc/${path.slice(at).replace(/\.parquet$/, '.arrows')}`;
    try {
      bytes += statSync(tier).size;
    } catch {
      // A file without a tier copy is decoded from Parquet; it counts by its Parquet size.
      bytes += statSync(path).size;
    }
  }
  return bytes;
}

function counters(s: FullCacheStats | null): string {
  if (!s) return 'not reported';
  const admission = s.notAdmitted !== undefined ? `, ${s.notAdmitted} not admitted` : '';
  return `${s.hits} hits, ${s.misses} misses, ${s.evictions ?? '?'} evictions${admission}; ${s.entries ?? '?'} entries, ${formatBytes(s.bytes ?? NaN)} held`;
}

function delta(before: FullCacheStats | null, after: FullCacheStats | null): string {
  if (!before || !after) return 'not reported';
  const d = (k: 'hits' | 'misses' | 'evictions' | 'notAdmitted') => (after[k] ?? 0) - (before[k] ?? 0);
  return `${d('hits')} hits, ${d('misses')} misses, ${d('evictions')} evictions${after.notAdmitted !== undefined ? `, ${d('notAdmitted')} not admitted` : ''}`;
}

export async function dogetLargerThanCache(run: BenchRun): Promise<void> {
  const n = run.gen.data.rows;
  const tier = await tierBytes(run);
  const byDefault = tier > DEFAULT_CACHE_MB * MiB;
  const cacheMb = byDefault ? null : Math.max(1, Math.floor((tier * 3) / 4 / MiB));
  const notes: string[] = [];
  notes.push(
    byDefault
      ? `CACHE_MB unset (the default, ${DEFAULT_CACHE_MB} MiB); the dataset's IPC tier copies hold ${formatBytes(tier)}.`
      : `The data (IPC tier copies ${formatBytes(tier)}) fits the default CACHE_MB=${DEFAULT_CACHE_MB}, so the server ran with CACHE_MB=${cacheMb} (three quarters of it): the same shape, scaled down.`,
  );
  const saved = run.cacheMb;
  run.cacheMb = cacheMb;
  try {
    await run.startFd();
    const fdUrl = run.fdUrl();
    const peerUrl = run.peerUrl();
    const start = (await run.cacheStats()) as FullCacheStats | null;
    // Two untimed passes: whatever the cache keeps of repeated scans is in it by then.
    await run.get(fdUrl, { path: [DATASET] });
    await run.get(fdUrl, { path: [DATASET] });
    await run.get(peerUrl, { cmd: { source: 'parquet' } });
    const before = (await run.cacheStats()) as FullCacheStats | null;
    const fdReps: GetResult[] = [];
    const peerReps: GetResult[] = [];
    const cpu = { fd: 0, peer: 0 };
    for (let i = 0; i < run.cfg.reps.hot; i++) {
      let t = cpuSeconds(run.fd!.pid);
      fdReps.push(await run.get(fdUrl, { path: [DATASET] }, run.py, run.fd!.pid));
      cpu.fd += cpuSeconds(run.fd!.pid) - t;
      t = cpuSeconds(run.peer!.pid);
      peerReps.push(await run.get(peerUrl, { cmd: { source: 'parquet' } }, run.py, run.peer!.pid));
      cpu.peer += cpuSeconds(run.peer!.pid) - t;
    }
    const after = (await run.cacheStats()) as FullCacheStats | null;
    for (const [who, reps] of [['flightdeck', fdReps], ['peer', peerReps]] as const) {
      const bad = reps.filter((r) => r.rows !== n);
      if (bad.length) notes.push(`${who} returned ${bad.map((r) => r.rows).join(', ')} rows instead of ${n}`);
    }
    notes.push(`flightdeck cache after the restart: ${counters(start)}; after two untimed scans: ${counters(before)}; after the timed scans: ${counters(after)}.`);
    notes.push(`During the ${fdReps.length} timed scans: ${delta(before, after)}.`);
    const rchar = summarize(fdReps.map((r) => Number(r.io_rchar)));
    const peerRchar = summarize(peerReps.map((r) => Number(r.io_rchar)));
    const perScan = (s: number) => `${(s / Math.max(1, fdReps.length)).toFixed(2)} s`;
    // Steadier than wall time on a shared machine: what serving one scan costs each server.
    notes.push(`Server CPU per scan (user + system, mean): flightdeck ${perScan(cpu.fd)}, peer ${perScan(cpu.peer)}.`);
    notes.push(`Read from files per scan (median rchar, page cache or disk): flightdeck ${formatBytes(rchar.median)}, peer ${formatBytes(peerRchar.median)}.`);
    notes.push(cpuPerScanNote([['flightdeck', fdReps], ['peer', peerReps]]));
    run.record({
      id: 'doget-larger-than-cache',
      title: 'DoGet full scan, dataset larger than CACHE_MB (default config)',
      kind: 'throughput',
      fd: side(`flightdeck, CACHE_MB=${cacheMb ?? `${DEFAULT_CACHE_MB} (default)`}, repeated scans (pyarrow client)`, fdReps),
      peer: side('pyarrow.dataset over the same Parquet files, per request (pyarrow client)', peerReps),
      target: null,
      notes,
    });
    run.target('≥ 2.0× the peer decoding the same Parquet', (r) => r >= 2);
  } finally {
    run.cacheMb = saved;
    await run.startFd();
  }
}
