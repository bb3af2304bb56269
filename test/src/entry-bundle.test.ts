/**
 * scripts/entry-bundle.mjs: the bundles that `npm start`, the `flightdeck` bin and the tests run
 * instead of tsx must never run stale code, and must leave each module's `import.meta.url` its own.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledEntry } from '../../scripts/entry-bundle.mjs';

let dir: string;
/** The bundle cache's directory, once a bundle was made: this file's entries are removed from it. */
let cacheDir: string | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fd-entry-bundle-'));
});

afterAll(async () => {
  if (cacheDir !== undefined) {
    const ours = (await readdir(cacheDir)).filter((name) => name.includes(basename(dir)));
    await Promise.all(ours.map((name) => rm(join(cacheDir!, name), { recursive: true, force: true })));
  }
  await rm(dir, { recursive: true, force: true });
});

const run = (bundle: string) => JSON.parse(execFileSync(process.execPath, [bundle], { encoding: 'utf8' })) as { value: number; where: string; lazy: string };

describe('entry bundles', () => {
  it('keep import.meta.url per module, keep dynamic imports lazy, and rebuild when a source changes', async () => {
    const lib = join(dir, 'lib.ts');
    const lazy = join(dir, 'lazy.ts');
    const main = join(dir, 'main.ts');
    await writeFile(lib, 'export const value: number = 1;\nexport const where = import.meta.url;\n');
    await writeFile(lazy, 'export const lazyWhere = import.meta.url;\n');
    await writeFile(
      main,
      "import { value, where } from './lib.js';\nconst { lazyWhere } = await import('./lazy.js');\nprocess.stdout.write(JSON.stringify({ value, where, lazy: lazyWhere }));\n",
    );

    const first = await bundledEntry(main);
    cacheDir = dirname(dirname(first));
    expect(run(first)).toEqual({ value: 1, where: pathToFileURL(lib).href, lazy: pathToFileURL(lazy).href });
    expect(await bundledEntry(main)).toBe(first);

    await writeFile(lib, 'export const value: number = 22;\nexport const where = import.meta.url;\n');
    const second = await bundledEntry(main);
    expect(second).not.toBe(first);
    expect(run(second).value).toBe(22);

    // A source removed from the import graph (and from disk) is no reason to keep the old bundle either.
    await writeFile(main, "process.stdout.write(JSON.stringify({ value: 3, where: '', lazy: '' }));\n");
    await rm(lib);
    expect(run(await bundledEntry(main)).value).toBe(3);
  });

  it('where the bundle cache cannot be written, the flightdeck bin runs its source through tsx', () => {
    const bin = join(import.meta.dirname, '..', '..', 'client', 'bin', 'flightdeck.mjs');
    // A path under a regular file: mkdir fails with ENOTDIR, even for root.
    const out = execFileSync(process.execPath, [bin, '--version'], { encoding: 'utf8', env: { ...process.env, FLIGHTDECK_BUNDLE_CACHE: '/dev/null/cache' } });
    expect(out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('a source that does not compile fails the build, naming the file', async () => {
    const broken = join(dir, 'broken.ts');
    await writeFile(broken, 'export const = ;\n');
    await expect(bundledEntry(broken)).rejects.toThrow(/broken\.ts/);
  });
});
