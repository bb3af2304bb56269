/**
 * The per-minute crawler (issue 11, "a crawler's own history must not slow it down"): one DoPut of
 * one minute of bars for 500 symbols per commit into a new day-partitioned dataset, through the
 * Node FlightClient, one after another as fast as the server commits (10,000 commits; --quick
 * 1,000). At 100, 1,000 and 10,000 commits it records the commit latency (p50 of the commits since
 * the last checkpoint), a read of one symbol's whole history beside the same read of the same rows
 * written in one commit, files per partition, the catalog's bytes on disk (and per commit since the
 * last checkpoint) and the server's RSS, and checks the targets against the first row.
 * flightdeck only: the peer keeps no versions.
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

interface Checkpoint {
  at: number;
  p50Ms: number;
  historyS: number;
  oneCommitS: number;
  catalog: number;
  catalogPerCommit: number;
  dataset: number;
  rss: number;
  p99Ms: number;
  historyReads: Awaited<ReturnType<typeof historyRead>>['reads'];
  files: number[];
  versions: number;
  partitions: number;
  /** What the hot cache held (bounded by CACHE_MB): RSS beyond it is what must stay flat. */
  cacheBytes: number;
}

/** Median of three reads of one symbol's whole history. */
async function historyRead(run: BenchRun, url: string, dataset: string, expectRows: number) {
  const reads = [];
  for (let i = 0; i < 3; i++) reads.push(await run.get(url, { cmd: { dataset, symbols: ['S0007'] } }, run.node));
  const median = [...reads].sort((a, b) => a.seconds - b.seconds)[1]!;
  if (median.rows !== expectRows) run.notes.push(`crawler: one symbol's history in ${dataset} read ${median.rows} rows, expected ${expectRows}`);
  return { reads, median };
}

/**
 * The targets: the latest checkpoint against the first (commit p50) and against a warm one
 * (catalog bytes per commit and RSS: 1,000 commits in a full run, 100 in a quick one).
 */
function targetOf(now: Checkpoint, first: Checkpoint, warm: Checkpoint) {
  const checks = [
    { ok: now.catalog <= now.dataset, text: `catalog ${formatBytes(now.catalog)} ≤ data ${formatBytes(now.dataset)}` },
    { ok: now.catalogPerCommit <= 1.5 * warm.catalogPerCommit, text: `catalog ${Math.round(now.catalogPerCommit)} B/commit vs ${Math.round(warm.catalogPerCommit)} B up to ${warm.at}` },
    { ok: now.p50Ms <= 2 * first.p50Ms, text: `commit p50 ${now.p50Ms.toFixed(1)} ms vs ${first.p50Ms.toFixed(1)} ms at ${first.at}` },
    { ok: now.historyS <= 2 * now.oneCommitS, text: `history ${(now.historyS * 1000).toFixed(0)} ms vs ${(now.oneCommitS * 1000).toFixed(0)} ms in one commit` },
    { ok: now.rss - now.cacheBytes <= 1.25 * (warm.rss - warm.cacheBytes), text: `RSS beside the cache ${formatBytes(now.rss - now.cacheBytes)} vs ${formatBytes(warm.rss - warm.cacheBytes)} at ${warm.at}` },
  ];
  return {
    text: `catalog ≤ data, B/commit ≤ 1.5× and RSS beside the hot cache ≤ 1.25× those at ${warm.at}; commit p50 ≤ 2× at ${first.at}; history ≤ 2× one commit`,
    measured: checks.map((c) => `${c.ok ? '' : 'NOT: '}${c.text}`).join('; '),
    met: checks.every((c) => c.ok),
  };
}

