/**
 * How `flightdeck` fails: bad files name the file, row (line) and column in one line and exit 1
 * with nothing committed; usage mistakes exit 2; the server's refusals exit 1 with its message.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FlightClient } from '@flightdeck/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFlightdeck, startServer, tempDir, type CliResult, type ServerProcess } from './cli-harness.js';

let server: ServerProcess;
/** Checks what the server committed in-process: a CLI start per check would double this file's run time. */
let flight: FlightClient;
let dir: Awaited<ReturnType<typeof tempDir>>;
const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runFlightdeck(args, { url: server.url, cwd: dir.path, env });
const file = (name: string) => join(dir.path, name);

const HEADER = 'symbol,ts,price,volume';
const GOOD = `${HEADER}\nAAPL,2024-01-02T09:30:00Z,1.5,100\nAAPL,2024-01-02T09:31:00Z,2.5,200\n`;

/** The one line a failure prints, checked to be exactly one. */
function failure(r: CliResult, code: number): string {
  expect(r.code, r.stderr).toBe(code);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^flightdeck: /);
  return lines[0]!;
}

async function version(): Promise<{ version: number; rows: number }> {
  const { version, rows } = await flight.doActionJson<{ version: number; rows: number }>('describe_dataset', { name: 'bars' });
  return { version, rows };
}

beforeAll(async () => {
  dir = await tempDir('fd-cli-errors-');
  server = await startServer(join(dir.path, 'data'));
  flight = new FlightClient(server.url);
  await writeFile(file('good.csv'), GOOD);
  const r = await cli(['put', file('good.csv'), '--dataset', 'bars', '--create', '--time-column', 'ts', '--key', 'symbol']);
  expect(r.code, r.stderr).toBe(0);
});

afterAll(async () => {
  flight?.close();
  await server?.stop();
  await dir?.remove();
});

