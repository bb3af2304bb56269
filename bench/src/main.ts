/**
 * `npm run bench`: flightdeck against a pyarrow Flight server on the same data, on this machine, in
 * one run. Prints the table, the targets met or not, and writes bench/results/<date>-<mode>.json
 * and bench/results/latest.md. Creates the Python venv (scripts/setup-python.mjs) when missing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BenchRun } from './bench-run.js';
import { loadConfig, USAGE } from './config.js';
import { killAllStarted } from './processes.js';
import { renderMarkdown, renderTargets, renderText, toJson, type BenchReport } from './report.js';

const root = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const python = join(root, '.venv', 'bin', 'python');

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
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
    if (cfg.only === null || cfg.only.has('loopback')) await run.scenario('loopback', 'loopback TCP limit', () => run.loopback());
    let ingested = false;
    await run.scenario('ingest', 'DoPut ingest', async () => {
      await run.ingest();
      ingested = true;
    });
    if (ingested) {
      await run.scenario('cold', 'DoGet full scan, cold', () => run.coldScan());
      await run.scenario('selective', 'selective query', () => run.selective());
      await run.scenario('hot', 'DoGet full scan, hot', () => run.hotScan());
      await run.scenario('concurrent', 'concurrent DoGets', () => run.concurrent());
      await run.scenario('upsert', 'upsert ingest', () => run.upsert());
      await run.scenario('graphql', 'GraphQL via gateway', () => run.graphql());
    } else {
      run.notes.push('The DoPut ingest failed, so no scenario that reads the dataset ran.');
    }
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
  const resultsDir = join(root, 'bench', 'results');
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
  if (cfg.save) {
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(join(resultsDir, jsonFile), toJson(report));
    writeFileSync(join(resultsDir, 'latest.md'), renderMarkdown(report));
    process.stdout.write(`Saved ${relative(process.cwd(), join(resultsDir, jsonFile))} and ${relative(process.cwd(), join(resultsDir, 'latest.md'))}\n`);
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
