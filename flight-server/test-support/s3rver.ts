/**
 * An S3-compatible object store for tests: s3rver in a child process on 127.0.0.1, a free port
 * and a temporary directory, with one bucket. `stop()` kills it (by pid) to simulate an outage;
 * `start()` brings it back on the same port over the same directory (its objects intact);
 * `close()` stops it for good and removes the directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const S3RVER_BIN = join(require.resolve('s3rver/package.json'), '..', 'bin', 's3rver.js');

export interface S3rverHarness {
  /** `http://127.0.0.1:<port>`, for S3_ENDPOINT. */
  endpoint: string;
  port: number;
  bucket: string;
  /** `s3://<bucket>/<prefix>` for DATA_URL. */
  dataUrl(prefix: string): string;
  /** S3_ENDPOINT and s3rver's fixed credentials, as env entries. */
  env: Record<string, string>;
  /** Kills the server (SIGKILL by pid) and waits until it has exited; its objects stay on disk. */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory. */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
}

/** s3rver's built-in account. */
export const S3RVER_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };

const STARTUP_MS = 15_000;

function launch(dir: string, port: number, bucket: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [S3RVER_BIN, '--directory', dir, '--address', '127.0.0.1', '--port', String(port), '--silent', '--no-vhost-buckets', '--configure-bucket', bucket], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`s3rver did not start within ${STARTUP_MS} ms: ${err || out}`));
    }, STARTUP_MS);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on [^:\s]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with ${code} before listening: ${err || out}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startS3rver(bucket = 'flightdeck'): Promise<S3rverHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'fd-s3rver-'));
  let { child, port } = await launch(dir, 0, bucket);
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await exited(child);
  };
  return {
    endpoint,
    port,
    bucket,
    dataUrl: (prefix) => `s3://${bucket}/${prefix}`,
    env: { S3_ENDPOINT: endpoint, ...S3RVER_CREDENTIALS },
    stop,
    async start() {
      await stop();
      child = (await launch(dir, port, bucket)).child;
    },
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
