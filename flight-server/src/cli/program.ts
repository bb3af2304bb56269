/**
 * The `flightdeck` command line (commander): global connection options, one subcommand per
 * task. Commands get a lazily connected client, so `--help` and usage errors never dial.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { FlightClient } from '@flightdeck/proto';
import { INTERVALS, PARTITION_SCHEMES } from '@flightdeck/contract';
import { EPOCH_UNITS } from '../sdk/index.js';
import { connect, DEFAULT_URL, type ConnectionOptions } from './connection.js';
import { runCompact, runCreate, runDeleteRange, runDescribe, runDrop, runLs, runVacuum } from './dataset-commands.js';
import { runGet } from './get-command.js';
import { INPUT_FORMATS } from './input-format.js';
import { OUTPUT_FORMATS } from './output-format.js';
import { runPut } from './put-command.js';
import { runHashPassword } from '../service/hash-password-command.js';

export interface CliIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/** The client the command uses, opened on first use; `close()` closes it if it was opened. */
export interface LazyClient {
  get(): Promise<FlightClient>;
  close(): void;
  url(): string;
}

function positiveInt(name: string, min = 1) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
}

function list(value: string): string[] {
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new InvalidArgumentError('expected a comma-separated list');
  return items;
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

export function createProgram(io: CliIo, lazy: LazyClient): Command {
  const program = new Command('flightdeck');
  program
    .description('Put files into flightdeck datasets and get query results out, over Arrow Flight.')
    .version(packageVersion())
    .addOption(new Option('--url <url>', 'Flight server').env('FLIGHT_URL').default(DEFAULT_URL))
    .addOption(new Option('--token <token>', 'bearer token').env('FLIGHT_TOKEN'))
    .addOption(new Option('--user <user>', 'user for basic auth (Handshake)').env('FLIGHT_USER'))
    .addOption(new Option('--password <password>', 'password for --user').env('FLIGHT_PASSWORD'))
    .addOption(new Option('--tls-ca <file>', 'PEM CA certificate to trust (grpc+tls:// URLs)').env('FLIGHT_TLS_CA'))
    .addOption(new Option('--tls-cert <file>', 'PEM client certificate, for servers that verify clients').env('FLIGHT_TLS_CLIENT_CERT'))
    .addOption(new Option('--tls-key <file>', 'PEM key of --tls-cert').env('FLIGHT_TLS_CLIENT_KEY'))
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: () => undefined, // main prints one line
    })
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 refused (by the server, or invalid input data), 2 usage.

