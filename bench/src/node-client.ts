/**
 * The Node side of the benchmark client: our FlightClient (and fetch, for GraphQL) in a process of
 * its own. Same worker protocol as bench/client.py: one JSON command per stdin line, one JSON answer
 * per stdout line, `{"ready":true}` first.
 *
 *   {"op":"get","url","descriptor":{"path":[..]}|{"cmd":{..}}}   GetFlightInfo + DoGet of every endpoint
 *   {"op":"put","url","path":[..],"file"}                         DoPut of an Arrow IPC file (loaded first)
 *   {"op":"graphql","url","requests":[{query,variables}],"warmup"} sequential POSTs, latency of each
 *   {"op":"append","url","path":[..],"symbols","startNs","count"}  `count` DoPuts, each one minute of bars
 *                                                                   of `symbols` symbols; seconds of each
 *
 * Bytes are the Arrow buffers of each received batch, dictionaries included (as pyarrow's nbytes).
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Field, Float64, Int64, makeData, RecordBatch, RecordBatchReader, Schema, Struct, Timestamp, TimeUnit, Utf8, vectorFromArray, type Data } from 'apache-arrow';
import { cmdDescriptor, FlightClient, pathDescriptor, type FlightDescriptor } from '@flightdeck/proto';

interface DescriptorSpec {
  path?: string[];
  cmd?: object;
}

type Command =
  | { op: 'get'; url: string; descriptor: DescriptorSpec }
  | { op: 'put'; url: string; path: string[]; file: string }
  | { op: 'graphql'; url: string; requests: { query: string; variables?: object }[]; warmup?: number }
  | { op: 'append'; url: string; path: string[]; symbols: number; startNs: string; count: number; oneCommit?: boolean }
  | { op: 'quit' };

const clients = new Map<string, FlightClient>();
const loaded = new Map<string, RecordBatch[]>();

function clientFor(url: string): FlightClient {
  let c = clients.get(url);
  if (!c) {
    c = new FlightClient(url);
    clients.set(url, c);
  }
  return c;
}

function descriptorOf(d: DescriptorSpec): FlightDescriptor {
  if (d.path) return pathDescriptor(...d.path);
  if (d.cmd) return cmdDescriptor(d.cmd);
  throw new Error('descriptor needs "path" or "cmd"');
}

function dataBytes(data: Data): number {
  let n = data.byteLength;
  const dict = data.dictionary;
  if (dict) for (const d of dict.data) n += dataBytes(d);
  return n;
}

function batchBytes(batch: RecordBatch): number {
  return batch.data.children.reduce((n, child) => n + dataBytes(child), 0);
}

function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

async function get(cmd: Extract<Command, { op: 'get' }>): Promise<object> {
  const client = clientFor(cmd.url);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const info = await client.getFlightInfo(descriptorOf(cmd.descriptor));
  const tPlan = performance.now();
  let rows = 0;
  let bytes = 0;
  let batches = 0;
  let firstBatch: number | null = null;
  let endpointWait = 0;
  for (const endpoint of info.endpoint) {
    if (!endpoint.ticket) continue;
    const called = performance.now();
    let waiting = true;
    for await (const batch of client.doGet(endpoint.ticket)) {
      firstBatch ??= performance.now() - t0;
      if (waiting) {
        endpointWait += performance.now() - called;
        waiting = false;
      }
      rows += batch.numRows;
      bytes += batchBytes(batch);
      batches++;
    }
  }
  const tEnd = performance.now();
  return {
    seconds: (tEnd - t0) / 1000,
    plan_seconds: (tPlan - t0) / 1000,
    first_batch_seconds: firstBatch === null ? null : firstBatch / 1000,
    endpoint_wait_seconds: endpointWait / 1000,
    rows,
    bytes,
    batches,
    endpoints: info.endpoint.length,
    total_records: Number(info.totalRecords),
    total_bytes: Number(info.totalBytes),
    // This process's CPU (user + system) over the read.
    client_cpu_seconds: cpuSecondsSince(cpu0),
  };
}

function load(file: string): RecordBatch[] {
  let batches = loaded.get(file);
  if (!batches) {
    batches = [...RecordBatchReader.from(readFileSync(file))];
    loaded.set(file, batches);
  }
  return batches;
}

async function put(cmd: Extract<Command, { op: 'put' }>): Promise<object> {
  const batches = load(cmd.file);
  const client = clientFor(cmd.url);
  const t0 = performance.now();
  const res = await client.doPut(pathDescriptor(...cmd.path), batches);
  const seconds = (performance.now() - t0) / 1000;
  const text = Buffer.from(res.appMetadata).toString('utf8');
  let result: unknown = text;
  try {
    result = JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  return {
    seconds,
    rows: batches.reduce((n, b) => n + b.numRows, 0),
    bytes: batches.reduce((n, b) => n + batchBytes(b), 0),
    batches: batches.length,
    result,
  };
}

/** The length of the first list in a GraphQL value, depth first (`bars: [...]`, or `series.ts` of `instrument { series { ts ... } }`); 0 without one. */
function firstListLength(value: unknown): number {
  if (Array.isArray(value)) return value.length;
  if (value === null || typeof value !== 'object') return 0;
  for (const child of Object.values(value)) {
    if (Array.isArray(child) || (child !== null && typeof child === 'object')) return firstListLength(child);
  }
  return 0;
}

