/**
 * The Node FlightClient against a peer we did not write: a pyarrow FlightServerBase
 * (test/python/peer_server.py) holding tables in memory by path.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  DataType,
  Dictionary,
  Float64,
  Int32,
  Int64,
  RecordBatch,
  Schema,
  Field,
  Struct,
  TimeUnit,
  Timestamp,
  Utf8,
  makeData,
  vectorFromArray,
  type Data,
  type Table,
} from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlightClient, FlightError, pathDescriptor } from '@flightdeck/proto';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const python = join(repoRoot, '.venv', 'bin', 'python');
const peerScript = join(repoRoot, 'test', 'python', 'peer_server.py');

/** Starts the pyarrow peer on port 0 and resolves with its port (its first stdout line). */
async function startPeer(args: string[] = []): Promise<{ proc: ChildProcess; port: number; stderr: () => string }> {
  if (!existsSync(python)) throw new Error(`${python} is missing: run node scripts/setup-python.mjs`);
  const proc = spawn(python, [peerScript, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const lines = createInterface({ input: proc.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`peer did not print its port within 30 s\n${stderr}`)), 30_000);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`peer exited with ${code}\n${stderr}`));
    });
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { port: number }).port);
    });
  });
  return { proc, port, stderr: () => stderr };
}

const TS_TYPE = new Timestamp(TimeUnit.NANOSECOND, 'UTC');
const SYMBOL_TYPE = new Dictionary(new Utf8(), new Int32());

interface Rows {
  symbol: (string | null)[];
  ts: bigint[];
  close: (number | null)[];
  volume: (bigint | null)[];
  note: (string | null)[];
}

function validity(values: readonly unknown[]): Uint8Array {
  const bitmap = new Uint8Array(Math.ceil(values.length / 8) || 1);
  values.forEach((v, i) => {
    if (v !== null) bitmap[i >> 3]! |= 1 << (i & 7);
  });
  return bitmap;
}

function int64Data(type: Timestamp | Int64, values: readonly (bigint | null)[]): Data {
  const buffer = new BigInt64Array(values.map((v) => v ?? 0n));
  const nullCount = values.filter((v) => v === null).length;
  const props = { length: values.length, nullCount, nullBitmap: nullCount ? validity(values) : null, data: buffer };
  return type instanceof Timestamp ? makeData({ type, ...props }) : makeData({ type, ...props });
}

function batchOf(rows: Rows): RecordBatch {
  const schema = new Schema([
    new Field('symbol', SYMBOL_TYPE, true),
    new Field('ts', TS_TYPE, false),
    new Field('close', new Float64(), true),
    new Field('volume', new Int64(), true),
    new Field('note', new Utf8(), true),
  ]);
  const symbol = vectorFromArray(rows.symbol, SYMBOL_TYPE).data[0]!;
  const close = vectorFromArray(rows.close, new Float64()).data[0]!;
  const note = vectorFromArray(rows.note, new Utf8()).data[0]!;
  const children = [symbol, int64Data(TS_TYPE, rows.ts), close, int64Data(new Int64(), rows.volume), note];
  const data = makeData({ type: new Struct(schema.fields), length: rows.ts.length, nullCount: 0, children });
  return new RecordBatch(schema, data);
}

const T0 = 1_704_189_600_000_000_000n; // 2024-01-02T10:00:00Z in ns
const BATCHES: Rows[] = [
  {
    symbol: ['AAPL', 'MSFT', null, 'AAPL'],
    ts: [T0, T0 + 1n, T0 + 2n, T0 + 999_999_999n],
    close: [101.5, null, 99.25, 100],
    volume: [10n, 20n, null, 9_007_199_254_740_993n],
    note: ['first', null, 'ünïcödé', ''],
  },
  {
    symbol: ['GOOG', 'GOOG', 'IBM'],
    ts: [T0 + 60_000_000_000n, T0 + 120_000_000_000n, T0 + 180_000_000_000n],
    close: [140.125, 141, null],
    volume: [1n, null, -3n],
    note: [null, null, 'last'],
  },
  {
    symbol: [null, 'MSFT'],
    ts: [-1n, 0n],
    close: [null, 1e-300],
    volume: [-9_007_199_254_740_993n, 0n],
    note: ['before epoch', 'epoch'],
  },
];

