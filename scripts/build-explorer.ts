/**
 * Builds the explorer page (`web/`, Vite) into `web/dist` when it is missing or stale, for
 * `npm start` and the browser tests. Stale means the fingerprint of its inputs (web/index.html,
 * web/src/**, the Vite config, web's package.json and the versions of the bundled packages)
 * differs from the one the last build wrote beside its output (`web/dist/.inputs-sha256`, never
 * served). Several processes may start at once: one builds under a lock folder (`web/.build-lock`,
 * taken over when its owner is gone), into a temporary folder that is then swapped in whole, so a
 * gateway never serves half a build; the others wait and find it fresh.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
export const WEB_DIR = join(root, 'web');
export const EXPLORER_DIST = join(WEB_DIR, 'dist');
const STAMP = '.inputs-sha256';
const LOCK = join(WEB_DIR, '.build-lock');
const LOCK_WAIT_MS = 180_000;
const BUILD_TIMEOUT_MS = 170_000;
const BUNDLED = ['vite', 'lightweight-charts', 'graphql-ws'];

export interface BuildLogger {
  info(obj: object, msg?: string): void;
}

export interface BuildOutcome {
  status: 'fresh' | 'built';
  dir: string;
  ms: number;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(entries.map((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : Promise.resolve(e.isFile() ? [join(dir, e.name)] : []))));
  return nested.flat();
}

/** The fingerprint of everything the build reads. */
export async function explorerInputsHash(): Promise<string> {
  const files = [join(WEB_DIR, 'index.html'), join(WEB_DIR, 'vite.config.ts'), join(WEB_DIR, 'package.json'), ...(await filesUnder(join(WEB_DIR, 'src')))]
    .filter((f) => !f.endsWith('.test.ts'))
    .sort();
  const hash = createHash('sha256');
  for (const file of files) hash.update(relative(WEB_DIR, file)).update('\0').update(await readFile(file)).update('\0');
  const require = createRequire(join(WEB_DIR, 'package.json'));
  for (const name of BUNDLED) {
    const { version } = JSON.parse(await readFile(require.resolve(`${name}/package.json`), 'utf8')) as { version: string };
    hash.update(`${name}@${version}\0`);
  }
  return hash.digest('hex');
}

async function builtHash(): Promise<string | undefined> {
  try {
    await readFile(join(EXPLORER_DIST, 'index.html'));
    return (await readFile(join(EXPLORER_DIST, STAMP), 'utf8')).trim();
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function acquireLock(log: BuildLogger): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  let told = false;
  for (;;) {
    try {
      await mkdir(LOCK);
      await writeFile(join(LOCK, 'pid'), String(process.pid));
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number(await readFile(join(LOCK, 'pid'), 'utf8').catch(() => ''));
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) {
      await rm(LOCK, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`the explorer page build lock ${LOCK} is still held (pid ${owner || 'unknown'}) after ${LOCK_WAIT_MS} ms`);
    if (!told) {
      log.info({ lock: LOCK, owner }, 'waiting for another build of the explorer page');
      told = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function runVite(outDir: string): Promise<void> {
  const vite = join(dirname(createRequire(join(WEB_DIR, 'package.json')).resolve('vite/package.json')), 'bin', 'vite.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [vite, 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], {
      cwd: WEB_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), BUILD_TIMEOUT_MS);
    // This process exiting mid-build (npm start stopped at once) takes the build with it.
    const killChild = () => child.kill('SIGKILL');
    process.prependOnceListener('exit', killChild);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      process.off('exit', killChild);
      if (code === 0) resolve();
      else reject(new Error(`vite build of the explorer page failed (code ${code}, signal ${signal}):\n${output.trim()}`));
    });
  });
}

/** Builds `web/dist` unless it is already built from the current inputs. */
export async function ensureExplorerBuilt(log: BuildLogger): Promise<BuildOutcome> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  const wanted = await explorerInputsHash();
  if ((await builtHash()) === wanted) return { status: 'fresh', dir: EXPLORER_DIST, ms: ms() };
  await acquireLock(log);
  const tmp = join(WEB_DIR, `.dist-tmp-${process.pid}`);
  const old = join(WEB_DIR, `.dist-old-${process.pid}`);
  // An exit while the lock is held leaves neither the lock nor a half build behind.
  const cleanUp = () => {
    for (const path of [tmp, LOCK]) rmSync(path, { recursive: true, force: true });
  };
  process.once('exit', cleanUp);
  try {
    if ((await builtHash()) === wanted) return { status: 'fresh', dir: EXPLORER_DIST, ms: ms() };
    log.info({ dir: EXPLORER_DIST }, 'building the explorer page');
    await rm(tmp, { recursive: true, force: true });
    try {
      await runVite(tmp);
      await writeFile(join(tmp, STAMP), `${wanted}\n`);
      await rm(old, { recursive: true, force: true });
      await rename(EXPLORER_DIST, old).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      await rename(tmp, EXPLORER_DIST);
    } finally {
      await rm(tmp, { recursive: true, force: true });
      await rm(old, { recursive: true, force: true });
    }
    log.info({ dir: EXPLORER_DIST, ms: ms() }, 'explorer page built');
    return { status: 'built', dir: EXPLORER_DIST, ms: ms() };
  } finally {
    process.off('exit', cleanUp);
    await rm(LOCK, { recursive: true, force: true });
  }
}