export async function crawlerAppends(run: BenchRun): Promise<void> {
  const fd = run.fd?.running ? run.fd : await run.startFd();
  const url = fd.info.url;
  const ONCE = `${NAME}_once`;
  for (const name of [NAME, ONCE]) await run.action(url, 'drop_dataset', { name }).catch(() => undefined);
  await run.action(url, 'create_dataset', { name: NAME, ...DATASET_SPEC });
  const stops = run.cfg.mode === 'quick' ? [100, 1_000] : [100, 1_000, 10_000];
  const seen: Checkpoint[] = [];
  let done = 0;
  for (const at of stops) {
    run.log(`crawler: commits ${done + 1}..${at}`);
    // In requests of at most 1,000 commits, each well inside the client worker's answer timeout.
    const appended = { seconds: [] as number[] };
    for (let from = done; from < at; from += 1_000) {
      const part = await run.node.request<{ seconds: number[] }>({
        op: 'append',
        url,
        path: [NAME],
        symbols: SYMBOLS,
        startNs: String(START_NS + BigInt(from) * MINUTE_NS),
        count: Math.min(1_000, at - from),
      });
      appended.seconds.push(...part.seconds);
    }
    const since = at - done;
    done = at;
    const history = await historyRead(run, url, NAME, at);
    const d = await run.action<Describe>(url, 'describe_dataset', { name: NAME });
    const files = d.partitions.map((p) => p.files);
    const catalog = dirBytes(join(run.fdDataDir, NAME, '_catalog'));
    const dataset = dirBytes(join(run.fdDataDir, NAME));
    const rss = rssBytes(fd.pid);
    const health = await run.action<{ cache: { bytes: number; capacityBytes: number } }>(url, 'health', {});
    const p50 = percentile(appended.seconds, 50) * 1000;
    const p99 = percentile(appended.seconds, 99) * 1000;
    const previous = seen.at(-1);
    const point: Checkpoint = {
      at,
      p50Ms: p50,
      historyS: history.median.seconds,
      oneCommitS: NaN, // measured after the run: a big one-commit put would raise the RSS samples
      p99Ms: p99,
      historyReads: history.reads,
      files,
      versions: d.version,
      partitions: d.partitions.length,
      catalog,
      catalogPerCommit: (catalog - (previous?.catalog ?? 0)) / since,
      dataset,
      rss,
      cacheBytes: health.cache.bytes,
    };
    seen.push(point);
  }

  // The same rows in one commit, in a dataset of their own, read the same way; after the run, so
  // the RSS samples above see only the crawler.
  for (const point of seen) {
    await run.action(url, 'create_dataset', { name: ONCE, ...DATASET_SPEC });
    await run.node.request({ op: 'append', url, path: [ONCE], symbols: SYMBOLS, startNs: String(START_NS), count: point.at, oneCommit: true });
    point.oneCommitS = (await historyRead(run, url, ONCE, point.at)).median.seconds;
    await run.action(url, 'drop_dataset', { name: ONCE });
  }
  for (const [i, point] of seen.entries()) {
    const { at, p50Ms: p50, p99Ms: p99, catalog, dataset, rss, files } = point;
    const since = at - (seen[i - 1]?.at ?? 0);
    // Bytes per commit and RSS against the second row once there are three (a full run), else the first.
    const target = i >= 1 ? targetOf(point, seen[0]!, i >= 2 ? seen[1]! : seen[0]!) : null;
    run.record({
      id: `crawler-${at}`,
      title: `Crawler, ${at.toLocaleString('en-US')} commits of ${SYMBOLS} rows`,
      kind: 'latency',
      fd: side("one symbol's history read (median of 3)", point.historyReads, {
        commitP50Ms: p50,
        commitP99Ms: p99,
        oneCommitReadMs: point.oneCommitS * 1000,
        filesPerPartition: files,
        catalogBytes: catalog,
        catalogBytesPerCommit: point.catalogPerCommit,
        datasetBytes: dataset,
        rssBytes: rss,
        cacheBytes: point.cacheBytes,
        version: point.versions,
      }),
      peer: null,
      target,
      cells: {
        fd:
          `commit p50 ${p50.toFixed(1)} ms (p99 ${p99.toFixed(0)}) · history read ${(point.historyS * 1000).toFixed(0)} ms vs ${(point.oneCommitS * 1000).toFixed(0)} ms in one commit · ` +
          `≤ ${Math.max(...files)} files/partition · catalog ${formatBytes(catalog)} (${Math.round(point.catalogPerCommit)} B/commit) · RSS ${formatBytes(rss)} (hot cache ${formatBytes(point.cacheBytes)})`,
        peer: '—',
      },
      notes: [
        `Commits ${since} since the last row; ${point.versions} versions (background compactions included), ` +
          `${point.partitions} day partitions up to ${iso(START_NS + BigInt(at - 1) * MINUTE_NS)}, files per partition ${files.join(', ')}; dataset ${formatBytes(dataset)} on disk.`,
      ],
    });
  }
  await run.action(url, 'drop_dataset', { name: NAME });
}