Examples:
  flightdeck put bars.csv --dataset bars_1m --create --time-column ts --key symbol
  flightdeck get --dataset bars_1m --symbols AAPL --from 2024-01-02 --to 2024-01-03 -o aapl.parquet
  flightdeck describe bars_1m`,
    );

  const client = (): Promise<FlightClient> => lazy.get();

  program
    .command('put')
    .description('write files (CSV, TSV, NDJSON, Parquet, Arrow) into a dataset as one commit')
    .argument('<files...>', 'input files; the format comes from the extension or --format')
    .requiredOption('--dataset <name>', 'dataset to write to')
    .option('--create', 'create the dataset if it does not exist (needs --time-column)')
    .option('--time-column <column>', 'time column, with --create')
    .option('--key <columns>', 'key columns, comma-separated, with --create', list)
    .addOption(new Option('--partition <scheme>', 'partitioning, with --create').choices(PARTITION_SCHEMES))
    .option('--schema <fields>', "column types instead of inferred ones: 'col:type,...' (e.g. 'volume:int64,ts:timestamp[ms, UTC]')")
    .addOption(new Option('--format <format>', 'input format, instead of the extension').choices([...INPUT_FORMATS]))
    .option('--delimiter <char>', 'CSV field delimiter (default , and tab for .tsv)')
    .addOption(new Option('--epoch-unit <unit>', 'unit of bare epoch numbers in the time column').choices([...EPOCH_UNITS]).default('auto'))
    .option('--batch-rows <n>', 'rows per record batch', positiveInt('--batch-rows'), 65_536)
    .option('--chunk-rows <n>', 'commit every N rows (each chunk retried on transient failures) instead of one commit', positiveInt('--chunk-rows'))
    .option('--json', 'print the summary as JSON (with max_rss_bytes)')
    .option('--no-progress', 'no progress line on a terminal')
    .action(async (files: string[], opts) => {
      await runPut(files, opts, client, io.stdout, io.stderr);
    });

  program
    .command('get')
    .description('query a dataset and write the rows to a file, a pipe (CSV) or the terminal (table)')
    .requiredOption('--dataset <name>', 'dataset to read')
    .option('--symbols <list>', 'only these values of the first key column, comma-separated', list)
    .option('--from <time>', 'start, inclusive: ISO-8601 or epoch nanoseconds')
    .option('--to <time>', 'end, exclusive: ISO-8601 or epoch nanoseconds')
    .option('--columns <list>', 'only these columns, comma-separated', list)
    .addOption(new Option('--interval <interval>', 'resample OHLCV bars on the server').choices(INTERVALS))
    .option('--limit <n>', 'at most N rows', positiveInt('--limit', 0))
    .option('--as-of <version>', 'read the dataset as of this committed version', positiveInt('--as-of', 0))
    .option('-o, --output <file>', 'write to FILE (.parquet, .arrow, .arrows, .csv, .tsv, .ndjson); - for stdout')
    .addOption(new Option('--format <format>', 'output format, instead of the extension').choices([...OUTPUT_FORMATS]))
    .option('--max-rows <n>', 'rows shown in a terminal table', positiveInt('--max-rows'), 200)
    .option('--no-progress', 'no progress line on a terminal')
    .action(async (opts) => {
      await runGet(opts, client, io.stdout, io.stderr);
    });

  program
    .command('ls')
    .description('list datasets')
    .option('--json', 'print JSON')
    .action(async (opts) => runLs(opts, client, io.stdout));

  program
    .command('describe')
    .description("show a dataset's schema, version, size and partitions")
    .argument('<name>')
    .option('--json', "print the server's JSON")
    .action(async (name: string, opts) => runDescribe(name, opts, client, io.stdout));

  program
    .command('create')
    .description('create a dataset')
    .argument('<name>')
    .requiredOption('--time-column <column>', 'the time column (timestamp, UTC)')
    .option('--key <columns>', 'key columns, comma-separated', list)
    .addOption(new Option('--partition <scheme>', 'partitioning').choices(PARTITION_SCHEMES).default('day'))
    .option('--fields <fields>', "fix the schema now: 'col:type,...' (otherwise the first put fixes it)")
    .option('--json', "print the server's JSON")
    .action(async (name: string, opts) => runCreate(name, opts, client, io.stdout));

  program
    .command('delete-range')
    .description('delete rows by symbols and/or time range')
    .argument('<name>')
    .option('--symbols <list>', 'only rows of these symbols', list)
    .option('--from <time>', 'start, inclusive')
    .option('--to <time>', 'end, exclusive')
    .option('--all', 'with no filter: delete every row')
    .option('--json', "print the server's JSON")
    .action(async (name: string, opts) => runDeleteRange(name, opts, client, io.stdout));

  program
    .command('compact')
    .description('merge small files, in one partition or all')
    .argument('<name>')
    .option('--partition <key>', 'the Hive partition key, e.g. date=2024-01-02')
    .option('--json', "print the server's JSON")
    .action(async (name: string, opts) => runCompact(name, opts, client, io.stdout));

  program
    .command('vacuum')
    .description('remove files no retained version uses (admin)')
    .argument('<name>')
    .requiredOption('--retain <n>', 'versions to keep readable', positiveInt('--retain'))
    .option('--json', "print the server's JSON")
    .action(async (name: string, opts) => runVacuum(name, opts, client, io.stdout));

  program
    .command('drop')
    .description('delete a dataset and its files (admin)')
    .argument('<name>')
    .option('--yes', 'confirm')
    .option('--json', "print the server's JSON")
    .action(async (name: string, opts) => runDrop(name, opts, client, io.stdout));

  program
    .command('hash-password')
    .description('read a password on stdin and print its scrypt hash for a FLIGHT_USERS_FILE line user:<hash>:role')
    .action(async () => {
      process.exitCode = await runHashPassword({ stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
    });

  return program;
}

/** A LazyClient for the program's global options, read when the first command connects. */
export function lazyClient(options: () => ConnectionOptions): LazyClient {
  let client: Promise<FlightClient> | null = null;
  return {
    get: () => (client ??= connect(options())),
    close: () => {
      client?.then((c) => c.close()).catch(() => undefined);
    },
    url: () => options().url,
  };
}
