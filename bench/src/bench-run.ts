/**
 * What every scenario of one benchmark run shares: the generated data, the two client workers
 * (pyarrow and our Node FlightClient), the servers under test (one at a time; scenarios alternate
 * their repetitions between flightdeck and the peer so drift hits both alike), the timed Flight
 * calls, and the report rows. The scenarios themselves are in scenarios/, one file each; a scenario
 * that fails becomes a row saying so and the run goes on.
 */
import { mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { DAY_NS, DATASET, generateData, iso, WARMUP, type GenInfo, type Paths } from './bench-data.js';
import type { BenchConfig } from './config.js';
import type { CacheStats, Describe, Descriptor, GetResult } from './flight-results.js';
import { cpuSeconds, ioCounters, JsonWorker, type Managed } from './processes.js';
import { formatBytes } from './report.js';
import { ReportRows } from './report-rows.js';
import { withMallocHugePages } from '../../scripts/malloc-env.js';
import { dropPageCache, startFlightdeck, startPeer, type Listening, type PeerOptions } from './servers.js';

export class BenchRun extends ReportRows {
  readonly cfg: BenchConfig;
  readonly paths: Paths;
  /** flightdeck's DATA_DIR, kept across restarts. */
  readonly fdDataDir: string;
  /** Where the peer's DoPut writes its datasets. */
  readonly peerPutDir: string;
  /** CACHE_MB for flightdeck; set by setup(). */
  cacheMb: number | null = null;
  /** Whether the peer holds `bars` from its own DoPut (the upsert scenario needs it). */
  peerIngested = false;
  #gen: GenInfo | undefined;
  #py: JsonWorker | undefined;
  #node: JsonWorker | undefined;
  #fd: Managed<Listening> | undefined;
  #peer: Managed<Listening> | undefined;
  #dropWarned = false;

  constructor(cfg: BenchConfig, paths: Paths) {
    super();
    this.cfg = cfg;
    this.paths = paths;
    this.fdDataDir = join(paths.tmp, 'flightdeck-data');
    this.peerPutDir = join(paths.tmp, 'peer-put');
    mkdirSync(this.fdDataDir, { recursive: true });
    mkdirSync(this.peerPutDir, { recursive: true });
  }

  get gen(): GenInfo {
    if (!this.#gen) throw new Error('setup() has not run');
    return this.#gen;
  }

  /** The pyarrow client worker (bench/client.py). */
  get py(): JsonWorker {
    if (!this.#py) throw new Error('setup() has not run');
    return this.#py;
  }

  /** The Node client worker (src/node-client.ts). */
  get node(): JsonWorker {
    if (!this.#node) throw new Error('setup() has not run');
    return this.#node;
  }

  get fd(): Managed<Listening> | undefined {
    return this.#fd;
  }

  get peer(): Managed<Listening> | undefined {
    return this.#peer;
  }

  log(msg: string): void {
    process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
  }

  /** Drops the OS page cache; the first time it cannot, the report says so. */
  cold(): void {
    if (!dropPageCache() && !this.#dropWarned) {
      this.#dropWarned = true;
      this.notes.push('The OS page cache could not be dropped (not root?): "cold" runs restart the servers but may read files from memory.');
    }
  }

  // --- setup and servers ----------------------------------------------------------------------

  async setup(): Promise<void> {
    const { root, python } = this.paths;
    const { symbols, minutes } = this.cfg;
    this.log(`generating ${symbols} symbols × ${minutes} minutes = ${(symbols * minutes).toLocaleString('en-US')} rows`);
    const g = (this.#gen = generateData(this.cfg, this.paths));
    this.meta.data = `${g.symbols} symbols × ${g.minutes} 1-minute bars = ${g.data.rows.toLocaleString('en-US')} rows, ` +
      `${formatBytes(g.data.nbytes)} as Arrow, ${iso(BigInt(g.start_ns))} .. ${iso(BigInt(g.end_ns))}, day partitions; ` +
      `upsert batch ${g.upsert.rows.toLocaleString('en-US')} rows`;
    this.meta.generated = { rows: g.data.rows, arrowBytes: g.data.nbytes, upsertRows: g.upsert.rows, seconds: g.seconds };
    this.cacheMb = this.cfg.cacheMb ?? Math.max(512, Math.ceil((2 * g.data.nbytes) / 2 ** 20));
    this.meta.flightdeckEnv = { CACHE_MB: this.cacheMb };
    // Both clients allocate their receive buffers with glibc's malloc, as the server does: they run
    // with the allocator setting the server gets (docs/configuration.md, "Memory allocator"), so
    // neither client's page faults decide a ratio. GLIBC_TUNABLES=glibc.malloc.hugetlb=0 turns it off for all.
    const clientEnv = withMallocHugePages(process.env);
    this.meta.clientEnv = { GLIBC_TUNABLES: clientEnv.GLIBC_TUNABLES ?? '' };
    this.#py = await JsonWorker.start('pyarrow client', python, [join(root, 'bench', 'client.py')], root, clientEnv);
    this.#node = await JsonWorker.start('node client', process.execPath, ['--import', 'tsx', join(root, 'bench', 'src', 'node-client.ts')], root, clientEnv);
  }

  async close(): Promise<void> {
    await this.#fd?.stop();
    await this.#peer?.stop();
    await this.#py?.close();
    await this.#node?.close();
  }

  async startFd(): Promise<Managed<Listening>> {
    await this.#fd?.stop();
    this.#fd = await startFlightdeck(this.paths.root, this.fdDataDir, this.cacheMb);
    return this.#fd;
  }

  /**
   * flightdeck restarted with nothing of the measured data in memory: a fresh process, warmed on the
   * unrelated `warmup` dataset (JIT, worker threads, WASM), then the page cache dropped.
   */
  async coldFd(): Promise<Managed<Listening>> {
    const fd = await this.startFd();
    const start = BigInt(this.gen.start_ns);
    await this.get(fd.info.url, { path: [WARMUP] });
    await this.get(fd.info.url, { cmd: { dataset: WARMUP, symbols: ['S0010'], start: iso(start), end: iso(start + DAY_NS) } });
    this.cold();
    return fd;
  }

  async startPeer(opts: PeerOptions): Promise<Managed<Listening>> {
    await this.#peer?.stop();
    this.#peer = await startPeer(this.paths.root, this.paths.python, opts);
    return this.#peer;
  }

  /** Stops both servers (the GraphQL scenario starts the whole stack instead). */
  async stopServers(): Promise<void> {
    await this.#fd?.stop();
    await this.#peer?.stop();
    this.#fd = undefined;
    this.#peer = undefined;
  }

  fdUrl(): string {
    if (!this.#fd?.running) throw new Error(`flightdeck is not running\n${this.#fd?.logs() ?? ''}`);
    return this.#fd.info.url;
  }

  peerUrl(): string {
    if (!this.#peer?.running) throw new Error(`the peer is not running\n${this.#peer?.logs() ?? ''}`);
    return this.#peer.info.url;
  }

  // --- Flight calls ---------------------------------------------------------------------------

  async action<T>(url: string, type: string, body: object = {}): Promise<T> {
    const r = await this.py.request<{ result: T }>({ op: 'action', url, type, body });
    return r.result;
  }

  async describe(): Promise<Describe> {
    return this.action<Describe>(this.fdUrl(), 'describe_dataset', { name: DATASET });
  }

  async cacheStats(): Promise<CacheStats | null> {
    const h = await this.action<{ cache?: CacheStats }>(this.fdUrl(), 'health');
    return h.cache ?? null;
  }

  /** The Parquet bytes flightdeck says it read (health.io.bytesRead), or null when not reported. */
  async #reportedBytesRead(): Promise<number | null> {
    const h = await this.action<{ io?: { bytesRead?: number } }>(this.fdUrl(), 'health');
    return typeof h.io?.bytesRead === 'number' ? h.io.bytesRead : null;
  }

  /** get() on flightdeck, adding the server-reported Parquet bytes read during the call. */
  async fdGet(descriptor: Descriptor): Promise<GetResult> {
    const before = await this.#reportedBytesRead();
    const r = await this.get(this.fdUrl(), descriptor, this.py, this.#fd!.pid);
    const after = await this.#reportedBytesRead();
    if (before !== null && after !== null) r.reported_bytes_read = after - before;
    return r;
  }

  /** GetFlightInfo + DoGet of every endpoint through `client`; with `pid`, that process's file I/O and CPU. */
  async get(url: string, descriptor: Descriptor, client: JsonWorker = this.py, pid?: number): Promise<GetResult> {
    const before = pid === undefined ? null : ioCounters(pid);
    const cpuBefore = pid === undefined ? NaN : cpuSeconds(pid);
    const r = await client.request<GetResult>({ op: 'get', url, descriptor });
    const cpuAfter = pid === undefined ? NaN : cpuSeconds(pid);
    const after = pid === undefined ? null : ioCounters(pid);
    const rep: GetResult = {
      seconds: r.seconds,
      rows: r.rows,
      bytes: r.bytes,
      plan_seconds: r.plan_seconds,
      first_batch_seconds: r.first_batch_seconds,
      endpoint_wait_seconds: r.endpoint_wait_seconds,
      batches: r.batches,
      endpoints: r.endpoints,
      total_records: r.total_records,
      total_bytes: r.total_bytes,
      client_cpu_seconds: r.client_cpu_seconds,
    };
    if (!Number.isNaN(cpuAfter - cpuBefore)) rep.server_cpu_seconds = cpuAfter - cpuBefore;
    if (before && after) {
      rep.io_rchar = after.rchar - before.rchar;
      rep.io_read_bytes = after.readBytes - before.readBytes;
    }
    return rep;
  }

  /** Runs one scenario unless --scenarios leaves it out, turning a failure into a row that says so. */
  async scenario(id: string, title: string, body: (run: BenchRun) => Promise<void>): Promise<void> {
    if (id !== 'ingest' && this.cfg.only !== null && !this.cfg.only.has(id)) return;
    const load = loadavg()[0]!;
    this.log(`${title} (load average ${load.toFixed(2)})`);
    const t0 = Date.now();
    try {
      if (this.#fd && !this.#fd.running) {
        const { code, signal } = await this.#fd.exited;
        this.notes.push(`flightdeck exited on its own before "${title}" (code ${code}, signal ${signal}); restarted. Its last log lines: ${this.#fd.stderr.tail(5) || this.#fd.stdout.tail(5)}`);
        await this.startFd();
      }
      await body(this);
    } catch (err) {
      const msg = err instanceof Error ? err.message.split('\n')[0]! : String(err);
      this.log(`${title} failed: ${msg}`);
      if (err instanceof Error) process.stderr.write(`${err.stack ?? err.message}\n`);
      this.failed(id, title, msg);
    }
    this.scenarioLog.push({ id, load: Number(load.toFixed(2)), seconds: Math.round((Date.now() - t0) / 100) / 10 });
  }
}