function concatRows(parts: Rows[]): Rows {
  return {
    symbol: parts.flatMap((p) => p.symbol),
    ts: parts.flatMap((p) => p.ts),
    close: parts.flatMap((p) => p.close),
    volume: parts.flatMap((p) => p.volume),
    note: parts.flatMap((p) => p.note),
  };
}

function rowsOf(table: Table | RecordBatch): Rows {
  const col = (name: string) => {
    const v = table.getChild(name);
    if (!v) throw new Error(`column ${name} missing`);
    return v;
  };
  const ts: bigint[] = [];
  for (const data of col('ts').data) {
    const values = data.values as BigInt64Array;
    for (let i = 0; i < data.length; i++) ts.push(values[i]!);
  }
  const volume: (bigint | null)[] = [];
  for (const data of col('volume').data) {
    const values = data.values as BigInt64Array;
    for (let i = 0; i < data.length; i++) volume.push(data.getValid(i) ? values[i]! : null);
  }
  return {
    symbol: [...col('symbol')].map((v) => (v === null ? null : String(v))),
    ts,
    close: [...col('close')].map((v) => (v === null ? null : Number(v))),
    volume,
    note: [...col('note')].map((v) => (v === null ? null : String(v))),
  };
}

function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function text(buf: Uint8Array | undefined | null): string {
  return new TextDecoder().decode(buf ?? new Uint8Array());
}

