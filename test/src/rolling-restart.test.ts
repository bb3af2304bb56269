/**
 * Rolling restart without failed calls (issue 13): two Flight replicas A and B on loopback, one
 * PostgreSQL catalog (a database of the test's own, dropped after) and one shared DATA_DIR, each
 * advertising its own port. While a reader and a writer run, the test SIGTERMs A, waits for it to
 * exit (0: a graceful stop), starts it again on the same port and advertised URL, waits until B
 * lists it in the endpoint locations, then does the same to B.
 *
 * - The reader: pass after pass, GetFlightInfo of the whole dataset through one replica (the other
 *   when that one answers with a transient error: its own retry), then every endpoint read with
 *   the proto package's LocationReader following locations (failing over on UNAVAILABLE /
 *   CANCELLED). Each pass must hold every row of the version it read once: the version is the
 *   `as_of` its tickets are pinned to, and its row count must be what the writer's acknowledged
 *   commits up to that version hold.
 * - The writer: the crawler SDK's DatasetWriter, one per replica (a DatasetWriter talks to one
 *   server). A write goes through the current one, which retries transient failures itself; when
 *   it still fails transiently the write moves to the other replica. Chunks are written one after
 *   the other, each one commit of fresh keys; upserts by key make every resend safe.
 *
 * - At each SIGTERM one more read is in flight on the victim: the whole dataset in one DoGet,
 *   consumed slowly, through a LocationReader whose second location is the other replica. The
 *   victim must exit 0 without cutting it ("cutting the calls still open" is not logged), and the
 *   read must end with every row of its version once.
 *
 * A call "fails" when it fails as its client sees it, after the client's own retries. The test
 * asserts none does, and that the acknowledged rows are in the dataset exactly once at the end.
 * Counts go to the console.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlightClient, LocationReader, pathDescriptor, type ClientFlightInfo } from '@flightdeck/proto';
import { DatasetWriter, isTransientError, type Row } from '@flightdeck/client';
import { createTestDatabase, PG_AVAILABLE, type TestDatabase } from '../../flight-server/test-support/pg-catalog.js';
import { freePort, killStartedServerProcesses, startServerProcess, type ServerProcess } from '../../flight-server/test-support/server-process.js';

const DATASET = 'ticks';
const SYMBOLS = Array.from({ length: 20 }, (_, i) => `S${String(i).padStart(2, '0')}`);
const MINUTES_PER_CHUNK = 30;
/** Rows of one write: 20 symbols x 30 minutes, keys no other chunk has. */
const CHUNK_ROWS = SYMBOLS.length * MINUTES_PER_CHUNK;
const BASE_MS = Date.UTC(2024, 0, 2);
/** Bounds of the run: loops stop at these counts even if the restarts take longer. */
const MAX_WRITES = 600;
const MAX_PASSES = 600;
/** Whole-test budget for waiting on one phase (start, exit, listed). */
const PHASE_TIMEOUT_MS = 40_000;
const GRACE_MS = 30_000;
/** Channels that reconnect promptly once a restarted replica is back (grpc-js otherwise backs off up to 2 min). */
const CHANNEL_OPTIONS = { 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 1000 };

function chunkRows(k: number): Row[] {
  const rows: Row[] = [];
  for (let m = 0; m < MINUTES_PER_CHUNK; m++) {
    const ts = new Date(BASE_MS + (k * MINUTES_PER_CHUNK + m) * 60_000).toISOString();
    for (const [s, symbol] of SYMBOLS.entries()) rows.push({ symbol, ts, price: k * 1000 + m * 20 + s });
  }
  return rows;
}

/** The chunk a row's key belongs to (ts as apache-arrow reads it back: epoch ms as a number, or ns as a bigint). */
const chunkOfTs = (ts: unknown) => {
  const ms = typeof ts === 'bigint' ? Number(ts / 1_000_000n) : Number(ts);
  return Math.floor((ms - BASE_MS) / 60_000 / MINUTES_PER_CHUNK);
};

/**
 * The committed version a FlightInfo's endpoints are pinned to. Tickets are opaque to clients;
 * this test knows ours (`fd1:` + base64url JSON whose query names `as_of`, wire/ticket.ts).
 */
