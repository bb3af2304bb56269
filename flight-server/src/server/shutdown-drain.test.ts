/**
 * A graceful stop (SIGTERM to the real server process) while a slow client is still reading a
 * DoGet: a read that ends within the grace period gets every row and OK; a read still open when the
 * grace ends is cut with a logged warning and a status that says why (a reset when the client
 * stalled), also when its handler had already handed HTTP/2 its last rows.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, constants, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlightClient, FlightError } from '@flightdeck/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRequest } from '../../test-support/raw-flight-calls.js';
import { killStartedServerProcesses, startServerProcess, type ServerProcess } from '../../test-support/server-process.js';
import { seedBars } from '../../test-support/test-fixture.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CUT_WARNING = 'cutting the calls still open';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fd-drain-'));
});
afterAll(async () => {
  await killStartedServerProcesses();
  await rm(dir, { recursive: true, force: true });
});

async function serverWithBars(name: string, env: Record<string, string>, seed: Parameters<typeof seedBars>[2]): Promise<{ proc: ServerProcess; rows: number }> {
  const proc = await startServerProcess({ DATA_DIR: join(dir, name), ...env });
  const seeder = new FlightClient(proc.url);
  try {
    return { proc, rows: await seedBars(seeder, 'bars', seed) };
  } finally {
    seeder.close();
  }
}

/** The rolling-restart test's reader: a small HTTP/2 window, a consumer that sleeps after every batch; SIGTERM after the first. */
async function slowReadAcrossSigterm(proc: ServerProcess, pauseMs: number): Promise<{ rows: number; error: FlightError | undefined }> {
  const client = new FlightClient(proc.url, { channelOptions: { 'grpc-node.flow_control_window': 65_535 } });
  let rows = 0;
  try {
    for await (const batch of client.doGet('{"dataset":"bars"}')) {
      if (rows === 0) process.kill(proc.pid, 'SIGTERM');
      rows += batch.numRows;
      await sleep(pauseMs);
    }
    return { rows, error: undefined };
  } catch (e) {
    return { rows, error: e as FlightError };
  } finally {
    client.close();
  }
}

interface RawDoGet {
  stream: ClientHttp2Stream;
  /** DATA bytes received so far. */
  bytes: () => number;
  trailers: Promise<IncomingHttpHeaders | null>;
  closed: Promise<number>;
}

/** A DoGet on node:http2 with a stream window of `windowBytes`, read by the test at will. */
function rawDoGet(proc: ServerProcess, windowBytes: number, opts: { paused?: boolean } = {}): RawDoGet & { close(): void } {
  const session = connect(`http://${proc.url.replace('grpc://', '')}`, { settings: { initialWindowSize: windowBytes } });
  session.on('error', () => undefined);
  const stream = session.request({ ':method': 'POST', ':path': '/arrow.flight.protocol.FlightService/DoGet', 'content-type': 'application/grpc', te: 'trailers' });
  stream.on('error', () => undefined);
  const msg = encodeRequest('DoGet', { ticket: Buffer.from('{"dataset":"bars"}') });
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(msg.length, 1);
  stream.end(Buffer.concat([prefix, msg]));
  let bytes = 0;
  if (opts.paused) stream.pause();
  stream.on('data', (chunk: Buffer) => (bytes += chunk.length));
  if (opts.paused) stream.pause();
  const trailers = new Promise<IncomingHttpHeaders | null>((resolve) => {
    stream.once('trailers', (h) => resolve(h));
    stream.once('close', () => resolve(null));
  });
  const closed = new Promise<number>((resolve) => stream.once('close', () => resolve(stream.rstCode ?? 0)));
  return { stream, bytes: () => bytes, trailers, closed, close: () => session.destroy() };
}

