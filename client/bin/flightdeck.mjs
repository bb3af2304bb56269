#!/usr/bin/env node
// The `flightdeck` command: the CLI is TypeScript source, loaded through tsx's ESM hooks.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main();
