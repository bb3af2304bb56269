/**
 * The per-minute crawler (issue 11, "a crawler's own history must not slow it down"): one DoPut of
 * one minute of bars for 500 symbols per commit into a new day-partitioned dataset, through the
 * Node FlightClient, one after another as fast as the server commits (10,000 commits; --quick
 * 1,000). At 100, 1,000 and 10,000 commits it records the commit latency (p50 of the commits since
 * the last checkpoint), a read of one symbol's whole history, files per partition, the catalog's
 * bytes on disk and the server's RSS. flightdeck only: the peer keeps no versions.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DATASET_SPEC, iso } from '../bench-data.js';
import type { BenchRun } from '../bench-run.js';
import type { Describe } from '../flight-results.js';
import { formatBytes, side } from '../report.js';
import { percentile } from '../stats.js';

const NAME = 'crawler';
const SYMBOLS = 500;
const START_NS = 1_704_067_200_000_000_000n; // 2024-01-01T00:00:00Z
const MINUTE_NS = 60_000_000_000n;

function dirBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? dirBytes(path) : statSync(path).size;
  }
  return total;
}

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

export async function crawlerAppends(run: BenchRun): Promise<void> {
  const fd = run.fd?.running ? run.fd : await run.startFd();
  const url = fd.info.url;
  await run.action(url, 'drop_dataset', { name: NAME }).catch(() => undefined);
  await run.action(url, 'create_dataset', { name: NAME, ...DATASET_SPEC });
  const checkpoints = run.cfg.mode === 'quick' ? [100, 1_000] : [100, 1_000, 10_000];
  let done = 0;
  for (const at of checkpoints) {
    run.log(`crawler: commits ${done + 1}..${at}`);
    const appended = await run.node.request<{ seconds: number[] }>({
      op: 'append',
      url,
      path: [NAME],
      symbols: SYMBOLS,
      startNs: String(START_NS + BigInt(done) * MINUTE_NS),
      count: at - done,
    });
    done = at;
    const reads = [];
    for (let i = 0; i < 3; i++) reads.push(await run.get(url, { cmd: { dataset: NAME, symbols: ['S0007'] } }, run.node));
    const history = reads.sort((a, b) => a.seconds - b.seconds)[1]!;
    const d = await run.action<Describe>(url, 'describe_dataset', { name: NAME });
    const files = d.partitions.map((p) => p.files);
    const catalog = dirBytes(join(run.fdDataDir, NAME, '_catalog'));
    const dataset = dirBytes(join(run.fdDataDir, NAME));
    const rss = rssBytes(fd.pid);
    const p50 = percentile(appended.seconds, 50) * 1000;
    const p99 = percentile(appended.seconds, 99) * 1000;
    if (history.rows !== at) run.notes.push(`crawler: one symbol's history after ${at} commits read ${history.rows} rows, expected ${at}`);
    run.record({
      id: `crawler-${at}`,
      title: `Crawler, ${at.toLocaleString('en-US')} commits of ${SYMBOLS} rows`,
      kind: 'latency',
      fd: side("one symbol's history read (median of 3)", reads, { commitP50Ms: p50, commitP99Ms: p99, filesPerPartition: files, catalogBytes: catalog, datasetBytes: dataset, rssBytes: rss, version: d.version }),
      peer: null,
      target: null,
      cells: {
        fd:
          `commit p50 ${p50.toFixed(1)} ms (p99 ${p99.toFixed(0)}) · history read ${(history.seconds * 1000).toFixed(0)} ms (median of 3) · ` +
          `≤ ${Math.max(...files)} files/partition · catalog ${formatBytes(catalog)} · RSS ${formatBytes(rss)}`,
        peer: '—',
      },
      notes: [
        `Commits ${at - (checkpoints[checkpoints.indexOf(at) - 1] ?? 0)} since the last row; ${d.version} versions (background compactions included), ` +
          `${d.partitions.length} day partitions up to ${iso(START_NS + BigInt(at - 1) * MINUTE_NS)}, files per partition ${files.join(', ')}; dataset ${formatBytes(dataset)} on disk.`,
      ],
    });
  }
  await run.action(url, 'drop_dataset', { name: NAME });
}