describe('bad input files: one line naming the fault, exit 1, nothing committed', () => {
  const cases: [name: string, content: string | Uint8Array, message: RegExp][] = [
    ['wrong-columns.csv', `symbol,ts,prize,volume\nAAPL,2024-01-03T09:30:00Z,1,2\n`, /wrong-columns\.csv: unexpected column "prize"; the dataset has symbol, ts, price, volume$/],
    ['missing-column.csv', `symbol,ts,price\nAAPL,2024-01-03T09:30:00Z,1\n`, /missing-column\.csv: missing column "volume"/],
    [
      'bad-number.csv',
      `${HEADER}\nAAPL,2024-01-03T09:30:00Z,1,2\nAAPL,2024-01-03T09:31:00Z,"multi\nline",2\nAAPL,2024-01-03T09:32:00Z,1,2\nMSFT,2024-01-03T09:30:00Z,1.2.3,2\n`,
      /bad-number\.csv: row 2 \(line 4\), column "price": cannot read "multi\\nline" as float64$/,
    ],
    ['bad-int.csv', `${HEADER}\nAAPL,2024-01-03T09:30:00Z,1,2.5\n`, /bad-int\.csv: row 1 \(line 2\), column "volume": cannot read "2\.5" as int64$/],
    ['bad-time.csv', `${HEADER}\nAAPL,2024-01-03T09:30:00Z,1,2\nAAPL,yesterday,1,2\n`, /bad-time\.csv: row 2 \(line 3\), column "ts": cannot read "yesterday" as a time/],
    ['out-of-range.csv', `${HEADER}\nAAPL,2300-01-01T00:00:00Z,1,2\n`, /out-of-range\.csv: row 1 \(line 2\), column "ts": time .* is outside \[1678-01-01, 2262-01-01\) UTC/],
    ['null-key.ndjson', `{"symbol":"A","ts":"2024-01-03T09:30:00Z","price":1,"volume":1}\n{"symbol":null,"ts":"2024-01-03T09:31:00Z","price":1,"volume":1}\n`, /null-key\.ndjson: row 2 \(line 2\), column "symbol": is empty, but the column does not allow nulls/],
    ['bad-json.ndjson', `{"symbol":"A","ts":"2024-01-03T09:30:00Z","price":1,"volume":1}\n{"symbol":"A",\n`, /bad-json\.ndjson: line 2: not valid JSON/],
    ['extra-key.ndjson', `{"symbol":"A","ts":"2024-01-03T09:30:00Z","price":1,"volume":1,"venue":"X"}\n`, /extra-key\.ndjson: row 1 \(line 1\): unexpected column "venue"/],
    ['ragged.csv', `${HEADER}\nAAPL,2024-01-03T09:30:00Z,1,2\nAAPL,2024-01-03T09:31:00Z,1\n`, /ragged\.csv: Invalid Record Length: expect 4, got 3 on line 3/],
    ['truncated.parquet', new Uint8Array([0x50, 0x41, 0x52, 0x31, 1, 2, 3, 4, 5, 6, 7, 8]), /truncated\.parquet: not a readable Parquet file/],
    ['truncated.arrows', new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x78, 0, 0, 0, 1, 2]), /truncated\.arrows: .*(not a readable Arrow|cannot read)/],
  ];

  for (const [name, content, message] of cases) {
    it(name, async () => {
      const before = await version();
      await writeFile(file(name), content);
      expect(failure(await cli(['put', file(name), '--dataset', 'bars']), 1)).toMatch(message);
      expect(await version()).toEqual(before);
    });
  }

  it('a real Parquet file cut short', async () => {
    const out = file('whole.parquet');
    expect((await cli(['get', '--dataset', 'bars', '-o', out])).code).toBe(0);
    const { readFile } = await import('node:fs/promises');
    const bytes = await readFile(out);
    await writeFile(file('cut.parquet'), bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const before = await version();
    expect(failure(await cli(['put', file('cut.parquet'), '--dataset', 'bars']), 1)).toMatch(/cut\.parquet: not a readable Parquet file \(.*\)$/);
    expect(await version()).toEqual(before);
  });

  it('a bad row in the second file of a put commits neither file', async () => {
    await writeFile(file('first.csv'), `${HEADER}\nAAPL,2024-02-01T09:30:00Z,1,2\n`);
    await writeFile(file('second.csv'), `${HEADER}\nAAPL,2024-02-02T09:30:00Z,1,2\nAAPL,2024-02-02T09:31:00Z,x,2\n`);
    const before = await version();
    expect(failure(await cli(['put', file('first.csv'), file('second.csv'), '--dataset', 'bars']), 1)).toMatch(/second\.csv: row 2 \(line 3\), column "price"/);
    expect(await version()).toEqual(before);
  });
});