async function expectFlightError(promise: Promise<unknown>, code: string, needle: string): Promise<void> {
  const err = await promise.then(
    () => {
      throw new Error(`expected a ${code} error, the call succeeded`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FlightError);
  expect((err as FlightError).code).toBe(code);
  expect((err as FlightError).message).toContain(needle);
}

async function stopPeer(peer: Awaited<ReturnType<typeof startPeer>> | undefined): Promise<void> {
  if (!peer || peer.proc.exitCode !== null) return;
  const exited = new Promise((resolve) => peer.proc.once('exit', resolve));
  peer.proc.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
  if (peer.proc.exitCode === null) peer.proc.kill('SIGKILL');
}

describe('FlightClient against a pyarrow Flight server', () => {
  let peer: Awaited<ReturnType<typeof startPeer>>;
  let client: FlightClient;

  beforeAll(async () => {
    peer = await startPeer();
    client = new FlightClient(`grpc://127.0.0.1:${peer.port}`);
  });

  afterAll(async () => {
    client?.close();
    await stopPeer(peer);
  });

  it('puts batches with dictionaries and nulls, and reads them back equal', async () => {
    const batches = BATCHES.map(batchOf);
    const put = await client.doPut(pathDescriptor('bars'), batches);
    expect(JSON.parse(text(put.appMetadata))).toEqual({ rows: 9, batches: 3 });

    const info = await client.getFlightInfo(pathDescriptor('bars'));
    expect(info.totalRecords).toBe(9);
    expect(info.endpoint).toHaveLength(1);
    const ticket = info.endpoint[0]!.ticket!;
    expect(text(ticket.ticket)).toBe('bars');

    const table = await client.readTable(ticket);
    expect(table.numRows).toBe(9);
    expect(table.schema.fields.map((f) => f.name)).toEqual(['symbol', 'ts', 'close', 'volume', 'note']);
    expect(DataType.isDictionary(table.schema.fields[0]!.type)).toBe(true);
    const ts = table.schema.fields[1]!.type as Timestamp;
    expect(DataType.isTimestamp(ts)).toBe(true);
    expect(ts.unit).toBe(TimeUnit.NANOSECOND);
    expect(ts.timezone).toBe('UTC');
    expect(DataType.isInt(table.schema.fields[3]!.type)).toBe(true);
    expect(rowsOf(table)).toEqual(concatRows(BATCHES));
  });

  it('streams DoGet as record batches', async () => {
    await client.doPut(pathDescriptor('streamed'), BATCHES.map(batchOf));
    const seen: RecordBatch[] = [];
    for await (const batch of client.doGet({ ticket: Buffer.from('streamed') })) seen.push(batch);
    expect(seen.map((b) => b.numRows)).toEqual([4, 3, 2]);
    expect(concatRows(seen.map(rowsOf))).toEqual(concatRows(BATCHES));
  });

  it('reads a batch larger than the default 4 MiB gRPC message limit', async () => {
    const n = 600_000; // ~9.6 MB of int64 + float64
    const ts = Array.from({ length: n }, (_, i) => T0 + BigInt(i) * 1_000_000_000n);
    const rows: Rows = {
      symbol: Array.from({ length: n }, (_, i) => (i % 2 ? 'AAPL' : 'MSFT')),
      ts,
      close: Array.from({ length: n }, (_, i) => i / 4),
      volume: Array.from({ length: n }, (_, i) => BigInt(i)),
      note: Array.from({ length: n }, () => null),
    };
    const put = await client.doPut(pathDescriptor('large'), [batchOf(rows)]);
    const stored = JSON.parse(text(put.appMetadata)) as { rows: number; batches: number };
    expect(stored.rows).toBe(n);
    expect(stored.batches).toBeGreaterThan(1); // the client splits large batches (2 MiB messages)
    // the peer merges them, so DoGet answers one ~10 MB message: over grpc-js's default 4 MiB limit
    await expect(client.doActionJson('combine', { path: 'large' })).resolves.toEqual({ rows: n, batches: 1 });
    const table = await client.readTable({ ticket: Buffer.from('large') });
    expect(table.numRows).toBe(n);
    const back = rowsOf(table);
    expect(back.ts[n - 1]).toBe(ts[n - 1]);
    expect(back.volume[n - 1]).toBe(BigInt(n - 1));
    expect(back.close[12_345]).toBe(12_345 / 4);
  });

  it('lists flights', async () => {
    await client.doPut(pathDescriptor('listed'), [batchOf(BATCHES[1]!)]);
    const infos = [];
    for await (const info of client.listFlights()) infos.push(info);
    const listed = infos.find((i) => i.flightDescriptor?.path?.join('/') === 'listed');
    expect(listed?.totalRecords).toBe(3);
  });

  it('runs actions', async () => {
    const body = JSON.stringify({ hello: 'wörld', n: 3 });
    const results: Uint8Array[] = [];
    for await (const r of client.doAction('echo', bytes(body))) results.push(r);
    expect(results).toHaveLength(1);
    expect(text(results[0])).toBe(body);
    await expect(client.doActionJson('echo', { a: [1, 2] })).resolves.toEqual({ a: [1, 2] });
  });

  it('maps the peer error statuses to FlightError codes', async () => {
    await expectFlightError(client.getFlightInfo(pathDescriptor('missing_table')), 'NOT_FOUND', 'missing_table');
    await expectFlightError(client.doActionJson('fail', { kind: 'not_found', message: 'no such thing' }), 'NOT_FOUND', 'no such thing');
    await expectFlightError(client.doActionJson('fail', { kind: 'invalid', message: 'bad field x' }), 'INVALID_ARGUMENT', 'bad field x');
    await expectFlightError(client.doActionJson('fail', { kind: 'unauthenticated', message: 'who' }), 'UNAUTHENTICATED', 'who');
    await expectFlightError(client.doActionJson('nope', {}), 'UNIMPLEMENTED', 'nope');
    await expectFlightError(client.readTable({ ticket: Buffer.from('never_put') }), 'NOT_FOUND', 'never_put');
  });
});

describe('FlightClient basic-auth handshake against a pyarrow Flight server', () => {
  let peer: Awaited<ReturnType<typeof startPeer>>;
  let url: string;

  beforeAll(async () => {
    peer = await startPeer(['--user', 'alice', '--password', 's3cret']);
    url = `grpc://127.0.0.1:${peer.port}`;
  });

  afterAll(async () => {
    await stopPeer(peer);
  });

  it('gets a bearer token and uses it on later calls', async () => {
    const client = new FlightClient(url);
    try {
      const token = await client.handshake('alice', 's3cret');
      expect(token).toMatch(/^[0-9a-f]{32}$/);
      expect(client.token).toBe(token);
      await expect(client.doActionJson('echo', { ok: true })).resolves.toEqual({ ok: true });
    } finally {
      client.close();
    }
  });

  it('is refused without a token or with a wrong password', async () => {
    const anonymous = new FlightClient(url);
    const wrong = new FlightClient(url);
    try {
      await expectFlightError(anonymous.doActionJson('echo', {}), 'UNAUTHENTICATED', 'bearer token required');
      await expectFlightError(wrong.handshake('alice', 'nope'), 'UNAUTHENTICATED', 'wrong user or password');
    } finally {
      anonymous.close();
      wrong.close();
    }
  });
});