async function graphql(cmd: Extract<Command, { op: 'graphql' }>): Promise<object> {
  const post = async (body: { query: string; variables?: object }) => {
    const t0 = performance.now();
    const res = await fetch(cmd.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as { data?: Record<string, unknown>; errors?: { message: string }[] };
    const ms = performance.now() - t0;
    if (!res.ok || json.errors?.length) {
      throw new Error(`GraphQL ${res.status}: ${json.errors?.map((e) => e.message).join('; ') ?? 'no body'}`);
    }
    const first = json.data ? Object.values(json.data)[0] : undefined;
    return { ms, items: firstListLength(first) };
  };
  const warmup = cmd.warmup ?? 0;
  for (let i = 0; i < warmup; i++) await post(cmd.requests[i % cmd.requests.length]!);
  const latencies: number[] = [];
  const items: number[] = [];
  for (const r of cmd.requests) {
    const { ms, items: n } = await post(r);
    latencies.push(ms);
    items.push(n);
  }
  return { latencies_ms: latencies, items };
}

const MINUTE_NS = 60_000_000_000n;
const barsSchema = new Schema([
  new Field('symbol', new Utf8(), false),
  new Field('ts', new Timestamp(TimeUnit.NANOSECOND, 'UTC'), false),
  ...['open', 'high', 'low', 'close'].map((n) => new Field(n, new Float64(), true)),
  new Field('volume', new Int64(), true),
]);

/** One minute of bars: a row per symbol (`S0000`, `S0001`, ...), prices derived from the minute. */
function minuteOfBars(symbols: number, ts: bigint, minute: number): RecordBatch {
  const names = Array.from({ length: symbols }, (_, i) => `S${String(i).padStart(4, '0')}`);
  const price = Float64Array.from(names, (_, i) => 100 + i * 0.5 + (minute % 97) * 0.25);
  const plain = (type: Float64 | Int64 | Timestamp, data: ArrayLike<unknown>) => makeData({ type, length: symbols, data } as never);
  const children = [
    vectorFromArray(names, new Utf8()).data[0]!,
    plain(barsSchema.fields[1]!.type, new BigInt64Array(symbols).fill(ts)),
    plain(new Float64(), price),
    plain(new Float64(), price.map((p) => p + 1)),
    plain(new Float64(), price.map((p) => p - 1)),
    plain(new Float64(), price.map((p) => p + 0.5)),
    plain(new Int64(), BigInt64Array.from(names, (_, i) => BigInt(1000 + i + minute))),
  ];
  return new RecordBatch(barsSchema, makeData({ type: new Struct(barsSchema.fields), length: symbols, nullCount: 0, children }));
}

/** A crawler: one DoPut per minute of bars, one after another, as fast as the server commits (or all of them in one). */
async function append(cmd: Extract<Command, { op: 'append' }>): Promise<object> {
  const client = clientFor(cmd.url);
  const seconds: number[] = [];
  const start = BigInt(cmd.startNs);
  if (cmd.oneCommit) {
    // The same minutes as one DoPut: what the history read is compared with.
    const batches = Array.from({ length: cmd.count }, (_, i) => minuteOfBars(cmd.symbols, start + BigInt(i) * MINUTE_NS, Number(start / MINUTE_NS) + i));
    const t0 = performance.now();
    await client.doPut(pathDescriptor(...cmd.path), batches);
    return { seconds: [(performance.now() - t0) / 1000], rows: cmd.symbols * cmd.count };
  }
  for (let i = 0; i < cmd.count; i++) {
    const minute = Number(start / MINUTE_NS) + i;
    const batch = minuteOfBars(cmd.symbols, start + BigInt(i) * MINUTE_NS, minute);
    const t0 = performance.now();
    await client.doPut(pathDescriptor(...cmd.path), [batch]);
    seconds.push((performance.now() - t0) / 1000);
  }
  return { seconds, rows: cmd.symbols * cmd.count };
}

async function run(cmd: Command): Promise<object> {
  switch (cmd.op) {
    case 'get':
      return get(cmd);
    case 'put':
      return put(cmd);
    case 'graphql':
      return graphql(cmd);
    case 'append':
      return append(cmd);
    case 'quit':
      return {};
    default: {
      const unknown: never = cmd;
      throw new Error(`unknown op ${JSON.stringify((unknown as { op: unknown }).op)}`);
    }
  }
}

function reply(obj: object): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

reply({ ready: true, node: process.version });
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const cmd = JSON.parse(line) as Command;
  if (cmd.op === 'quit') break;
  try {
    reply({ ok: true, ...(await run(cmd)) });
  } catch (err) {
    reply({ ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
}
for (const c of clients.values()) c.close();
process.exit(0);
