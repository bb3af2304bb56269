/**
 * One benchmark run: generates the data, starts flightdeck and the pyarrow peer, runs every
 * scenario (one server at a time, alternating repetitions between the two so drift hits both
 * alike) and collects the report rows. A scenario that fails becomes a row saying so; the run goes on.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { BenchConfig } from './config.js';
import { ioCounters, JsonWorker, type Managed } from './processes.js';
import { formatBytes, formatRate, side, speedRatio, type Row, type Side } from './report.js';
import { dropPageCache, startFlightdeck, startPeer, startStack, syncDisks, type Listening } from './servers.js';
import { percentile, summarize, type Rep } from './stats.js';

const DAY_NS = 86_400_000_000_000n;
const MINUTE_NS = 60_000_000_000n;
const DATASET = 'bars';
/** A small dataset apart from the measured one: read after each restart so code is warm, data cold. */
const WARMUP = 'warmup';

export interface Paths {
  root: string;
  python: string;
  tmp: string;
}

interface GenInfo {
  data: { path: string; rows: number; nbytes: number };
  upsert: { path: string; rows: number; nbytes: number };
  warmup: { path: string; rows: number; nbytes: number };
  start_ns: number;
  end_ns: number;
  symbols: number;
  minutes: number;
  seconds: number;
}

interface GetResult extends Rep {
  plan_seconds: number;
  first_batch_seconds: number | null;
  batches: number;
  endpoints: number;
  total_records: number;
  total_bytes: number;
}

interface PutResult extends Rep {
  result: unknown;
}

interface PartitionInfo {
  key: string;
  files: number;
  rows: number;
  bytes: number;
}

interface Describe {
  rows: number;
  bytes: number;
  version: number;
  partitions: PartitionInfo[];
}

interface CacheStats {
  hits: number;
  misses: number;
  entries?: number;
  bytes?: number;
  capacityBytes?: number;
}

type Descriptor = { path: string[] } | { cmd: object };

/** The issue's targets by scenario, so a failed scenario still lists its target as not measured. */
const TARGETS: Record<string, string> = {
  ingest: '≥ 1.0× pyarrow write_dataset',
  cold: '≥ 1.0× pyarrow reading the same Parquet',
  selective: "bytes read ≤ 2× the selected rows' share",
  hot: '≥ 1.0× pyarrow serving an in-memory table',
  graphql: 'p99 < 25 ms',
};

const iso = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString();

export class BenchRun {
  readonly rows: Row[] = [];
  readonly notes: string[] = [];
  readonly meta: Record<string, unknown> = {};
  /** Per scenario: the 1-minute load average before it and how long it took. */
  readonly scenarioLog: { id: string; load: number; seconds: number }[] = [];
  readonly #cfg: BenchConfig;
  readonly #paths: Paths;
  readonly #fdDataDir: string;
  readonly #peerPutDir: string;
  #gen!: GenInfo;
  #py!: JsonWorker;
  #node!: JsonWorker;
  #fd: Managed<Listening> | undefined;
  #peer: Managed<Listening> | undefined;
  #cacheMb: number | null = null;
  #dropWarned = false;
  #peerIngested = false;

  constructor(cfg: BenchConfig, paths: Paths) {
    this.#cfg = cfg;
    this.#paths = paths;
    this.#fdDataDir = join(paths.tmp, 'flightdeck-data');
    this.#peerPutDir = join(paths.tmp, 'peer-put');
    mkdirSync(this.#fdDataDir, { recursive: true });
    mkdirSync(this.#peerPutDir, { recursive: true });
  }

  #wants(id: string): boolean {
    return this.#cfg.only === null || this.#cfg.only.has(id);
  }

  #log(msg: string): void {
    process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
  }

