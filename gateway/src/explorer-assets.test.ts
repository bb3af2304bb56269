import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveExplorer } from './explorer-assets.js';

const logger = pino({ level: 'silent' });
const PAGE = '<!doctype html><title>flightdeck explorer</title><script type="module" src="/assets/index-abc123.js"></script>\n';
const SCRIPT = `export const big = ${JSON.stringify('x'.repeat(4000))};\n`;

let dir: string;
let server: Server;
let base: string;

async function listenOn(s: Server): Promise<string> {
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fd-explorer-assets-'));
  await mkdir(join(dir, 'assets'));
  await writeFile(join(dir, 'index.html'), PAGE);
  await writeFile(join(dir, 'assets', 'index-abc123.js'), SCRIPT);
  await writeFile(join(dir, 'assets', 'index-abc123.css'), 'body { margin: 0 }\n');
  await writeFile(join(dir, 'secret.txt'), 'not an asset\n');
  // The front the page sits in front of: answers everything else (here with its path).
  server = createServer((req, res) => {
    res.writeHead(299, { 'content-type': 'text/plain' });
    res.end(`front ${req.method} ${req.url}`);
  });
  serveExplorer(server, { dir, logger });
  base = await listenOn(server);
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

describe('explorer assets', () => {
  it('serves the page at / with revalidation and an ETag, 304 when unchanged', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(await res.text()).toBe(PAGE);
    const etag = res.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await fetch(`${base}/index.html`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
  });

  it('serves hashed assets with their content types, immutable, gzip when accepted', async () => {
    const js = await fetch(`${base}/assets/index-abc123.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await js.text()).toBe(SCRIPT); // fetch undoes the gzip it asked for
    const css = await fetch(`${base}/assets/index-abc123.css`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');

    const raw = await rawGet('/assets/index-abc123.js', { 'accept-encoding': 'gzip' });
    expect(raw.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(raw.body).toString()).toBe(SCRIPT);
    const plain = await rawGet('/assets/index-abc123.js', {});
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.toString()).toBe(SCRIPT);

    const head = await fetch(`${base}/assets/index-abc123.css`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it.each(['/assets/nope.js', '/assets/..%2Fsecret.txt', '/assets/sub/dir.js', '/assets/', '/assets/%E0%A4%A', '/assets/.hidden'])(
    'answers 404 naming %s, reading nothing outside the build',
    async (path) => {
      const res = await fetch(`${base}${path}`);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(await res.text()).toMatch(/^no such asset: \/assets\//);
    },
  );

  it('resolves dot segments before routing, so they never reach the build folder', async () => {
    const raw = await rawGet('/assets/../secret.txt', {});
    expect(raw.body.toString()).toBe('front GET /assets/../secret.txt');
    const encoded = await rawGet('/assets/%2e%2e/secret.txt', {});
    expect(encoded.body.toString()).toBe('front GET /assets/%2e%2e/secret.txt');
  });

  it('refuses other methods on the page with 405 and leaves every other path to the front', async () => {
    const post = await fetch(`${base}/`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    for (const path of ['/graphql', '/healthz', '/favicon.ico', '/assetsx']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status).toBe(299);
      expect(await res.text()).toBe(`front GET ${path}`);
    }
  });

  it('says in words that the page is not built when the build is missing', async () => {
    const empty = createServer((_req, res) => res.end('front'));
    serveExplorer(empty, { dir: join(dir, 'no-build'), logger });
    const url = await listenOn(empty);
    try {
      const res = await fetch(`${url}/`);
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await res.text()).toMatch(/explorer page is unavailable: it has not been built.*npm run build -w web/s);
      expect((await fetch(`${url}/assets/index.js`)).status).toBe(404);
    } finally {
      await new Promise((resolve) => empty.close(resolve));
    }
  });
});

/** A GET without fetch's automatic decompression. */
async function rawGet(path: string, headers: Record<string, string>): Promise<{ headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(base);
    const req = request({ hostname, port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}
