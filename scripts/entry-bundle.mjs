#!/usr/bin/env node
/**
 * Runnable bundles of the repository's TypeScript entry points (the services' `src/main.ts`, the
 * `flightdeck` CLI), built by esbuild and rebuilt whenever one of their source files changes.
 *
 * Why: on Node 20, tsx's loader hooks run on a separate thread, and every module a process loads
 * (each of apache-arrow's ~150 files, zod's ~100) crosses to that thread and back. Measured here
 * (2-core VM): a Flight server took 1.7 s from spawn to listening through tsx and 0.9 s from its
 * bundle; `import('apache-arrow')` alone 310 ms with any registered hook, 150 ms without. Tests
 * and `npm start` start hundreds of such processes.
 *
 * - Only the repository's own code is bundled; npm packages stay external imports, loaded by Node
 *   from node_modules as before (the bundles live under node_modules/.cache, so bare imports resolve
 *   from the repository root's node_modules).
 * - Each module's `import.meta.url` is replaced by its source file's URL, so the paths a module
 *   finds next to itself (flight.proto, SQL migrations, the Parquet encoder's worker, data/, the
 *   built explorer) are the ones it finds when run through tsx.
 * - Code splitting keeps `await import()` lazy: the CLI loads the S3 client only for s3:// backups.
 * - Freshness: a pointer file per entry lists every input with its size and mtime; a bundle is
 *   used only while all of them are unchanged (a few hundred stat calls, ~2 ms). Builds go to a
 *   new directory and the pointer is replaced by rename, so concurrent starts never see half a
 *   bundle; a build removes the entry's earlier build directories once they are a day old.
 *
 * - `FLIGHTDECK_BUNDLE_CACHE` names another cache directory (a read-only checkout). Where none can be
 *   written, {@link entryArgs} falls back to running the source through tsx, as before: slower to
 *   start, same behaviour.
 *
 * `node scripts/entry-bundle.mjs <entry.ts>` prints the bundle's path (for the Python tests).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const cacheDir = process.env.FLIGHTDECK_BUNDLE_CACHE ? resolve(process.env.FLIGHTDECK_BUNDLE_CACHE) : join(root, 'node_modules', '.cache', 'flightdeck-entries');
/** Errors that say the cache directory cannot be written here, not that the sources are wrong. */
const UNWRITABLE = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'ENOSPC']);
/** Bumped when the way bundles are built changes, so older bundles are not reused. */
const RECIPE = 1;
/**
 * Older builds of an entry are removed by the next build once this old: a process started from one
 * may still import one of its lazy chunks, so not at once.
 */
const STALE_DIR_MS = 24 * 60 * 60 * 1000;

/** `flight-server/src/main.ts` → `flight-server_src_main`. */
function entryKey(entry) {
  return relative(root, entry).replace(/\.[cm]?ts$/, '').replace(/[^\w-]+/g, '_');
}

function fingerprint(file) {
  const s = statSync(file);
  return `${s.size}:${s.mtimeMs}`;
}

/** The pointer's bundle when it exists and every input is unchanged; else undefined. */
function freshBundle(pointerPath) {
  let pointer;
  try {
    pointer = JSON.parse(readFileSync(pointerPath, 'utf8'));
  } catch {
    return undefined;
  }
  if (pointer.recipe !== RECIPE) return undefined;
  try {
    for (const [file, print] of Object.entries(pointer.inputs)) if (fingerprint(join(root, file)) !== print) return undefined;
  } catch {
    return undefined; // an input was removed
  }
  const main = join(cacheDir, pointer.dir, pointer.main);
  return existsSync(main) ? main : undefined;
}

/** esbuild plugin: the repository's modules keep their own `import.meta.url`; npm packages stay external. */
const sourceLocations = {
  name: 'source-locations',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('@flightdeck/') ? undefined : { path: args.path, external: true }));
    build.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const contents = source.replace(/\bimport\.meta\.url\b/g, JSON.stringify(pathToFileURL(args.path).href));
      const loader = /\.[cm]?ts$/.test(args.path) ? 'ts' : 'js';
      return { contents, loader };
    });
  },
};

async function buildBundle(entry, key, pointerPath) {
  const { build } = await import('esbuild');
  const dir = `${key}-${Date.now().toString(36)}-${process.pid}`;
  const outdir = join(cacheDir, dir);
  const result = await build({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outdir,
    outExtension: { '.js': '.mjs' },
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'silent',
    plugins: [sourceLocations],
  });
  const inputs = {};
  // Besides the bundled sources: this script and the compiler options, which shape every bundle.
  for (const file of [...Object.keys(result.metafile.inputs), 'scripts/entry-bundle.mjs', 'tsconfig.base.json']) inputs[file] = fingerprint(join(root, file));
  const main = `${basename(entry).replace(/\.[cm]?ts$/, '')}.mjs`;
  const tmp = `${pointerPath}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ recipe: RECIPE, dir, main, inputs }));
  renameSync(tmp, pointerPath);
  removeStaleDirs(key, dir);
  return join(outdir, main);
}

function removeStaleDirs(key, keep) {
  const now = Date.now();
  for (const name of readdirSync(cacheDir)) {
    // Only this entry's build directories (`<key>-<time>-<pid>`), not another entry whose key extends this one.
    if (name === keep || !name.startsWith(`${key}-`) || !/^[0-9a-z]+-\d+$/.test(name.slice(key.length + 1))) continue;
    const path = join(cacheDir, name);
    try {
      if (now - statSync(path).mtimeMs > STALE_DIR_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // removed by a concurrent build
    }
  }
}

/** The path of an up-to-date bundle of `entry` (a .ts file, absolute or relative to the repository root). */
export async function bundledEntry(entry) {
  const absolute = resolve(root, entry);
  const key = entryKey(absolute);
  const pointerPath = join(cacheDir, `${key}.json`);
  const fresh = freshBundle(pointerPath);
  if (fresh !== undefined) return fresh;
  mkdirSync(cacheDir, { recursive: true });
  return buildBundle(absolute, key, pointerPath);
}

/** Whether `error` means the bundle cache cannot be written (so the caller may run the source instead). */
export function isUnwritableCache(error) {
  return UNWRITABLE.has(error?.code);
}

/**
 * The `node` arguments that run `entry`: its bundle, or, where the cache cannot be written, the
 * source through tsx's hooks (`bundled` false).
 */
export async function entryArgs(entry) {
  try {
    return { args: [await bundledEntry(entry)], bundled: true };
  } catch (error) {
    if (!isUnwritableCache(error)) throw error;
    return { args: ['--import', 'tsx', resolve(root, entry)], bundled: false, reason: error.message };
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const entry = process.argv[2];
  if (entry === undefined) {
    process.stderr.write('usage: node scripts/entry-bundle.mjs <entry.ts>\n');
    process.exit(2);
  }
  process.stdout.write(`${await bundledEntry(entry)}\n`);
}