  #cold(): void {
    if (!dropPageCache() && !this.#dropWarned) {
      this.#dropWarned = true;
      this.notes.push('The OS page cache could not be dropped (not root?): "cold" runs restart the servers but may read files from memory.');
    }
  }

  // --- setup ----------------------------------------------------------------------------------

  async setup(): Promise<void> {
    const { root, python, tmp } = this.#paths;
    const { symbols, minutes, upsertRows } = this.#cfg;
    this.#log(`generating ${symbols} symbols × ${minutes} minutes = ${(symbols * minutes).toLocaleString('en-US')} rows`);
    const out = execFileSync(
      python,
      [join(root, 'bench', 'gen_data.py'), join(tmp, 'bars.arrow'), '--symbols', String(symbols), '--minutes', String(minutes),
        '--upsert', join(tmp, 'upsert.arrow'), '--upsert-rows', String(upsertRows), '--warmup', join(tmp, 'warmup.arrow')],
      { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    this.#gen = JSON.parse(out.trim().split('\n').pop()!) as GenInfo;
    const g = this.#gen;
    this.meta.data = `${g.symbols} symbols × ${g.minutes} 1-minute bars = ${g.data.rows.toLocaleString('en-US')} rows, ` +
      `${formatBytes(g.data.nbytes)} as Arrow, ${iso(BigInt(g.start_ns))} .. ${iso(BigInt(g.end_ns))}, day partitions; ` +
      `upsert batch ${g.upsert.rows.toLocaleString('en-US')} rows`;
    this.meta.generated = { rows: g.data.rows, arrowBytes: g.data.nbytes, upsertRows: g.upsert.rows, seconds: g.seconds };
    this.#cacheMb = this.#cfg.cacheMb ?? Math.max(512, Math.ceil((2 * g.data.nbytes) / 2 ** 20));
    this.meta.flightdeckEnv = { CACHE_MB: this.#cacheMb };
    this.#py = await JsonWorker.start('pyarrow client', python, [join(root, 'bench', 'client.py')], root);
    this.#node = await JsonWorker.start('node client', process.execPath, ['--import', 'tsx', join(root, 'bench', 'src', 'node-client.ts')], root);
  }

  async close(): Promise<void> {
    await this.#fd?.stop();
    await this.#peer?.stop();
    await this.#py?.close();
    await this.#node?.close();
  }

  async #startFd(): Promise<Managed<Listening>> {
    await this.#fd?.stop();
    this.#fd = await startFlightdeck(this.#paths.root, this.#fdDataDir, this.#cacheMb);
    return this.#fd;
  }

  /**
   * flightdeck restarted with nothing of the measured data in memory: a fresh process, warmed on the
   * unrelated `warmup` dataset (JIT, worker threads, WASM), then the page cache dropped.
   */
  async #coldFd(): Promise<Managed<Listening>> {
    const fd = await this.#startFd();
    await this.#get(fd.info.url, { path: [WARMUP] });
    await this.#get(fd.info.url, { cmd: { dataset: WARMUP, symbols: ['S0010'], start: iso(BigInt(this.#gen.start_ns)), end: iso(BigInt(this.#gen.start_ns) + DAY_NS) } });
    this.#cold();
    return fd;
  }

  #fdUrl(): string {
    if (!this.#fd?.running) throw new Error(`flightdeck is not running\n${this.#fd?.logs() ?? ''}`);
    return this.#fd.info.url;
  }

  #peerUrl(): string {
    if (!this.#peer?.running) throw new Error(`the peer is not running\n${this.#peer?.logs() ?? ''}`);
    return this.#peer.info.url;
  }

  async #action<T>(url: string, type: string, body: object = {}): Promise<T> {
    const r = await this.#py.request<{ result: T }>({ op: 'action', url, type, body });
    return r.result;
  }

  async #describe(): Promise<Describe> {
    return this.#action<Describe>(this.#fdUrl(), 'describe_dataset', { name: DATASET });
  }

  async #cacheStats(): Promise<CacheStats | null> {
    const h = await this.#action<{ cache?: CacheStats }>(this.#fdUrl(), 'health');
    return h.cache ?? null;
  }

  /** The Parquet bytes flightdeck says it read (health.io.bytesRead), or null when not reported. */
  async #reportedBytesRead(): Promise<number | null> {
    const h = await this.#action<{ io?: { bytesRead?: number } }>(this.#fdUrl(), 'health');
    return typeof h.io?.bytesRead === 'number' ? h.io.bytesRead : null;
  }

  /** #get on flightdeck, adding the server-reported Parquet bytes read during the call. */
  async #fdGet(descriptor: Descriptor): Promise<GetResult> {
    const before = await this.#reportedBytesRead();
    const r = await this.#get(this.#fdUrl(), descriptor, this.#py, this.#fd!.pid);
    const after = await this.#reportedBytesRead();
    if (before !== null && after !== null) r.reported_bytes_read = after - before;
    return r;
  }

  async #get(url: string, descriptor: Descriptor, client: JsonWorker = this.#py, pid?: number): Promise<GetResult> {
    const before = pid === undefined ? null : ioCounters(pid);
    const r = await client.request<GetResult>({ op: 'get', url, descriptor });
    const after = pid === undefined ? null : ioCounters(pid);
    const rep: GetResult = {
      seconds: r.seconds,
      rows: r.rows,
      bytes: r.bytes,
      plan_seconds: r.plan_seconds,
      first_batch_seconds: r.first_batch_seconds,
      batches: r.batches,
      endpoints: r.endpoints,
      total_records: r.total_records,
      total_bytes: r.total_bytes,
    };
    if (before && after) {
      rep.io_rchar = after.rchar - before.rchar;
      rep.io_read_bytes = after.readBytes - before.readBytes;
    }
    return rep;
  }

  #record(row: Omit<Row, 'ratio'> & { ratio?: number | null }): void {
    const full: Row = { ...row, ratio: row.ratio !== undefined ? row.ratio : speedRatio(row.kind, row.fd, row.peer) };
    this.rows.push(full);
  }

  #failed(id: string, title: string, err: unknown): void {
    const msg = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    this.#log(`${title} failed: ${msg}`);
    if (err instanceof Error) process.stderr.write(`${err.stack ?? err.message}\n`);
    this.rows.push({
      id,
      title,
      kind: 'throughput',
      fd: null,
      peer: null,
      ratio: null,
      target: TARGETS[id] ? { text: TARGETS[id], measured: `not measured (${msg})`, met: null } : null,
      notes: [`failed: ${msg}`],
      cells: { fd: 'failed', peer: '—' },
    });
  }

  /** Runs `body`, turning a failure into a row that says so. */
  async scenario(id: string, title: string, body: () => Promise<void>): Promise<void> {
    if (id !== 'ingest' && !this.#wants(id)) return;
    const load = loadavg()[0]!;
    this.#log(`${title} (load average ${load.toFixed(2)})`);
    const t0 = Date.now();
    try {
      if (this.#fd && !this.#fd.running) {
        const { code, signal } = await this.#fd.exited;
        this.notes.push(`flightdeck exited on its own before "${title}" (code ${code}, signal ${signal}); restarted. Its last log lines: ${this.#fd.stderr.tail(5) || this.#fd.stdout.tail(5)}`);
        await this.#startFd();
      }
      await body();
    } catch (err) {
      this.#failed(id, title, err);
    }
    this.scenarioLog.push({ id, load: Number(load.toFixed(2)), seconds: Math.round((Date.now() - t0) / 100) / 10 });
  }

  // --- scenarios ------------------------------------------------------------------------------

  async loopback(): Promise<void> {
    const { python, root } = this.#paths;
    const out = execFileSync(
      python,
      [join(root, 'bench', 'loopback.py'), '--bytes', String(this.#cfg.loopbackBytes), '--reps', String(this.#cfg.loopbackReps)],
      { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const { reps } = JSON.parse(out) as { reps: { seconds: number; bytes: number }[] };
    const s = side('loopback TCP (Python sockets, one stream)', reps.map((r) => ({ seconds: r.seconds, rows: 0, bytes: r.bytes })));
    const g = s.rates.gbps;
    this.#record({
      id: 'loopback',
      title: `Loopback TCP limit (${formatBytes(this.#cfg.loopbackBytes)}, 1 stream)`,
      kind: 'throughput',
      fd: s,
      peer: null,
      ratio: null,
      target: null,
      notes: ['Not a server: the ceiling any one Flight stream on 127.0.0.1 shares with its client.'],
      cells: { fd: `${g.median.toFixed(2)} GB/s${g.n > 1 ? ` (${g.min.toFixed(2)}–${g.max.toFixed(2)})` : ''}`, peer: '—' },
    });
  }

  /** DoPut of the whole data into a new dataset, per repetition; the first one stays as `bars`. */
  async ingest(): Promise<void> {
    const fd = await this.#startFd();
    const url = fd.info.url;
    const n = this.#gen.data.rows;
    const create = (name: string) =>
      this.#action(url, 'create_dataset', { name, time_column: 'ts', key_columns: ['symbol'], partition: 'day' });
    // Warm-up (JIT, connections): the upsert file into a scratch dataset; then the small
    // unrelated dataset that warms every restarted server before a cold measurement.
    await create('scratch');
    await this.#py.request({ op: 'put', url, path: ['scratch'], file: this.#gen.upsert.path });
    await this.#action(url, 'drop_dataset', { name: 'scratch' });
    await create(WARMUP);
    await this.#py.request({ op: 'put', url, path: [WARMUP], file: this.#gen.warmup.path });

    const fdReps: PutResult[] = [];
    const notes: string[] = [];
    for (let i = 0; i < this.#cfg.reps.ingest; i++) {
      const name = i === 0 ? DATASET : `ingest_${i}`;
      await create(name);
      syncDisks();
      const r = await this.#py.request<PutResult>({ op: 'put', url, path: [name], file: this.#gen.data.path });
      fdReps.push({ seconds: r.seconds, rows: r.rows, bytes: r.bytes, result: r.result });
      const acked = (r.result as { rows?: number } | null)?.rows;
      if (acked !== n) notes.push(`rep ${i + 1}: PutResult says rows=${String(acked)}, sent ${n}`);
      if (i > 0) await this.#action(url, 'drop_dataset', { name });
    }
    const d = await this.#describe();
    if (d.rows !== n) throw new Error(`after DoPut, describe_dataset(${DATASET}) reports ${d.rows} rows, expected ${n}`);
    this.meta.flightdeckDataset = { rows: d.rows, bytes: d.bytes, partitions: d.partitions.length, files: d.partitions.reduce((k, p) => k + p.files, 0) };

    // The peer: in-memory table, flightdeck's Parquet files, and its own write_dataset directory.
    await this.#peer?.stop();
    this.#peer = await startPeer(this.#paths.root, this.#paths.python, {
      memory: this.#gen.data.path,
      parquetDir: join(this.#fdDataDir, DATASET),
      putDir: this.#peerPutDir,
    });
    const peerUrl = this.#peerUrl();
    await this.#py.request({ op: 'put', url: peerUrl, path: ['put', 'warmup'], file: this.#gen.upsert.path });
    await this.#action(peerUrl, 'drop', { name: 'warmup' });
    const peerReps: PutResult[] = [];
    for (let i = 0; i < this.#cfg.reps.ingest; i++) {
      const name = i === 0 ? DATASET : `ingest_${i}`;
      syncDisks();
      const r = await this.#py.request<PutResult>({ op: 'put', url: peerUrl, path: ['put', name], file: this.#gen.data.path });
      peerReps.push({ seconds: r.seconds, rows: r.rows, bytes: r.bytes, result: r.result });
      if (i > 0) await this.#action(peerUrl, 'drop', { name });
    }
    this.#peerIngested = true;
    const fdSide = side('flightdeck DoPut (pyarrow client)', fdReps);
    const peerSide = side('pyarrow write_dataset (pyarrow client)', peerReps);
    this.#record({
      id: 'ingest',
      title: `DoPut ingest ${(n / 1e6).toFixed(1)}M rows, new dataset`,
      kind: 'throughput',
      fd: fdSide,
      peer: peerSide,
      target: null,
      notes: [
        ...notes,
        'Timed from the DoPut call to its PutResult (flightdeck: committed; peer: write_dataset done and every file and directory fsynced). GB/s of Arrow bytes sent.',
      ],
    });
    const ratio = this.rows.at(-1)!.ratio;
    this.rows.at(-1)!.target = { text: '≥ 1.0× pyarrow write_dataset', measured: ratio === null ? 'n/a' : `${ratio.toFixed(2)}×`, met: ratio === null ? null : ratio >= 1 };

    // Our Node client, against flightdeck.
    if (this.#cfg.reps.nodeIngest > 0) {
      const nodeReps: PutResult[] = [];
      for (let i = 0; i < this.#cfg.reps.nodeIngest; i++) {
        const name = `node_ingest_${i}`;
        await create(name);
        syncDisks();
        const r = await this.#node.request<PutResult>({ op: 'put', url, path: [name], file: this.#gen.data.path });
        nodeReps.push({ seconds: r.seconds, rows: r.rows, bytes: r.bytes, result: r.result });
        await this.#action(url, 'drop_dataset', { name });
      }
      this.#record({
        id: 'ingest-node',
        title: `DoPut ingest ${(n / 1e6).toFixed(1)}M rows, Node FlightClient`,
        kind: 'throughput',
        fd: side('flightdeck DoPut (Node FlightClient)', nodeReps),
        peer: peerSide,
        target: null,
        notes: ['Peer column: pyarrow write_dataset with the pyarrow client (the same figures as above), for scale.'],
      });
    }
  }

  /** Waits until the Parquet files under flightdeck's dataset directory hold every row. */
  async #checkPeerParquet(): Promise<void> {
    const n = this.#gen.data.rows;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const info = await this.#action<{ files: number; rows: number; bytes: number }>(this.#peerUrl(), 'parquet_info');
      if (info.rows === n) {
        this.meta.parquetFiles = info;
        return;
      }
      if (Date.now() > deadline) {
        throw new Error(`flightdeck's *.parquet files hold ${info.rows} rows, expected ${n} (superseded files, or Parquet not written yet)`);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  async coldScan(): Promise<void> {
    await this.#checkPeerParquet();
    const n = this.#gen.data.rows;
    const fdReps: GetResult[] = [];
    const peerReps: GetResult[] = [];
    const notes: string[] = [];
    for (let i = 0; i < this.#cfg.reps.cold; i++) {
      await this.#coldFd();
      fdReps.push(await this.#fdGet({ path: [DATASET] }));
      this.#cold();
      peerReps.push(await this.#get(this.#peerUrl(), { cmd: { source: 'parquet' } }, this.#py, this.#peer!.pid));
    }
    for (const [who, reps] of [['flightdeck', fdReps], ['peer', peerReps]] as const) {
      const bad = reps.filter((r) => r.rows !== n);
      if (bad.length) notes.push(`${who} returned ${bad.map((r) => r.rows).join(', ')} rows instead of ${n}`);
    }
    const ioNote = (reps: GetResult[]) => formatBytes(summarize(reps.map((r) => Number(r.io_read_bytes))).median);
    const reported = summarize(fdReps.map((r) => Number(r.reported_bytes_read)));
    if (reported.n > 0) notes.push(`flightdeck reports ${formatBytes(reported.median)} of Parquet read per cold scan (health.io.bytesRead).`);
    notes.push(
      `Each repetition: flightdeck restarted, warmed on an unrelated small dataset, page cache dropped; the peer's page cache dropped (it keeps nothing between requests). ` +
        `Read from disk (median, /proc/<pid>/io read_bytes): flightdeck ${ioNote(fdReps)}, peer ${ioNote(peerReps)}. ` +
        `Endpoints: flightdeck ${fdReps[0]?.endpoints}, peer ${peerReps[0]?.endpoints}.`,
    );
    this.#record({
      id: 'doget-cold',
      title: 'DoGet full scan, cold',
      kind: 'throughput',
      fd: side('flightdeck, restarted, page cache dropped (pyarrow client)', fdReps),
      peer: side('pyarrow.dataset over the same Parquet files, page cache dropped (pyarrow client)', peerReps),
      target: null,
      notes,
    });
    this.#target('≥ 1.0× pyarrow reading the same Parquet', (r) => r >= 1);
  }

  #target(text: string, ok: (ratio: number) => boolean): void {
    const row = this.rows.at(-1)!;
    row.target = { text, measured: row.ratio === null ? 'n/a' : `${row.ratio.toFixed(2)}×`, met: row.ratio === null ? null : ok(row.ratio) };
  }

  /** The selective query's window: a month, else a week, else a day, inside the data. */
  #window(): { symbol: string; start: bigint; end: bigint; label: string; rows: number } {
    const g = this.#gen;
    const spanDays = g.minutes / 1440;
    const [days, label] = spanDays > 31 ? [30, 'one month'] : spanDays > 7 ? [7, 'one week'] : [1, 'one day'];
    const first = BigInt(g.start_ns);
    const start = spanDays >= days + 1 ? first + DAY_NS : first;
    const end = start + BigInt(days) * DAY_NS;
    const dataEnd = BigInt(g.end_ns);
    const rows = Number(((end < dataEnd ? end : dataEnd) - start) / MINUTE_NS);
    return { symbol: `S${String(Math.floor(g.symbols / 2)).padStart(4, '0')}`, start, end, label, rows };
  }

  async selective(): Promise<void> {
    const w = this.#window();
    const fdQuery = { dataset: DATASET, symbols: [w.symbol], start: iso(w.start), end: iso(w.end) };
    const peerQuery = { symbols: [w.symbol], start: iso(w.start), end: iso(w.end) };
    const describe = await this.#describe();
    const total = this.#gen.data.rows;
    const share = (describe.bytes * w.rows) / total;
    const touched = describe.partitions.filter((p) => {
      const day = /date=(\d{4}-\d{2}-\d{2})/.exec(p.key)?.[1];
      if (!day) return true;
      const t = BigInt(Date.parse(`${day}T00:00:00Z`)) * 1_000_000n;
      return t + DAY_NS > w.start && t < w.end;
    });
    const touchedBytes = touched.reduce((n, p) => n + p.bytes, 0);

    // Cold: flightdeck restarted, page cache dropped; bytes read from /proc/<pid>/io.
    const fdCold: GetResult[] = [];
    const peerCold: GetResult[] = [];
    for (let i = 0; i < this.#cfg.reps.selectiveCold; i++) {
      await this.#coldFd();
      fdCold.push(await this.#fdGet({ cmd: fdQuery }));
      this.#cold();
      peerCold.push(await this.#get(this.#peerUrl(), { cmd: { source: 'parquet', ...peerQuery } }, this.#py, this.#peer!.pid));
    }
    const wrong = [...fdCold, ...peerCold].filter((r) => r.rows !== w.rows);
    const rchar = summarize(fdCold.map((r) => Number(r.io_rchar)));
    const reported = summarize(fdCold.map((r) => Number(r.reported_bytes_read)));
    const peerRchar = summarize(peerCold.map((r) => Number(r.io_rchar)));
    const estimated = fdCold[0]?.total_bytes ?? NaN;
    const fdSide = side('flightdeck, restarted, page cache dropped', fdCold, {
      bytesRead: rchar,
      reportedBytesRead: reported,
      flightInfoTotalBytes: estimated,
      touchedPartitionBytes: touchedBytes,
      shareBytes: share,
    });
    const peerSide = side('pyarrow.dataset over the same Parquet, page cache dropped', peerCold, { bytesRead: peerRchar });
    const title = `Selective query cold (1 symbol, ${w.label}: ${w.rows.toLocaleString('en-US')} rows)`;
    const readCell = (s: typeof fdSide, read: number, own?: number) => {
      const base = `${(s.rates.seconds.median * 1000).toFixed(1)} ms`;
      const rng = s.rates.seconds.n > 1 ? ` (${(s.rates.seconds.min * 1000).toFixed(1)}–${(s.rates.seconds.max * 1000).toFixed(1)})` : '';
      const ownText = own !== undefined && Number.isFinite(own) ? ` (says ${formatBytes(own)})` : '';
      return `${base}${rng} · ${formatRate(s.rates.rowsPerSec.median)} · read ${formatBytes(read)}${ownText}`;
    };
    this.#record({
      id: 'selective-cold',
      title,
      kind: 'latency',
      fd: fdSide,
      peer: peerSide,
      target: null,
      notes: [
        ...(wrong.length ? [`wrong row counts: ${wrong.map((r) => r.rows).join(', ')} (expected ${w.rows})`] : []),
        `Bytes read = what the server process read through read()/pread() during GetFlightInfo + DoGet (/proc/<pid>/io rchar, median), measured, not reported by the server. ` +
          `flightdeck's own count (health.io.bytesRead: footers plus the column chunks of the row groups it read) ${reported.n > 0 ? formatBytes(reported.median) : 'not reported'}; ` +
          `FlightInfo.total_bytes (its estimate of the selected row groups' Parquet bytes) ${formatBytes(estimated)}; ` +
          `the ${touched.length} touched day partitions' files (describe_dataset) ${formatBytes(touchedBytes)}; ` +
          `the selected rows' share of the dataset's ${formatBytes(describe.bytes)} = ${formatBytes(share)}.`,
      ],
      cells: { fd: readCell(fdSide, rchar.median, reported.median), peer: readCell(peerSide, peerRchar.median) },
    });
    const factor = rchar.median / share;
    const reportedFactor = reported.n > 0 ? reported.median / share : NaN;
    this.rows.at(-1)!.target = {
      text: "bytes read ≤ 2× the selected rows' share",
      measured:
        `${formatBytes(rchar.median)} read (process I/O) = ${factor.toFixed(1)}× the share (${formatBytes(share)})` +
        (Number.isFinite(reportedFactor) ? `; server-reported ${formatBytes(reported.median)} = ${reportedFactor.toFixed(1)}×` : ''),
      met: Number.isFinite(factor) ? factor <= 2 : null,
    };

    // Hot: the same query again and again on a warm server, against the peer's in-memory table.
    const fdUrl = this.#fdUrl();
    const peerUrl = this.#peerUrl();
    await this.#get(fdUrl, { cmd: fdQuery });
    await this.#get(peerUrl, { cmd: { source: 'memory', ...peerQuery } });
    const fdHot: GetResult[] = [];
    const peerHot: GetResult[] = [];
    for (let i = 0; i < this.#cfg.reps.selectiveHot; i++) {
      fdHot.push(await this.#get(fdUrl, { cmd: fdQuery }));
      peerHot.push(await this.#get(peerUrl, { cmd: { source: 'memory', ...peerQuery } }));
    }
    this.#record({
      id: 'selective-hot',
      title: `Selective query hot (1 symbol, ${w.label})`,
      kind: 'latency',
      fd: side('flightdeck, warm', fdHot),
      peer: side('pyarrow in-memory table, filtered per request', peerHot),
      target: null,
      notes: ['Latency of GetFlightInfo + every DoGet; the peer filters its in-memory table with pyarrow.dataset on each request.'],
    });
  }

  async hotScan(): Promise<void> {
    const n = this.#gen.data.rows;
    const fdUrl = this.#fdUrl();
    const peerUrl = this.#peerUrl();
    // Fill flightdeck's cache; warm the peer's path too.
    await this.#get(fdUrl, { path: [DATASET] });
    await this.#get(fdUrl, { path: [DATASET] });
    await this.#get(peerUrl, { cmd: { source: 'memory' } });
    const before = await this.#cacheStats();
    const fdReps: GetResult[] = [];
    const peerReps: GetResult[] = [];
    for (let i = 0; i < this.#cfg.reps.hot; i++) {
      fdReps.push(await this.#get(fdUrl, { path: [DATASET] }, this.#py, this.#fd!.pid));
      peerReps.push(await this.#get(peerUrl, { cmd: { source: 'memory' } }));
    }
    const after = await this.#cacheStats();
    const notes: string[] = [];
    const bad = [...fdReps, ...peerReps].filter((r) => r.rows !== n);
    if (bad.length) notes.push(`wrong row counts: ${bad.map((r) => r.rows).join(', ')} (expected ${n})`);
    if (before && after) {
      const misses = after.misses - before.misses;
      notes.push(`flightdeck cache during the timed reps: ${after.hits - before.hits} hits, ${misses} misses (CACHE_MB=${this.#cacheMb}).`);
      if (misses > 0) notes.push('flightdeck missed its cache during "hot" repetitions: not everything was served from memory.');
    }
    const disk = summarize(fdReps.map((r) => Number(r.io_rchar)));
    notes.push(`flightdeck read ${formatBytes(disk.median)} from files per hot scan (median rchar).`);
    const peerSide = side('pyarrow, in-memory table (pyarrow client)', peerReps);
    this.#record({
      id: 'doget-hot',
      title: 'DoGet full scan, hot',
      kind: 'throughput',
      fd: side('flightdeck, warm cache (pyarrow client)', fdReps),
      peer: peerSide,
      target: null,
      notes,
    });
    this.#target('≥ 1.0× pyarrow serving an in-memory table', (r) => r >= 1);

    const nodeReps: GetResult[] = [];
    await this.#get(fdUrl, { path: [DATASET] }, this.#node);
    for (let i = 0; i < this.#cfg.reps.hot; i++) nodeReps.push(await this.#get(fdUrl, { path: [DATASET] }, this.#node));
    this.#record({
      id: 'doget-hot-node',
      title: 'DoGet full scan, hot, Node FlightClient',
      kind: 'throughput',
      fd: side('flightdeck, warm cache (Node FlightClient)', nodeReps),
      peer: peerSide,
      target: null,
      notes: ['Peer column: pyarrow in-memory with the pyarrow client (same figures as above), for scale. Bytes: the Arrow buffers of the batches arrow-js decoded.'],
    });
  }

  async concurrent(): Promise<void> {
    const streams = this.#cfg.streams;
    const fdUrl = this.#fdUrl();
    const peerUrl = this.#peerUrl();
    const fdReps: Rep[] = [];
    const peerReps: Rep[] = [];
    const run = (url: string, descriptor: Descriptor) => this.#py.request<Rep>({ op: 'concurrent', url, descriptor, streams });
    for (let i = 0; i < this.#cfg.reps.concurrent; i++) {
      const f = await run(fdUrl, { path: [DATASET] });
      fdReps.push({ seconds: f.seconds, rows: f.rows, bytes: f.bytes });
      const p = await run(peerUrl, { cmd: { source: 'memory' } });
      peerReps.push({ seconds: p.seconds, rows: p.rows, bytes: p.bytes });
    }
    this.#record({
      id: 'concurrent',
      title: `${streams} concurrent full-scan DoGets, hot (aggregate)`,
      kind: 'throughput',
      fd: side('flightdeck, warm cache', fdReps),
      peer: side('pyarrow in-memory table', peerReps),
      target: null,
      notes: [`${streams} pyarrow clients (one channel each) in one process, each reading the whole dataset; aggregate bytes over wall time.`],
    });
  }

  async upsert(): Promise<void> {
    const n = this.#gen.data.rows;
    const m = this.#gen.upsert.rows;
    const fdUrl = this.#fdUrl();
    const fdReps: PutResult[] = [];
    const peerReps: PutResult[] = [];
    const notes: string[] = [];
    for (let i = 0; i < this.#cfg.reps.upsert; i++) {
      syncDisks();
      const r = await this.#py.request<PutResult>({ op: 'put', url: fdUrl, path: [DATASET], file: this.#gen.upsert.path });
      fdReps.push({ seconds: r.seconds, rows: r.rows, bytes: r.bytes, result: r.result });
      if (this.#peerIngested) {
        syncDisks();
        const p = await this.#py.request<PutResult>({ op: 'put', url: this.#peerUrl(), path: ['upsert', DATASET], file: this.#gen.upsert.path });
        peerReps.push({ seconds: p.seconds, rows: p.rows, bytes: p.bytes, result: p.result });
      }
    }
    const d = await this.#describe();
    if (d.rows !== n) notes.push(`after the upserts flightdeck holds ${d.rows} rows, expected ${n} (a key must not appear twice)`);
    const check = await this.#get(fdUrl, { path: [DATASET] });
    if (check.rows !== n) notes.push(`after the upserts a full scan returns ${check.rows} rows, expected ${n}`);
    notes.push(
      `${m.toLocaleString('en-US')} rows (the latest minutes of every symbol, new prices) put again into the ${(n / 1e6).toFixed(1)}M-row dataset; ` +
        'the peer reads the touched date partitions, left-anti-joins them on (symbol, ts), rewrites them with write_dataset(delete_matching) and fsyncs.',
    );
    this.#record({
      id: 'upsert',
      title: `Upsert ingest ${(m / 1e6).toFixed(2)}M overlapping rows`,
      kind: 'throughput',
      fd: side('flightdeck DoPut into the existing dataset', fdReps),
      peer: side('pyarrow read-merge-rewrite of the touched partitions', peerReps),
      target: null,
      notes,
    });
  }

  async graphql(): Promise<void> {
    const { root, tmp } = this.#paths;
    const startScript = hasRootStart(root);
    if (!startScript) {
      this.#record({
        id: 'graphql',
        title: 'GraphQL one day of 1-minute bars via gateway',
        kind: 'latency',
        fd: null,
        peer: null,
        target: { text: 'p99 < 25 ms', measured: 'not measured', met: null },
        notes: ['TODO not measured: gateway/ or the root start script is missing.'],
        cells: { fd: 'not measured', peer: '—' },
      });
      return;
    }
    await this.#fd?.stop();
    await this.#peer?.stop();
    this.#fd = undefined;
    this.#peer = undefined;
    const stack = await startStack(root, this.#fdDataDir, join(tmp, 'users-data'), this.#cacheMb);
    try {
      const g = this.#gen;
      const days = Math.floor(g.minutes / 1440);
      if (days < 1) throw new Error('the data spans less than one whole day');
      const query =
        'query Bench($symbol: String!, $from: DateTime, $to: DateTime) { bars(dataset: "bars", symbol: $symbol, from: $from, to: $to) { symbol ts open high low close volume } }';
      let seed = 7;
      const rand = (k: number) => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % k;
      };
      const request = (sym: number, day: number) => {
        const start = BigInt(g.start_ns) + BigInt(day) * DAY_NS;
        return { query, variables: { symbol: `S${String(sym).padStart(4, '0')}`, from: iso(start), to: iso(start + DAY_NS) } };
      };
      // Warm-up: every day once (each partition opened once), then random symbol-days.
      const warm = Array.from({ length: days }, (_, d) => request(rand(g.symbols), d));
      const reqs = Array.from({ length: this.#cfg.graphqlRequests }, () => request(rand(g.symbols), rand(days)));
      type Latencies = { latencies_ms: number[]; items: number[] };
      const post = (url: string, requests: object[]) => this.#node.request<Latencies>({ op: 'graphql', url, requests, warmup: 0 });
      await post(stack.info.gateway, warm);
      const viaGateway = await post(stack.info.gateway, reqs);
      const viaFacade = await post(stack.info.facade, reqs);
      const same = request(Math.floor(g.symbols / 2), Math.min(1, days - 1));
      const repeated = await post(stack.info.gateway, Array.from({ length: Math.ceil(reqs.length / 2) }, () => same));

      const record = (id: string, title: string, how: string, out: Latencies, target: boolean) => {
        const lat = out.latencies_ms;
        const p50 = percentile(lat, 50);
        const p99 = percentile(lat, 99);
        const notes = [`${lat.length} sequential POSTs, ${how}; min ${Math.min(...lat).toFixed(1)} ms, max ${Math.max(...lat).toFixed(1)} ms.`];
        const wrong = out.items.filter((k) => k !== 1440);
        if (wrong.length) notes.push(`${wrong.length} responses did not hold 1,440 bars (e.g. ${wrong[0]})`);
        const reps = lat.map((ms) => ({ seconds: ms / 1000, rows: 1440, bytes: 0 }));
        this.#record({
          id,
          title,
          kind: 'latency',
          fd: side(how, reps, { p50_ms: p50, p99_ms: p99 }),
          peer: null,
          ratio: null,
          target: target ? { text: 'p99 < 25 ms', measured: `p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`, met: p99 < 25 } : null,
          notes,
          cells: { fd: `p50 ${p50.toFixed(1)} ms · p99 ${p99.toFixed(1)} ms`, peer: '—' },
        });
      };
      record(
        'graphql',
        'GraphQL one day of 1-minute bars via gateway',
        'gateway → facade → flightdeck (scripts/start-all.ts on the benchmark DATA_DIR), one symbol\'s bars for one whole UTC day ' +
          `(1,440 rows, all 7 fields) with a random symbol and day, after ${warm.length} warm-up requests (one per day)`,
        viaGateway,
        true,
      );
      record('graphql-facade', 'GraphQL, same requests to the facade directly', 'the same random requests, straight to the facade (no gateway)', viaFacade, false);
      record('graphql-repeat', 'GraphQL via gateway, one symbol-day repeated', `one request (${same.variables.symbol}, one day) repeated: the warmest path`, repeated, false);
    } finally {
      await stack.stop(30_000);
    }
  }
}

function hasRootStart(root: string): boolean {
  try {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    return Boolean(pkg.scripts?.start) && existsSync(join(root, 'gateway', 'src', 'main.ts'));
  } catch {
    return false;
  }
}
