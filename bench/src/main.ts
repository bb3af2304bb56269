/**
 * `npm run bench`: flightdeck against a pyarrow Flight server on the same data, on this machine, in
 * one run. Prints the table and the targets met or not, and writes <date>-<mode>.json and latest.md
 * into a new directory under the OS temp dir, or into bench/results/ with --save (see config.ts).
 * Creates the Python venv (scripts/setup-python.mjs) when missing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchRun } from './bench-run.js';
import { loadConfig, USAGE, type ResultsTarget } from './config.js';
import { killAllStarted } from './processes.js';
import { renderMarkdown, renderTargets, renderText, toJson, type BenchReport } from './report.js';
import { capacity } from './scenarios/capacity.js';
import { concurrentDoget } from './scenarios/concurrent-doget.js';
import { crawlerAppends } from './scenarios/crawler-appends.js';
import { dogetCold } from './scenarios/doget-cold.js';
import { dogetHot } from './scenarios/doget-hot.js';
import { dogetLargerThanCache } from './scenarios/doget-larger-than-cache.js';
import { doputIngest } from './scenarios/doput-ingest.js';
import { graphqlLatency } from './scenarios/graphql-latency.js';
import { loopback } from './scenarios/loopback.js';
import { selective } from './scenarios/selective.js';
import { upsert } from './scenarios/upsert.js';

const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const python = join(root, '.venv', 'bin', 'python');

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/** The directory the report files go to, or null for none. */
function resultsDir(target: ResultsTarget, date: string): string | null {
  switch (target.kind) {
    case 'temp':
      return join(tmpdir(), 'flightdeck-bench', `${date.slice(0, 19).replaceAll(':', '-')}Z`);
    case 'save':
      return join(root, 'bench', 'results');
    case 'dir':
      return target.dir;
    case 'none':
      return null;
    default: {
      const never: never = target;
      return never;
    }
  }
}

/** A path as the user would type it from here: relative inside the working directory, else absolute. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

function pyarrowVersion(): string {
  const r = spawnSync(python, ['-c', 'import pyarrow; print(pyarrow.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

async function main(): Promise<number> {
  let cfg;
  try {
    cfg = loadConfig(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (cfg === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }

  const setup = spawnSync(process.execPath, [join(root, 'scripts', 'setup-python.mjs')], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (setup.status !== 0) {
    process.stderr.write('bench: the Python venv could not be set up (scripts/setup-python.mjs)\n');
    return 1;
  }

  const tmp = mkdtempSync(join(tmpdir(), 'flightdeck-bench-'));
  const cleanup = () => {
    killAllStarted();
    if (!cfg.keep) rmSync(tmp, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`bench: ${signal}, stopping what it started\n`);
      cleanup();
      process.exit(130);
    });
  }

  const started = Date.now();
  const date = new Date().toISOString();
  const run = new BenchRun(cfg, { root, python, tmp });
  const cpuList = cpus();
  Object.assign(run.meta, {
    date,
    mode: cfg.mode,
    commit: git(['rev-parse', '--short', 'HEAD']) || 'unknown',
    dirty: git(['status', '--porcelain', '--untracked-files=no']) !== '',
    machine: `${cpuList.length} cores (${cpuList[0]?.model.trim() ?? 'unknown CPU'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${process.platform}, Node ${process.version}, pyarrow ${pyarrowVersion()}`,
    cpus: cpuList.length,
    loadavgStart: loadavg()[0],
    repetitions: cfg.reps,
  });

  let failure: unknown;
  try {
    await run.setup();
    if (cfg.only === null || cfg.only.has('loopback')) await run.scenario('loopback', 'loopback TCP limit', loopback);
    // The crawler makes its own dataset: a run of it alone skips the ingest the others read.
    const readsIngested = cfg.only === null || [...cfg.only].some((s) => s !== 'loopback' && s !== 'crawler');
    let ingested = false;
    if (readsIngested) {
      await run.scenario('ingest', 'DoPut ingest', async (r) => {
        await doputIngest(r);
        ingested = true;
      });
    }
    if (ingested) {
      await run.scenario('cold', 'DoGet full scan, cold', dogetCold);
      await run.scenario('selective', 'selective query', selective);
      await run.scenario('hot', 'DoGet full scan, hot', dogetHot);
      await run.scenario('capacity', 'server capacity, hot, byte-counting client', capacity);
      await run.scenario('larger', 'DoGet full scan, dataset larger than CACHE_MB', dogetLargerThanCache);
      await run.scenario('concurrent', 'concurrent DoGets', concurrentDoget);
      await run.scenario('upsert', 'upsert ingest', upsert);
      await run.scenario('graphql', 'GraphQL via gateway', graphqlLatency);
    } else if (readsIngested) {
      run.notes.push('The DoPut ingest failed, so no scenario that reads the dataset ran.');
    }
    await run.scenario('crawler', 'per-minute crawler appends', crawlerAppends);
  } catch (err) {
    failure = err;
  } finally {
    await run.close().catch(() => undefined);
  }

  run.meta.loadavgEnd = loadavg()[0];
  run.meta.scenarios = run.scenarioLog;
  const busy = run.scenarioLog.filter((s) => s.load > 3);
  if (busy.length > 0) {
    run.notes.unshift(
      `Other work shared the machine: the 1-minute load average before ${busy.map((s) => `${s.id} was ${s.load}`).join(', ')} ` +
        `(${cpuList.length} cores; the bench itself adds at most 2). Expect noise in those rows.`,
    );
  }
  run.meta.seconds = Math.round((Date.now() - started) / 1000);
  const day = date.slice(0, 10);
  const outDir = resultsDir(cfg.results, date);
  const jsonFile = `${day}-${cfg.mode}.json`;
  run.meta.jsonFile = jsonFile;
  const report: BenchReport = { meta: run.meta, rows: run.rows, notes: run.notes };

  const out = [
    '',
    `flightdeck vs pyarrow Flight — ${cfg.mode} run, ${String(run.meta.data ?? '')}`,
    `${String(run.meta.machine)}; commit ${String(run.meta.commit)}; ${String(run.meta.seconds)} s`,
    '',
    renderText(run.rows),
    '',
    'Targets:',
    ...renderTargets(run.rows).map((t) => `  ${t}`),
    '',
    ...(run.notes.length ? ['Notes:', ...run.notes.map((n) => `  - ${n}`), ''] : []),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  if (outDir !== null) {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, jsonFile), toJson(report));
    writeFileSync(join(outDir, 'latest.md'), renderMarkdown(report));
    process.stdout.write(`Wrote ${shown(join(outDir, jsonFile))} and ${shown(join(outDir, 'latest.md'))}\n`);
  }
  if (cfg.keep) process.stdout.write(`Kept ${tmp}\n`);
  cleanup();
  if (failure) {
    process.stderr.write(`bench: ${failure instanceof Error ? (failure.stack ?? failure.message) : String(failure)}\n`);
    return 1;
  }
  return 0;
}

process.exitCode = await main();