describe('usage errors exit 2', () => {
  const cases: [args: string[], message: RegExp][] = [
    [['put', 'good.csv'], /^flightdeck: put needs the dataset before the files: flightdeck put <dataset> good\.csv \(or --dataset <name>\)$/],
    [['put', 'bars'], /^flightdeck: put needs at least one file: flightdeck put bars <files\.\.\.>$/],
    [['put', 'other', 'good.csv', '--dataset', 'bars'], /^flightdeck: put: the dataset is given twice, "other" and --dataset "bars"; give it once$/],
    [['get'], /^flightdeck: get needs a dataset: flightdeck get <dataset> \(or --dataset <name>\)$/],
    [['get', 'bars', '--dataset', 'other'], /^flightdeck: get: the dataset is given twice, "bars" and --dataset "other"; give it once$/],
    [['describe', 'bars', 'other'], /too many arguments for 'describe'/],
    [['compact', 'bars', '--partition', 'day'], /^flightdeck: compact takes --partition-key <hive path>, e\.g\. --partition-key date=2024-01-02; "day" is not a partition key/],
    [['compact', 'bars', '--partition-key', 'day'], /^flightdeck: --partition-key takes a Hive partition path such as date=2024-01-02, not "day"$/],
    [['put', 'good.csv', '--dataset', 'bars', '--bogus'], /unknown option '--bogus'/],
    [['put', 'nope.csv', '--dataset', 'bars'], /nope\.csv: no such file/],
    [['put', 'good.txt', '--dataset', 'bars'], /good\.txt: unknown file type "\.txt"/],
    [['put', 'good.csv', '--dataset', 'fresh', '--create'], /--create needs --time-column/],
    [['put', 'good.csv', '--dataset', 'bars', '--schema', 'price:decimal'], /--schema: field "price": unsupported column type "decimal"/],
    [['put', 'good.csv', '--dataset', 'bars', '--schema', 'price:int64'], /--schema: column "price" is float64 in dataset "bars"/],
    [['get', '--dataset', 'bars', '--limit', 'ten'], /--limit must be an integer >= 0/],
    [['get', '--dataset', 'bars', '--interval', '7m'], /argument '7m' is invalid. Allowed choices are 1m, 5m/],
    [['get', '--dataset', 'bars', '-o', 'out.xlsx'], /-o out\.xlsx: unknown file type "\.xlsx"/],
    [['drop', 'bars'], /add --yes to confirm/],
    [['delete-range', 'bars'], /add --all to mean it/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ];
  for (const [args, message] of cases) {
    it(args.join(' '), async () => {
      if (args.includes('good.txt')) await writeFile(file('good.txt'), GOOD);
      expect(failure(await cli(args), 2)).toMatch(message);
    });
  }

  it('--help and --version exit 0', async () => {
    const help = await cli(['put', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: flightdeck put \[options\] <dataset> <files\.\.\.>/);
    expect((await cli(['--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe("the server's refusals exit 1 with its message", () => {
  it('unknown column, unknown dataset, existing dataset', async () => {
    expect(failure(await cli(['get', '--dataset', 'bars', '--columns', 'nope']), 1)).toMatch(/^flightdeck: INVALID_ARGUMENT: unknown column "nope"/);
    expect(failure(await cli(['get', '--dataset', 'ghost']), 1)).toMatch(/^flightdeck: NOT_FOUND: dataset "ghost" does not exist/);
    expect(failure(await cli(['put', file('good.csv'), '--dataset', 'ghost']), 1)).toMatch(
      /^flightdeck: NOT_FOUND: dataset "ghost" does not exist; add --create --time-column COL/,
    );
    expect(failure(await cli(['create', 'bars', '--time-column', 'ts']), 1)).toMatch(/^flightdeck: ALREADY_EXISTS: /);
    expect(failure(await cli(['get', '--dataset', 'bars', '--as-of', '99']), 1)).toMatch(/^flightdeck: NOT_FOUND: /);
  });

  it('an unreachable server', async () => {
    const r = await runFlightdeck(['ls'], { url: 'grpc://127.0.0.1:1', cwd: dir.path });
    expect(failure(r, 1)).toMatch(/^flightdeck: UNAVAILABLE: cannot reach grpc:\/\/127\.0\.0\.1:1/);
  });
});

describe('credentials', () => {
  let secured: ServerProcess;
  beforeAll(async () => {
    secured = await startServer(join(dir.path, 'secured'), 0, { FLIGHT_USERS: 'admin:adminpw:admin,reader:readpw:read' });
  });
  afterAll(async () => {
    await secured?.stop();
  });
  const as = (args: string[], env: NodeJS.ProcessEnv) => runFlightdeck(args, { url: secured.url, cwd: dir.path, env });

  it('without credentials the hint names --user/--password and --token with their env variables, not pyarrow', async () => {
    const line = failure(await as(['ls'], {}), 1);
    expect(line).toBe(
      'flightdeck: UNAUTHENTICATED: no credentials: log in with --user <name> --password <password> (env FLIGHT_USER, FLIGHT_PASSWORD), or pass --token <token> (env FLIGHT_TOKEN)',
    );
    expect(line).not.toMatch(/pyarrow|authenticate_basic_token/);
    expect(failure(await as(['get', 'sec'], {}), 1)).toBe(line);
  });

  it('--user/--password handshake, FLIGHT_TOKEN, and the refusals', async () => {
    expect(failure(await as(['ls'], {}), 1)).toMatch(/^flightdeck: UNAUTHENTICATED: /);
    expect(failure(await as(['ls', '--user', 'admin', '--password', 'wrong'], {}), 1)).toMatch(/^flightdeck: UNAUTHENTICATED: /);
    expect(failure(await as(['ls', '--user', 'admin', '--password', 'wrong'], {}), 1)).toBe(
      'flightdeck: UNAUTHENTICATED: invalid user name or password: check --user and --password (env FLIGHT_USER, FLIGHT_PASSWORD)',
    );
    expect(failure(await as(['ls'], { FLIGHT_TOKEN: 'fdt1.forged.token' }), 1)).toBe(
      'flightdeck: UNAUTHENTICATED: invalid bearer token: pass a fresh --token (env FLIGHT_TOKEN), or log in with --user <name> --password <password> (env FLIGHT_USER, FLIGHT_PASSWORD)',
    );
    expect(failure(await as(['ls', '--user', 'admin'], {}), 2)).toMatch(/--user needs --password/);
    const put = await as(['put', file('good.csv'), '--dataset', 'sec', '--create', '--time-column', 'ts', '--key', 'symbol', '--user', 'admin', '--password', 'adminpw'], {});
    expect(put.code, put.stderr).toBe(0);
    const denied = await as(['put', file('good.csv'), '--dataset', 'sec'], { FLIGHT_USER: 'reader', FLIGHT_PASSWORD: 'readpw' });
    expect(failure(denied, 1)).toMatch(/^flightdeck: PERMISSION_DENIED: /);
    const { FlightClient } = await import('@flightdeck/proto');
    const client = new FlightClient(secured.url);
    const token = await client.handshake('reader', 'readpw');
    client.close();
    const read = await as(['get', '--dataset', 'sec', '--format', 'csv'], { FLIGHT_TOKEN: token });
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout.trim().split('\n')).toHaveLength(3);
  });
});

describe('TLS', () => {
  let tls: ServerProcess;
  let certs: { caCert: string; clientCert: string; clientKey: string; otherCaCert: string };
  beforeAll(async () => {
    // The server's own test helper: a throwaway CA, server and client certificates (openssl).
    const { makeTestCertificates } = await import('../../flight-server/test-support/test-certificates.js');
    certs = makeTestCertificates(dir.path);
    tls = await startServer(join(dir.path, 'tls'), 0, {
      FLIGHT_TLS_CERT: join(dir.path, 'server.pem'),
      FLIGHT_TLS_KEY: join(dir.path, 'server.key'),
      FLIGHT_TLS_CLIENT_CA: certs.caCert,
    });
  });
  afterAll(async () => {
    await tls?.stop();
  });

  it('--tls-ca with a client certificate, and the failures', async () => {
    const url = `grpc+tls://localhost:${tls.port}`;
    const mtls = ['--tls-ca', certs.caCert, '--tls-cert', certs.clientCert, '--tls-key', certs.clientKey];
    const ok = await runFlightdeck(['ls', ...mtls], { url, cwd: dir.path });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('no datasets\n');
    const untrusted = await runFlightdeck(['ls', '--tls-ca', certs.otherCaCert, '--tls-cert', certs.clientCert, '--tls-key', certs.clientKey], { url, cwd: dir.path });
    expect(failure(untrusted, 1)).toMatch(/^flightdeck: UNAVAILABLE: cannot reach grpc\+tls:\/\/localhost:\d+/);
    expect(failure(await runFlightdeck(['ls', '--tls-ca', certs.caCert, '--tls-cert', certs.clientCert], { url, cwd: dir.path }), 2)).toMatch(
      /--tls-cert and --tls-key go together/,
    );
    expect(failure(await runFlightdeck(['ls', '--tls-ca', 'missing.pem'], { url, cwd: dir.path }), 2)).toMatch(/--tls-ca missing\.pem: no such file/);
  });
});