function versionOf(info: ClientFlightInfo): number {
  const versions = new Set<number>();
  for (const e of info.endpoint) {
    const text = Buffer.from(e.ticket!.ticket).toString('latin1');
    expect(text.startsWith('fd1:')).toBe(true);
    const body = JSON.parse(Buffer.from(text.slice(4), 'base64url').toString('utf8')) as { q: { as_of?: number } };
    versions.add(body.q.as_of!);
  }
  expect(versions.size, 'every endpoint of one FlightInfo is pinned to one version').toBe(1);
  return [...versions][0]!;
}

const locationsOf = (info: ClientFlightInfo) => info.endpoint.map((e) => e.location.map((l) => l.uri));

async function within<T>(ms: number, what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const t0 = performance.now();
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (performance.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir: string;
let db: TestDatabase;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fd-rolling-'));
  if (PG_AVAILABLE) db = await createTestDatabase();
});
afterAll(async () => {
  if (PG_AVAILABLE) await db.drop();
  await rm(dir, { recursive: true, force: true });
});

interface Replica {
  name: 'A' | 'B';
  port: number;
  url: string;
  proc: ServerProcess;
}

describe.skipIf(!PG_AVAILABLE)('rolling restart of two replicas', () => {
  it('a reader following locations and an SDK writer see no failed call; every acknowledged row once', { timeout: 90_000 }, async () => {
    const t0 = performance.now();
    const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
    const procs: ServerProcess[] = [];
    const clients: FlightClient[] = [];
    const start = async (name: 'A' | 'B', port: number): Promise<Replica> => {
      const url = `grpc://127.0.0.1:${port}`;
      const proc = await startServerProcess({
        DATA_DIR: dir,
        CATALOG_URL: db.url,
        FLIGHT_PORT: String(port),
        FLIGHT_ADVERTISE_URL: url,
        FLIGHT_ENDPOINT_ROWS: '1',
        FLIGHT_COMPACT_FILES: '0',
        FLIGHT_BATCH_ROWS: '1000',
        FLIGHT_SHUTDOWN_GRACE_MS: String(GRACE_MS),
      });
      procs.push(proc);
      expect(proc.url).toBe(url);
      return { name, port, url, proc };
    };
    const client = (url: string) => {
      const c = new FlightClient(url, { channelOptions: CHANNEL_OPTIONS });
      clients.push(c);
      return c;
    };

    const stop = { requested: false };
    const phases: string[] = [];
    let reader: LocationReader | null = null;
    const writers: DatasetWriter[] = [];
    try {
      const [portA, portB] = [await freePort(), await freePort()];
      const replicas = await Promise.all([start('A', portA), start('B', portB)]);
      const urls = replicas.map((r) => r.url);
      const homes = urls.map(client);
      phases.push(`${elapsed()} A and B listening`);

      // ---- writer: one SDK DatasetWriter per replica, moving to the other on a transient failure ----
      const w = {
        calls: 0,
        failed: [] as string[],
        sdkRetries: 0,
        moves: 0,
        retryReasons: new Set<string>(),
        /** Acknowledged chunks in order, with the version their commit answered. */
        acked: [] as { chunk: number; version: number; retried: boolean }[],
        current: 0,
      };
      for (const url of urls) {
        writers.push(
          new DatasetWriter({
            url,
            clientOptions: { channelOptions: CHANNEL_OPTIONS },
            dataset: DATASET,
            create: { timeColumn: 'ts', keyColumns: ['symbol'], partition: 'hour' },
            batchRows: CHUNK_ROWS,
            chunkBatches: 1,
            maxRetries: 3,
            initialBackoffMs: 100,
            maxBackoffMs: 800,
            onProgress: (p) => {
              if (p.event === 'retry') {
                w.sdkRetries++;
                const e = p.error as { code?: string; message?: string };
                w.retryReasons.add(`${e.code ?? '?'}: ${String(e.message).slice(0, 120)}`);
              }
            },
          }),
        );
      }
      /** One write as the client sees it: the SDK's retries, then at most 4 moves between replicas. */
      const writeChunk = async (k: number): Promise<void> => {
        w.calls++;
        let retried = false;
        for (let move = 0; ; move++) {
          const writer = writers[w.current]!;
          const retriesBefore = w.sdkRetries;
          try {
            const res = await writer.write(chunkRows(k));
            if (w.sdkRetries > retriesBefore) retried = true;
            w.acked.push({ chunk: k, version: res.version!, retried });
            return;
          } catch (e) {
            retried = true;
            if (!isTransientError(e) || move >= 4) {
              w.failed.push(`${elapsed()} write of chunk ${k} through ${urls[w.current]}: ${(e as Error).message}`);
              return;
            }
            w.moves++;
            w.current = 1 - w.current;
          }
        }
      };
      // The dataset is created by the first write, before the clients start.
      await writeChunk(0);
      expect(w.failed).toEqual([]);

      // Both replicas list both before anything is stopped.
      for (const [i, home] of homes.entries()) {
        await within(PHASE_TIMEOUT_MS, `${urls[i]} lists both replicas`, async () => {
          const l = locationsOf(await home.getFlightInfo(pathDescriptor(DATASET)));
          return l.length > 0 && l.every((x) => x.length === 2) ? true : undefined;
        });
      }

      const writerLoop = (async () => {
        for (let k = 1; k < MAX_WRITES && !stop.requested; k++) {
          await writeChunk(k);
          await sleep(20);
        }
      })();

      // ---- reader: GetFlightInfo of the whole dataset, endpoints read following locations ----
      const r = {
        passes: 0,
        failed: [] as string[],
        infoRetries: 0,
        failovers: [] as string[],
        endpointsRead: 0,
        /** Each pass: the version read, its row count, its distinct keys. */
        seen: [] as { version: number; rows: number; keys: number; via: string }[],
      };
      reader = new LocationReader(homes[0]!, {
        concurrency: 2,
        clientOptions: { channelOptions: CHANNEL_OPTIONS },
        onFailover: (e) => r.failovers.push(`${elapsed()} endpoint ${e.endpoint} at ${e.location}: ${e.error.code} after ${e.deliveredRows} rows`),
      });
      const readPass = async (n: number): Promise<void> => {
        r.passes++;
        // Alternate the replica asked for the FlightInfo; on a transient failure ask the other (bounded).
        let info: ClientFlightInfo | null = null;
        let via = '';
        for (let attempt = 0; info === null; attempt++) {
          const i = (n + attempt) % 2;
          try {
            info = await homes[i]!.getFlightInfo(pathDescriptor(DATASET));
            via = urls[i]!;
          } catch (e) {
            if (!isTransientError(e) || attempt >= 6) {
              r.failed.push(`${elapsed()} pass ${n}: GetFlightInfo through ${urls[i]}: ${(e as Error).message}`);
              return;
            }
            r.infoRetries++;
            await sleep(100);
          }
        }
        try {
          const version = versionOf(info);
          const keys = new Set<string>();
          let rows = 0;
          for await (const batch of reader!.batches(info)) {
            for (const row of batch) keys.add(`${row!.symbol}@${row!.ts}`);
            rows += batch.numRows;
          }
          r.endpointsRead += info.endpoint.length;
          r.seen.push({ version, rows, keys: keys.size, via });
        } catch (e) {
          r.failed.push(`${elapsed()} pass ${n} (FlightInfo through ${via}): ${(e as Error).message}`);
        }
      };
      const readerLoop = (async () => {
        for (let n = 0; n < MAX_PASSES && !stop.requested; n++) {
          await readPass(n);
          await sleep(20);
        }
      })();

      // ---- the rolling restart ----
      const d = { calls: 0, failed: [] as string[], failovers: [] as string[], seen: [] as { version: number; rows: number; keys: number; via: string }[], afterSignal: [] as string[] };
      const restart = async (i: 0 | 1): Promise<void> => {
        const victim = replicas[i]!;
        const other = homes[1 - i]!;
        await sleep(1500);
        // A call in flight when the signal comes: the whole dataset (as of the current version) in
        // one DoGet (a query as the ticket) to the victim first, consumed slowly through a small
        // HTTP/2 window so the victim is still sending when it is told to stop. Read the way the
        // other clients read: a LocationReader with the other replica as the second location.
        const drainClient = client(victim.url);
        const pinned = versionOf(await drainClient.getFlightInfo(pathDescriptor(DATASET)));
        const ticket = Buffer.from(JSON.stringify({ dataset: DATASET, as_of: pinned }));
        const slowReader = new LocationReader(drainClient, {
          concurrency: 1,
          bufferBatches: 1,
          clientOptions: { channelOptions: { ...CHANNEL_OPTIONS, 'grpc-node.flow_control_window': 65_535 } },
          onFailover: (e) => d.failovers.push(`${victim.name}: ${e.error.code} "${e.error.message}" after ${e.deliveredRows} rows, ${(performance.now() - signalledAt) | 0} ms after SIGTERM`),
        });
        const endpoint = { ticket: { ticket }, location: [{ uri: victim.url }, { uri: urls[1 - i]! }] } as unknown as ClientFlightInfo['endpoint'][number];
        let firstBatch: () => void = () => undefined;
        const started = new Promise<void>((resolve) => (firstBatch = resolve));
        let signalledAt = 0;
        const slowRead = (async () => {
          d.calls++;
          const keys = new Set<string>();
          let rows = 0;
          try {
            for await (const batch of slowReader.batches({ endpoint: [endpoint] })) {
              for (const row of batch) keys.add(`${row!.symbol}@${row!.ts}`);
              rows += batch.numRows;
              firstBatch();
              await sleep(60);
            }
            d.seen.push({ version: pinned, rows, keys: keys.size, via: victim.url });
            d.afterSignal.push(`${victim.name}: ${rows} rows at version ${pinned}, ended ${(performance.now() - signalledAt) | 0} ms after SIGTERM`);
          } catch (e) {
            d.failed.push(`slow read of version ${pinned} from ${victim.name} after ${rows} rows: ${(e as Error).message}`);
          } finally {
            firstBatch();
            slowReader.close();
          }
        })();
        await started;
        phases.push(`${elapsed()} SIGTERM ${victim.name}`);
        signalledAt = performance.now();
        process.kill(victim.proc.pid, 'SIGTERM');
        const exitedAfter = victim.proc.exited.then(() => Math.round(performance.now() - signalledAt));
        await slowRead;
        const status = await Promise.race([victim.proc.exited, sleep(PHASE_TIMEOUT_MS).then(() => 'still running')]);
        expect(status, `${victim.name} exits 0 after SIGTERM`).toBe(0);
        expect(victim.proc.logs.some((l) => l.includes('"replica deregistered"')), `${victim.name} deregistered`).toBe(true);
        const shutdownLog = victim.proc.logs.filter((l) => /"msg":"[^"]*(stopping|stopped|cutting|deregistered)/.test(l)).map((l) => /"msg":"([^"]*)"/.exec(l)![1]);
        phases.push(`${elapsed()} ${victim.name} exited 0, ${await exitedAfter} ms after SIGTERM (${shutdownLog.join('; ')})`);
        expect(victim.proc.logs.some((l) => l.includes('cutting the calls still open')), `${victim.name} drained its calls, none cut`).toBe(false);
        replicas[i] = await start(victim.name, victim.port);
        phases.push(`${elapsed()} ${victim.name} listening again`);
        await within(PHASE_TIMEOUT_MS, `${victim.url} listed again by the other replica`, async () => {
          const l = locationsOf(await other.getFlightInfo(pathDescriptor(DATASET)));
          return l.length > 0 && l.every((x) => x.includes(victim.url)) ? true : undefined;
        });
        phases.push(`${elapsed()} ${victim.name} live in the locations`);
      };
      try {
        await restart(0);
        await restart(1);
        await sleep(1500);
      } finally {
        stop.requested = true;
        await Promise.all([writerLoop, readerLoop]);
      }
      phases.push(`${elapsed()} clients stopped`);

      // ---- the end state: every acknowledged chunk's rows exactly once, nothing else ----
      const final = await homes[0]!.getFlightInfo(pathDescriptor(DATASET));
      const finalVersion = versionOf(final);
      const byChunk = new Map<number, number>();
      const keys = new Set<string>();
      let finalRows = 0;
      for await (const batch of reader.batches(final)) {
        for (const row of batch) {
          keys.add(`${row!.symbol}@${row!.ts}`);
          const c = chunkOfTs(row!.ts);
          byChunk.set(c, (byChunk.get(c) ?? 0) + 1);
        }
        finalRows += batch.numRows;
      }

      const ackedChunks = w.acked.map((a) => a.chunk);
      console.log(
        [
          'rolling restart:',
          ...phases.map((p) => `  ${p}`),
          `  writer: ${w.calls} writes (${w.acked.length} acknowledged, ${w.failed.length} failed), ${w.sdkRetries} SDK retries, ${w.moves} moves to the other replica`,
          `  reader: ${r.passes} passes (${r.seen.length} complete, ${r.failed.length} failed), ${r.endpointsRead} endpoints read, ${r.infoRetries} GetFlightInfo retries, ${r.failovers.length} location failovers`,
          ...[...w.retryReasons].map((e) => `    writer retry after ${e}`),
          ...r.failovers.map((f) => `    failover ${f}`),
          `  drained reads (in flight at SIGTERM): ${d.calls} (${d.seen.length} complete, ${d.failed.length} failed)`,
          ...d.afterSignal.map((x) => `    ${x}`),
          ...d.failovers.map((x) => `    failover ${x}`),
          `  versions read: ${r.seen[0]?.version}..${r.seen.at(-1)?.version}; final version ${finalVersion}, ${finalRows} rows`,
          ...w.failed.map((f) => `  FAILED ${f}`),
          ...r.failed.map((f) => `  FAILED ${f}`),
          ...d.failed.map((f) => `  FAILED ${f}`),
        ].join('\n'),
      );

      expect(w.failed, 'failed writes').toEqual([]);
      expect(r.failed, 'failed reader passes').toEqual([]);
      expect(d.failed, 'reads cut by a graceful stop').toEqual([]);
      expect(d.seen).toHaveLength(2);
      expect(w.acked.length).toBe(w.calls);
      // Both restarts really happened under load: writes and passes on either side of them.
      expect(w.acked.length).toBeGreaterThan(10);
      expect(r.seen.length).toBeGreaterThan(10);

      // No acknowledged row lost, none duplicated, nothing unacknowledged (every write ended acknowledged).
      expect(new Set(ackedChunks).size).toBe(ackedChunks.length);
      expect(finalRows).toBe(keys.size);
      expect(finalRows).toBe(ackedChunks.length * CHUNK_ROWS);
      expect([...byChunk.keys()].sort((a, b) => a - b)).toEqual([...ackedChunks].sort((a, b) => a - b));
      expect([...byChunk.values()].every((n) => n === CHUNK_ROWS)).toBe(true);
      expect(finalVersion).toBeGreaterThanOrEqual(w.acked.at(-1)!.version);

      // Every pass: all rows of the version it read, each once. The writer writes one chunk at a
      // time, so version V holds the chunks acknowledged at versions <= V, plus the next chunk if
      // that one was resent (its first attempt may have committed before its acknowledgement).
      for (const [n, s] of [...r.seen, ...d.seen].entries()) {
        expect(s.keys, `pass ${n}: distinct keys = rows`).toBe(s.rows);
        const ackedBy = w.acked.filter((a) => a.version <= s.version).length;
        const next = w.acked[ackedBy];
        const allowed = [ackedBy * CHUNK_ROWS, ...(next?.retried ? [(ackedBy + 1) * CHUNK_ROWS] : [])];
        expect(allowed, `pass ${n} read ${s.rows} rows at version ${s.version} through ${s.via}`).toContain(s.rows);
      }
      // Monotonic by version: a later version never holds fewer rows.
      const byVersion = [...r.seen, ...d.seen].sort((a, b) => a.version - b.version);
      for (let i = 1; i < byVersion.length; i++) expect(byVersion[i]!.rows).toBeGreaterThanOrEqual(byVersion[i - 1]!.rows);
    } finally {
      stop.requested = true;
      reader?.close();
      for (const wr of writers) wr.close();
      for (const c of clients) c.close();
      await Promise.all(procs.map((p) => p.stop('SIGKILL')));
      await killStartedServerProcesses();
    }
  });
});