describe('graceful stop of a server process during a slow DoGet', () => {
  it('delivers every row and OK when the read ends within the grace period', { timeout: 90_000 }, async () => {
    const { proc, rows } = await serverWithBars('drains', { FLIGHT_BATCH_ROWS: '50', FLIGHT_SHUTDOWN_GRACE_MS: '30000' }, { symbols: ['A', 'B', 'C', 'D'], days: 3 });
    const read = await slowReadAcrossSigterm(proc, 5);
    expect({ rows: read.rows, error: read.error?.message }).toEqual({ rows, error: undefined });
    expect(await proc.exited).toBe(0);
    expect(proc.logs.some((l) => l.includes(CUT_WARNING))).toBe(false);
  });

  it('cuts a read still running at the end of the grace period with a warning, and UNAVAILABLE saying why or a dropped connection', { timeout: 90_000 }, async () => {
    // About 10 MB: the handler is still running at the cut.
    const symbols = Array.from({ length: 20 }, (_, i) => `S${i}`);
    const { proc } = await serverWithBars('cut-running', { FLIGHT_SHUTDOWN_GRACE_MS: '1000' }, { symbols, days: 25 });
    // A reader taking about 1 MB/s through a 64 KiB window.
    const slow = rawDoGet(proc, 65_535);
    slow.stream.on('data', () => {
      slow.stream.pause();
      setTimeout(() => slow.stream.resume(), 15);
    });
    while (slow.bytes() === 0) await sleep(20);
    process.kill(proc.pid, 'SIGTERM');
    const [trailers, rstCode] = await Promise.all([slow.trailers, slow.closed]);
    slow.close();
    // Our status when the bytes queued before it reach the client within the cut's last second,
    // else the connection closes under the stream (no trailers: gRPC clients say UNAVAILABLE);
    // never a clean end, which would pass the cut read off as whole.
    if (trailers) {
      expect(trailers['grpc-status']).toBe('14');
      expect(decodeURIComponent(String(trailers['grpc-message']))).toMatch(/server shut down before this DoGet finished/);
    } else {
      expect(rstCode, 'a stream without trailers was not ended cleanly').not.toBe(constants.NGHTTP2_NO_ERROR);
    }
    expect(await proc.exited).toBe(0);
    expect(proc.logs.some((l) => l.includes(CUT_WARNING))).toBe(true);
  });

  it('counts a DoGet open until the client has its last bytes: with its handler done, the grace period still ends with a warning, and the stream its status', { timeout: 90_000 }, async () => {
    // Small messages, so the last write fits under the HTTP/2 stream's buffer limit and the handler ends.
    const { proc } = await serverWithBars('cut-draining', { FLIGHT_BATCH_ROWS: '50', FLIGHT_SHUTDOWN_GRACE_MS: '500' }, { symbols: ['A', 'B'], days: 1 });
    // The whole response's size, from a reader that takes it all.
    const full = rawDoGet(proc, 1 << 20);
    expect((await full.trailers)?.['grpc-status']).toBe('0');
    const total = full.bytes();
    full.close();
    // A reader whose window holds all but the last 4 KB: the handler hands those to HTTP/2 and ends.
    // Paused from the start, so that nothing is consumed and the window never grows.
    const slow = rawDoGet(proc, total - 4096, { paused: true });
    for (let i = 0; i < 250 && slow.stream.readableLength < total - 4096; i++) await sleep(20);
    expect(slow.stream.readableLength).toBe(total - 4096);
    const handlersDone = () => proc.logs.filter((l) => l.includes('"msg":"DoGet ok"')).length;
    for (let i = 0; i < 100 && handlersDone() < 2; i++) await sleep(50);
    expect(handlersDone(), 'both handlers are done, the slow stream still open').toBe(2);
    process.kill(proc.pid, 'SIGTERM');
    await sleep(800); // past the grace period, within the cut's last word
    // The handler had ended the stream with OK: a reader that takes the rest now gets all of it and OK.
    slow.stream.resume();
    const trailers = await slow.trailers;
    expect(slow.bytes()).toBe(total);
    expect(trailers?.['grpc-status']).toBe('0');
    slow.close();
    expect(await proc.exited).toBe(0);
    expect(proc.logs.some((l) => l.includes(CUT_WARNING))).toBe(true);
  });
});
