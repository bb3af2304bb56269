/**
 * The `flightdeck` command line (commander): global connection options, one subcommand per
 * task. Commands get a lazily connected client, so `--help` and usage errors never dial.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { FlightClient } from '@flightdeck/proto';
import { INTERVALS, PARTITION_SCHEMES } from '@flightdeck/contract';
import { EPOCH_UNITS } from '../sdk/time-values.js';
import { compactPartitionKey, datasetOf, putArguments } from './command-arguments.js';
import { connect, DEFAULT_URL, locationClientOptions, type ConnectionOptions } from './connection.js';
import { INPUT_FORMATS } from './input-format.js';
import { OUTPUT_FORMATS } from './output-format.js';

// Each command's module is imported when the command runs: a start that loaded every command's
// readers and writers (parquet-wasm, csv-parse, cli-progress, the SDK) paid for all of them on
// every invocation, `--help` and usage errors included.
const putCommand = () => import('./put-command.js');
const getCommand = () => import('./get-command.js');
const datasetCommands = () => import('./dataset-commands.js');

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
    .configureHelp({ subcommandTerm: (cmd) => `${cmd.name()} ${cmd.usage()}`.trim() })
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

Every dataset command takes the dataset first (or as --dataset <name>).

Examples:
  flightdeck put bars_1m bars.csv --create --time-column ts --key symbol
  flightdeck get bars_1m --symbols AAPL --from 2024-01-02 --to 2024-01-03 -o aapl.parquet
  flightdeck describe bars_1m
  flightdeck backup bars_1m --to backups/bars_1m && flightdeck restore backups/bars_1m --as bars_1m_restored
  flightdeck copy bars_1m --from grpc+tls://prod:8815 --to grpc://127.0.0.1:8815 --symbols AAPL --start 2024-01-01`,
    );

  const client = (): Promise<FlightClient> => lazy.get();

  /** A subcommand on a dataset: `<dataset>` first, or `--dataset <name>`. */
  const datasetCommand = (name: string, description: string): Command =>
    program
      .command(name)
      .description(description)
      .usage('[options] <dataset>')
      .argument('[dataset]', 'the dataset (or --dataset)')
      .option('--dataset <name>', 'the dataset, instead of the first argument');

  program
    .command('put')
    .description('write files (CSV, TSV, NDJSON, Parquet, Arrow) into a dataset as one commit')
    .usage('[options] <dataset> <files...>')
    .argument('[dataset]', 'the dataset to write to (or --dataset)')
    .argument('[files...]', 'input files; the format comes from the extension or --format')
    .option('--dataset <name>', 'the dataset, instead of the first argument')
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
    .option('--no-progress', 'no progress bar on a terminal')
    .action(async (dataset: string | undefined, files: string[], opts) => {
      const args = await putArguments(dataset === undefined ? files : [dataset, ...files], opts.dataset);
      await (await putCommand()).runPut(args.files, { ...opts, dataset: args.dataset }, client, io.stdout, io.stderr);
    });

  datasetCommand('get', 'query a dataset and write the rows to a file, a pipe (CSV) or the terminal (table)')
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
    .option('--no-progress', 'no progress bar on a terminal')
    .action(async (dataset: string | undefined, opts) => {
      await (await getCommand()).runGet({ ...opts, dataset: datasetOf('get', dataset, opts.dataset) }, client, io.stdout, io.stderr, locationClientOptions(program.opts<ConnectionOptions>()));
    });

  program
    .command('ls')
    .description('list datasets')
    .option('--json', 'print JSON')
    .action(async (opts) => (await datasetCommands()).runLs(opts, client, io.stdout));

  datasetCommand('describe', "show a dataset's schema, version, size and partitions")
    .option('--json', "print the server's JSON")
    .action(async (dataset: string | undefined, opts) => (await datasetCommands()).runDescribe(datasetOf('describe', dataset, opts.dataset), opts, client, io.stdout));

  datasetCommand('create', 'create a dataset')
    .requiredOption('--time-column <column>', 'the time column (timestamp, UTC)')
    .option('--key <columns>', 'key columns, comma-separated', list)
    .addOption(new Option('--partition <scheme>', 'partitioning').choices(PARTITION_SCHEMES).default('day'))
    .option('--fields <fields>', "fix the schema now: 'col:type,...' (otherwise the first put fixes it)")
    .option('--json', "print the server's JSON")
    .action(async (dataset: string | undefined, opts) => (await datasetCommands()).runCreate(datasetOf('create', dataset, opts.dataset), opts, client, io.stdout));

  datasetCommand('delete-range', 'delete rows by symbols and/or time range')
    .option('--symbols <list>', 'only rows of these symbols', list)
    .option('--from <time>', 'start, inclusive')
    .option('--to <time>', 'end, exclusive')
    .option('--all', 'with no filter: delete every row')
    .option('--json', "print the server's JSON")
    .action(async (dataset: string | undefined, opts) => {
      const { dataset: flag, ...rest } = opts;
      await (await datasetCommands()).runDeleteRange(datasetOf('delete-range', dataset, flag), rest, client, io.stdout);
    });

  datasetCommand('compact', 'merge small files, in one partition or all')
    .option('--partition-key <hive path>', 'only this partition, e.g. date=2024-01-02 (describe lists them)')
    .addOption(new Option('--partition <hive path>', 'the former spelling of --partition-key').hideHelp())
    .option('--json', "print the server's JSON")
    .action(async (dataset: string | undefined, opts) => {
      const partition = compactPartitionKey(opts);
      await (await datasetCommands()).runCompact(datasetOf('compact', dataset, opts.dataset), { ...(partition === undefined ? {} : { partition }), json: opts.json }, client, io.stdout);
    });

  datasetCommand('vacuum', 'remove files no retained version uses (admin)')
    .requiredOption('--retain <n>', 'versions to keep readable', positiveInt('--retain'))
    .option('--json', "print the server's JSON")
    .action(async (dataset: string | undefined, opts) => (await datasetCommands()).runVacuum(datasetOf('vacuum', dataset, opts.dataset), opts, client, io.stdout));

  datasetCommand('drop', 'delete a dataset and its files (admin)')
    .option('--yes', 'confirm')
    .option('--json', "print the server's JSON")
    .action(async (dataset: string | undefined, opts) => (await datasetCommands()).runDrop(datasetOf('drop', dataset, opts.dataset), opts, client, io.stdout));

  datasetCommand('backup', 'write one version of a dataset to a directory or s3:// prefix: Parquet files and a checksummed manifest')
    .requiredOption('--to <dir|s3://bucket/prefix>', 'a new or empty directory or object-store prefix (a backup interrupted there is started over)')
    .option('--as-of <version>', 'back up this committed version (default: the current one)', positiveInt('--as-of', 0))
    .addOption(new Option('--s3-endpoint <url>', 'the object store of an s3:// target, when it is not AWS').env('S3_ENDPOINT'))
    .addOption(new Option('--s3-region <region>', 'region of an s3:// target').env('AWS_REGION').default('us-east-1'))
    .option('--json', 'print the summary as JSON')
    .option('--no-progress', 'no progress bar on a terminal')
    .action(async (dataset: string | undefined, opts) => {
      await (await import('./backup-command.js')).runBackup(datasetOf('backup', dataset, opts.dataset), opts, client, lazy.url(), io.stdout, io.stderr);
    });

  program
    .command('restore')
    .description('create a dataset from a backup, all its rows in one commit (files checked first)')
    .usage('[options] <dir|s3://bucket/prefix>')
    .argument('<dir>', 'the backup: a directory or s3://bucket/prefix')
    .option('--as <name>', 'the dataset to create (default: the name it was backed up from)')
    .addOption(new Option('--s3-endpoint <url>', 'the object store of an s3:// backup, when it is not AWS').env('S3_ENDPOINT'))
    .addOption(new Option('--s3-region <region>', 'region of an s3:// backup').env('AWS_REGION').default('us-east-1'))
    .option('--json', 'print the summary as JSON')
    .option('--no-progress', 'no progress bar on a terminal')
    .action(async (dir: string, opts) => {
      await (await import('./restore-command.js')).runRestore(dir, opts, client, io.stdout, io.stderr);
    });

  datasetCommand('copy', "copy a dataset's rows (or a query's) from one server into a dataset on another, one commit per endpoint, resumable")
    .requiredOption('--from <url>', 'the source Flight server (the global --token, --user, --tls-* options apply to it)')
    .requiredOption('--to <url>', 'the target Flight server')
    .addOption(new Option('--to-token <token>', 'bearer token for --to').env('FLIGHT_TO_TOKEN'))
    .option('--to-tls-ca <file>', 'PEM CA certificate to trust for a grpc+tls:// --to')
    .option('--as <name>', 'the target dataset (default: the same name); created with the source\'s spec when missing')
    .option('--symbols <list>', 'only these values of the first key column, comma-separated', list)
    .option('--start <time>', 'start, inclusive: ISO-8601 or epoch nanoseconds')
    .option('--end <time>', 'end, exclusive: ISO-8601 or epoch nanoseconds')
    .option('--state <file>', 'progress file, for resuming (default ./flightdeck-copy-<as>.state.json; removed when done)')
    .option('--json', 'print the summary as JSON')
    .option('--no-progress', 'no progress bar on a terminal')
    .action(async (dataset: string | undefined, opts) => {
      const globals = program.opts<ConnectionOptions>();
      const opened: Promise<FlightClient>[] = [];
      const open = (o: ConnectionOptions) => (): Promise<FlightClient> => {
        const c = connect(o);
        opened.push(c);
        return c;
      };
      try {
        await (await import('./copy-command.js')).runCopy(
          { ...opts, dataset: datasetOf('copy', dataset, opts.dataset) },
          {
            source: open({ ...globals, url: opts.from }),
            target: open({ url: opts.to, ...(opts.toToken ? { token: opts.toToken } : {}), ...(opts.toTlsCa ? { tlsCa: opts.toTlsCa } : {}) }),
          },
          io.stdout,
          io.stderr,
        );
      } finally {
        for (const c of opened) c.then((x) => x.close()).catch(() => undefined);
      }
    });

  program
    .command('hash-password')
    .description('read a password on stdin and print its scrypt hash for a FLIGHT_USERS_FILE line user:<hash>:role')
    .action(async () => (await import('./hash-password-command.js')).runHashPassword({ stdin: process.stdin, stdout: io.stdout, stderr: io.stderr }));

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
