/**
 * The run's configuration from the command line. npm turns flags it does not know into
 * `npm_config_<name>` variables (`npm run bench -- --quick` through the root script arrives as
 * npm_config_quick=true), so those count too.
 */
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
  save: boolean;
  /** Scenario ids to run (null: all). */
  only: Set<string> | null;
}

export const SCENARIOS = ['loopback', 'ingest', 'cold', 'selective', 'hot', 'concurrent', 'upsert', 'graphql'] as const;

export const USAGE = `npm run bench [-- options]

  --quick            50 symbols × 4,000 minutes, fewer repetitions (under a minute)
  --reps N           repetitions of every scenario (default by scenario: full 2-10, quick 1-5)
  --symbols N        symbols in the generated data (default 500)
  --minutes N        1-minute bars per symbol (default 20,000)
  --cache-mb N       CACHE_MB for flightdeck (default: room for the whole dataset twice over)
  --scenarios=a,b    run only these (${SCENARIOS.join(', ')}); ingest always runs
  --keep             keep the temporary directory (data, DATA_DIR) and print its path
  --print-only       write nothing under bench/results/

Through the root script give values with '=' (npm run bench -- --quick --reps=2): npm reads
'--reps 2' as a flag of its own followed by a stray argument.
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
      'print-only': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  const npmFlag = (name: string) => env[`npm_config_${name.replaceAll('-', '_')}`];
  const flag = (name: string, v: boolean | undefined) => v ?? (npmFlag(name) !== undefined && npmFlag(name) !== 'false');
  const str = (name: string, v: string | undefined) => {
    const raw = v ?? npmFlag(name);
    if (v === undefined && raw === 'true') throw new Error(`--${name} needs a value: write --${name}=VALUE`);
    return raw;
  };
  if (values.help) return 'help';

  const quick = flag('quick', values.quick);
  const reps = positiveInt('reps', str('reps', values.reps));
  const r = (full: number, q: number) => reps ?? (quick ? q : full);
  const symbols = positiveInt('symbols', str('symbols', values.symbols)) ?? (quick ? 50 : 500);
  const minutes = positiveInt('minutes', str('minutes', values.minutes)) ?? (quick ? 4_000 : 20_000);
  const onlyRaw = str('scenarios', values.scenarios);
  const only = onlyRaw ? new Set(onlyRaw.split(',').map((s) => s.trim())) : null;
  for (const id of only ?? []) {
    if (!(SCENARIOS as readonly string[]).includes(id)) throw new Error(`--scenarios: unknown scenario "${id}" (${SCENARIOS.join(', ')})`);
  }
  const cacheRaw = str('cache-mb', values['cache-mb']);
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
    keep: flag('keep', values.keep),
    save: !flag('print-only', values['print-only']),
    only,
  };
}
