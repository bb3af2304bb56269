#!/usr/bin/env node
// The `flightdeck` command. The CLI is TypeScript source; it runs from an esbuild bundle of it,
// rebuilt when a source file changes (scripts/entry-bundle.mjs says why: tsx's loader hooks
// doubled the start of every command).
import { pathToFileURL } from 'node:url';
import { bundledEntry } from '../../scripts/entry-bundle.mjs';

const { main } = await import(pathToFileURL(await bundledEntry(new URL('../src/cli/main.ts', import.meta.url).pathname)).href);
await main();
