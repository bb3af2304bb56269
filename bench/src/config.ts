/**
 * The run's configuration from the command line (`npm run bench -- --quick`: npm hands everything
 * after `--` to the script). An option given without the `--` reaches us only as an
 * `npm_config_<name>` variable (npm takes it for its own config and warns); that is refused with
 * a message saying where the option goes, rather than silently running the 10-minute full run.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

export interface Repetitions {
  ingest: number;
  nodeIngest: number;
  cold: number;
  hot: number;
  selectiveCold: number;
  selectiveHot: number;
  concurrent: number;
  upsert: number;
}

export interface BenchConfig {
  mode: 'quick' | 'full';
  symbols: number;
  minutes: number;
  upsertRows: number;
  reps: Repetitions;
  streams: number;
  loopbackBytes: number;
  loopbackReps: number;
  graphqlRequests: number;
  /** CACHE_MB for flightdeck; null leaves the server's default. */
  cacheMb: number | null;
  keep: boolean;
  results: ResultsTarget;
  /** Scenario ids to run (null: all). */
  only: Set<string> | null;
}

/**
 * Where the report files (`<date>-<mode>.json`, `latest.md`) go: by default a new directory under
 * the OS temp dir (an ad-hoc run leaves the repository alone); `--save` is bench/results/, whose
 * latest.md the repository tracks; `--out DIR` any directory; `--print-only` nowhere.
 */
export type ResultsTarget = { kind: 'temp' } | { kind: 'save' } | { kind: 'dir'; dir: string } | { kind: 'none' };

export const SCENARIOS = ['loopback', 'ingest', 'cold', 'selective', 'hot', 'capacity', 'larger', 'concurrent', 'upsert', 'graphql', 'crawler'] as const;

export const USAGE = `npm run bench [-- options]

  --quick            50 symbols × 4,000 minutes, fewer repetitions (a minute or two)
  --reps N           repetitions of every scenario (default by scenario: full 2-10, quick 1-5)
  --symbols N        symbols in the generated data (default 500)
  --minutes N        1-minute bars per symbol (default 20,000)
  --cache-mb N       CACHE_MB for flightdeck (default: room for the whole dataset twice over)
  --scenarios=a,b    run only these (${SCENARIOS.join(', ')}); ingest too when one of them reads its dataset
  --keep             keep the temporary directory (data, DATA_DIR) and print its path
  --save             write the report into bench/results/ (<date>-<mode>.json, latest.md)
  --out DIR          write the report into DIR (relative to where npm was run)
  --print-only       write no report files

By default the report goes to a new directory <os temp dir>/flightdeck-bench/<timestamp>/,
printed at the end; the repository is left alone unless --save or --out says otherwise.
Options go after '--' (npm run bench -- --quick --reps 2).
`;

function positiveInt(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name}=${raw} must be a positive integer`);
  return n;
}

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): BenchConfig | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      reps: { type: 'string' },
      symbols: { type: 'string' },
      minutes: { type: 'string' },
      'cache-mb': { type: 'string' },
      scenarios: { type: 'string' },
      keep: { type: 'boolean' },
      save: { type: 'boolean' },
      out: { type: 'string' },
      'print-only': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  // `save` is left out: npm has a config of that name, so it is set from .npmrc files too.
  const leaked = ['quick', 'reps', 'symbols', 'minutes', 'cache-mb', 'scenarios', 'keep', 'out', 'print-only']
    .filter((name) => env[`npm_config_${name.replaceAll('-', '_')}`] !== undefined);
  if (leaked.length > 0) {
    throw new Error(`--${leaked[0]} reached npm, not the bench: put bench options after '--' (npm run bench -- --${leaked[0]})`);
  }
  if (values.help) return 'help';

  const quick = values.quick ?? false;
  const reps = positiveInt('reps', values.reps);
  const r = (full: number, q: number) => reps ?? (quick ? q : full);
  const symbols = positiveInt('symbols', values.symbols) ?? (quick ? 50 : 500);
  const minutes = positiveInt('minutes', values.minutes) ?? (quick ? 4_000 : 20_000);
  const onlyRaw = values.scenarios;
  const only = onlyRaw ? new Set(onlyRaw.split(',').map((s) => s.trim())) : null;
  for (const id of only ?? []) {
    if (!(SCENARIOS as readonly string[]).includes(id)) throw new Error(`--scenarios: unknown scenario "${id}" (${SCENARIOS.join(', ')})`);
  }
  const cacheRaw = values['cache-mb'];
  const chosen = [values.save && '--save', values.out !== undefined && '--out', values['print-only'] && '--print-only'].filter(Boolean);
  if (chosen.length > 1) throw new Error(`${chosen.join(' and ')} exclude each other`);
  if (values.out === '') throw new Error('--out needs a directory');
  const results: ResultsTarget = values.save
    ? { kind: 'save' }
    : values.out !== undefined
      ? { kind: 'dir', dir: resolve(env.INIT_CWD ?? process.cwd(), values.out) }
      : values['print-only']
        ? { kind: 'none' }
        : { kind: 'temp' };
  return {
    mode: quick ? 'quick' : 'full',
    symbols,
    minutes,
    upsertRows: Math.min(symbols * minutes, quick ? 20_000 : 1_000_000),
    reps: {
      ingest: r(3, 2),
      nodeIngest: r(2, 1),
      cold: r(3, 2),
      hot: r(5, 3),
      selectiveCold: r(3, 2),
      selectiveHot: r(10, 5),
      concurrent: r(3, 2),
      upsert: r(3, 2),
    },
    streams: 8,
    loopbackBytes: quick ? 500_000_000 : 2_000_000_000,
    loopbackReps: quick ? 2 : 3,
    graphqlRequests: quick ? 40 : 300,
    cacheMb: cacheRaw === undefined ? null : (positiveInt('cache-mb', cacheRaw) ?? null),
    keep: values.keep ?? false,
    results,
    only,
  };
}
