/**
 * The explorer page's files (the Vite build of `web/`, `web/dist` by default, `EXPLORER_DIR` to
 * move it), served by the gateway on its own port beside `/graphql`:
 *
 * - `GET|HEAD /` and `/index.html`: the page, `cache-control: no-cache` with an ETag, so a new build
 *   is picked up on the next load (304 when unchanged).
 * - `GET|HEAD /assets/<name>`: the hashed bundles, `cache-control: public, max-age=31536000,
 *   immutable`; a name that is not a file of the build is a 404 (plain text naming it). Names are
 *   one path segment of `[A-Za-z0-9._-]`, so nothing outside the build is ever read.
 * - Content types by extension; gzip when the client accepts it (compressed once per file version).
 * - Page not built: `/` answers 503 in words, saying how to build it (`npm run build -w web`).
 * - Any other method on these paths: 405 with `allow`. Every other path (`/graphql`, the probes,
 *   unknown routes) goes to the GraphQL HTTP front untouched.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Logger } from 'pino';

const gzipAsync = promisify(gzip);

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.map', '.svg', '.txt']);
const ASSET_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/;
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

interface Cached {
  key: string;
  etag: string;
  body: Buffer;
  gzipped: Buffer | undefined;
}

export interface ExplorerAssetsOptions {
  /** The build folder holding `index.html` and `assets/`. */
  dir: string;
  logger: Logger;
}

/** Answers the page's requests; `handle` returns false for requests that are not the page's. */
export class ExplorerAssets {
  private readonly cache = new Map<string, Cached>();

  constructor(private readonly options: ExplorerAssetsOptions) {}

  /** The file a path names, or undefined when the path is not the page's. */
  private fileOf(pathname: string): { file: string; cacheControl: string; page: boolean } | 'unknown-asset' | undefined {
    if (pathname === '/' || pathname === '/index.html') return { file: join(this.options.dir, 'index.html'), cacheControl: REVALIDATE, page: true };
    if (!pathname.startsWith('/assets/')) return undefined;
    let name: string;
    try {
      name = decodeURIComponent(pathname.slice('/assets/'.length));
    } catch {
      return 'unknown-asset';
    }
    if (!ASSET_NAME.test(name) || name.includes('..')) return 'unknown-asset';
    return { file: join(this.options.dir, 'assets', name), cacheControl: IMMUTABLE, page: false };
  }

  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const target = this.fileOf(url.pathname);
    if (target === undefined) return false;
    const method = (req.method ?? 'GET').toUpperCase();
    if (method !== 'GET' && method !== 'HEAD') {
      send(res, 405, 'text/plain; charset=utf-8', `${method} is not allowed on ${url.pathname}; use GET or HEAD\n`, { allow: 'GET, HEAD' });
      return true;
    }
    if (target === 'unknown-asset') {
      send(res, 404, 'text/plain; charset=utf-8', `no such asset: ${url.pathname}\n`);
      return true;
    }
    this.serve(req, res, method, url.pathname, target).catch((err: unknown) => {
      this.options.logger.error({ err, path: url.pathname }, 'explorer asset failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    });
    return true;
  }

  private async serve(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    pathname: string,
    target: { file: string; cacheControl: string; page: boolean },
  ): Promise<void> {
    const entry = await this.load(target.file);
    if (entry === undefined) {
      if (target.page) {
        send(
          res,
          503,
          'text/html; charset=utf-8',
          `<!doctype html><meta charset="utf-8"><title>flightdeck explorer unavailable</title>` +
            `<p>The explorer page is unavailable: it has not been built (no index.html in ${escapeHtml(this.options.dir)}). ` +
            `Run <code>npm run build -w web</code>, or start everything with <code>npm start</code>, which builds it.</p>` +
            `<p>GraphQL is served at <a href="/graphql">/graphql</a>.</p>\n`,
          { 'cache-control': 'no-store' },
        );
      } else {
        send(res, 404, 'text/plain; charset=utf-8', `no such asset: ${pathname}\n`);
      }
      return;
    }
    const type = CONTENT_TYPES[extname(target.file).toLowerCase()] ?? 'application/octet-stream';
    const headers: Record<string, string> = { 'content-type': type, 'cache-control': target.cacheControl, etag: entry.etag, vary: 'accept-encoding', 'x-content-type-options': 'nosniff' };
    if (req.headers['if-none-match'] === entry.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const gzipOk = entry.gzipped !== undefined && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzipOk ? entry.gzipped! : entry.body;
    if (gzipOk) headers['content-encoding'] = 'gzip';
    res.writeHead(200, { ...headers, 'content-length': String(body.length) });
    res.end(method === 'HEAD' ? undefined : body);
  }

  /** The file's bytes (and gzip), cached per (size, mtime); undefined when it is not a file. */
  private async load(file: string): Promise<Cached | undefined> {
    let info;
    try {
      info = await stat(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw err;
    }
    if (!info.isFile()) return undefined;
    const key = `${info.size}:${info.mtimeMs}`;
    const cached = this.cache.get(file);
    if (cached?.key === key) return cached;
    const body = await readFile(file);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    const gzipped = COMPRESSIBLE.has(extname(file).toLowerCase()) && body.length > 1024 ? await gzipAsync(body) : undefined;
    const entry = { key, etag, body, gzipped };
    this.cache.set(file, entry);
    return entry;
  }
}

function send(res: ServerResponse, status: number, type: string, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/**
 * Puts the page in front of the server's request handlers: its paths are answered here, every
 * other request reaches the handlers the server already had (the GraphQL front), as before.
 */
export function serveExplorer(server: Server, options: ExplorerAssetsOptions): ExplorerAssets {
  const assets = new ExplorerAssets(options);
  const front = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (assets.handle(req, res)) return;
    for (const listener of front) listener.call(server, req, res);
  });
  return assets;
}
