/**
 * `npm run compose -w gateway [-- --out FILE] [--financial-sdl FILE] [--users-sdl FILE]`: composes
 * the supergraph with @apollo/composition and writes it (default `supergraph.graphql`, i.e.
 * gateway/supergraph.graphql under npm's workspace cwd). Each subgraph's SDL comes from its file
 * when given, else from the running subgraph at FACADE_URL / USERS_URL; those URLs are the routing
 * URLs in the supergraph either way. Serve the result with SUPERGRAPH_FILE.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { composeSupergraph } from './compose.js';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { fetchSdl } from './subgraphs.js';

const config = loadConfig();
const logger = createLogger(config.logLevel);
try {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: 'supergraph.graphql' },
      'financial-sdl': { type: 'string' },
      'users-sdl': { type: 'string' },
    },
  });
  const files: Record<string, string | undefined> = { financial: values['financial-sdl'], users: values['users-sdl'] };
  const subgraphs = await Promise.all(
    config.subgraphs.map(async (s) => {
      const file = files[s.name];
      return file === undefined ? fetchSdl(s) : { name: s.name, url: s.url, sdl: await readFile(file, 'utf8') };
    }),
  );
  const supergraph = composeSupergraph(subgraphs);
  const out = resolve(values.out);
  await writeFile(out, supergraph);
  logger.info({ out, subgraphs: subgraphs.map((s) => ({ name: s.name, url: s.url })) }, 'supergraph written');
} catch (err) {
  logger.fatal({ err }, `compose failed: ${(err as Error).message}`);
  process.exitCode = 1;
}
