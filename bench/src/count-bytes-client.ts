/**
 * A DoGet client that only counts bytes: node:http2 directly, the request framed by hand (gRPC's
 * 5-byte prefix before the Ticket protobuf), DATA bytes counted and never decoded, the largest
 * windows HTTP/2 allows. What a server can push through one stream when the client costs almost
 * nothing; the capacity scenario compares it with the loopback TCP ceiling.
 *
 *   node --import tsx bench/src/count-bytes-client.ts <url> <reps> <ticket base64>...
 *
 * Each repetition reads every ticket in order on one connection. Prints one JSON line:
 * {"reps":[{"seconds","bytes","cpuSeconds"}...]}; exits 1 on a non-OK status.
 */
import { connect, type ClientHttp2Session } from 'node:http2';

const MAX_WINDOW = 2 ** 31 - 1;
const MAX_FRAME = 2 ** 24 - 1;
const DO_GET_PATH = '/arrow.flight.protocol.FlightService/DoGet';

/** Ticket { bytes ticket = 1; } behind the gRPC prefix (flag 0, big-endian length). */
function framedTicket(ticket: Buffer): Buffer {
  const len: number[] = [];
  let n = ticket.length;
  do {
    len.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  const message = Buffer.concat([Buffer.from([0x0a, ...len]), ticket]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

function doGet(session: ClientHttp2Session, ticket: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': DO_GET_PATH, 'content-type': 'application/grpc', te: 'trailers' });
    let bytes = 0;
    let status: string | undefined;
    let message = '';
    stream.on('response', (headers) => {
      // A trailers-only answer carries the status in the headers.
      if (headers['grpc-status'] !== undefined) status = String(headers['grpc-status']);
      if (headers['grpc-message'] !== undefined) message = String(headers['grpc-message']);
    });
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    stream.on('trailers', (trailers) => {
      status = String(trailers['grpc-status']);
      message = String(trailers['grpc-message'] ?? '');
    });
    stream.on('error', reject);
    stream.on('close', () => {
      if (status === '0') resolve(bytes);
      else reject(new Error(`DoGet ended with grpc-status ${status ?? 'none'} (rst ${stream.rstCode}): ${decodeURIComponent(message)}`));
    });
    stream.end(framedTicket(ticket));
  });
}

async function main(): Promise<void> {
  const [url, repsArg, ...tickets] = process.argv.slice(2);
  if (!url || !repsArg || tickets.length === 0) throw new Error('usage: count-bytes-client.ts <url> <reps> <ticket base64>...');
  const session = connect(url.replace(/^grpc:/, 'http:'), {
    settings: { initialWindowSize: MAX_WINDOW, maxFrameSize: MAX_FRAME },
  });
  session.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  session.setLocalWindowSize(MAX_WINDOW);
  const decoded = tickets.map((t) => Buffer.from(t, 'base64'));
  const reps: { seconds: number; bytes: number; cpuSeconds: number }[] = [];
  for (let i = 0; i < Number(repsArg); i++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let bytes = 0;
    for (const ticket of decoded) bytes += await doGet(session, ticket);
    const cpu = process.cpuUsage(cpu0);
    reps.push({ seconds: (performance.now() - t0) / 1000, bytes, cpuSeconds: (cpu.user + cpu.system) / 1e6 });
  }
  session.close();
  process.stdout.write(`${JSON.stringify({ reps })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`count-bytes-client: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

