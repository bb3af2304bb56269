/**
 * The explorer page's build: one HTML file and hashed assets under `dist/` (lightweight-charts and
 * graphql-ws bundled in, nothing fetched from elsewhere), served by the gateway at `GET /`.
 * `npm run dev -w web` serves the page with hot reload and proxies `/graphql` (HTTP and WebSocket)
 * to a running gateway (`GATEWAY_URL`, default http://127.0.0.1:4000).
 */
import { defineConfig } from 'vite';

const gateway = process.env.GATEWAY_URL ?? 'http://127.0.0.1:4000';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: { '/graphql': { target: gateway, ws: true } },
  },
});
