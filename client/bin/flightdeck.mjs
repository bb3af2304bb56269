#!/usr/bin/env node
// The `flightdeck` command. The CLI is TypeScript source; it runs from an esbuild bundle of it,
// rebuilt when a source file changes (scripts/entry-bundle.mjs says why: tsx's loader hooks
// doubled the start of every command), or through tsx where the bundle cache cannot be written.
import { pathToFileURL } from 'node:url';
import { bundledEntry, isUnwritableCache } from '../../scripts/entry-bundle.mjs';

const source = new URL('../src/cli/main.ts', import.meta.url);
let cli;
try {
  cli = await import(pathToFileURL(await bundledEntry(source.pathname)).href);
} catch (error) {
  if (!isUnwritableCache(error)) throw error;
  (await import('tsx/esm/api')).register();
  cli = await import(source.href);
}
await cli.main();
