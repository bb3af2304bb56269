#!/usr/bin/env node
/**
 * `npm run pack:client [-- --out DIR]`: builds @flightdeck/contract, @flightdeck/proto and
 * @flightdeck/client as installable npm tarballs (built JavaScript + type declarations) for use
 * outside this repository: `npm install DIR/*.tgz` in any Node >= 20.19 project.
 *
 * In the repository the three packages run from their TypeScript sources (their `exports` point at
 * src/*.ts, loaded through tsx); that cannot work from a user's node_modules. So each package is
 * compiled with tsc (ES2022, NodeNext, .js + .d.ts) into a staging directory under the OS temp
 * dir, where it gets a package.json of its own:
 * - `exports` point at the built files (`types` + `default` conditions);
 * - dependencies keep the source package.json's ranges, except that @flightdeck/* name the
 *   sibling tarballs' exact versions, and `tsx` is dropped (nothing built needs it);
 * - proto keeps `flight.proto` at its package root, beside `dist/`, so `flightProtoPath`
 *   (`new URL('../flight.proto', import.meta.url)` from dist/service-definition.js) still finds it;
 * - client's `flightdeck` bin is a small ESM file importing dist/cli/main.js (no tsx);
 * then `npm pack` writes flightdeck-{contract,proto,client}-<version>.tgz into the output
 * directory (default `dist-packages/` at the repository root, which gets a `.gitignore` of `*`),
 * replacing tarballs of those packages left there by an earlier run.
 *
 * The repository's own package.json files are not touched.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const DEFAULT_OUT = join(root, 'dist-packages');

/** The packages in build order (each depends only on those before it), and what each ships. */
const PACKAGES = [
  { dir: 'contract', exports: { '.': 'index' }, extraFiles: [] },
  { dir: 'proto', exports: { '.': 'index' }, extraFiles: ['flight.proto'] },
  { dir: 'client', exports: { '.': 'sdk/index', './cli': 'cli/main' }, extraFiles: ['README.md'], bin: { flightdeck: 'cli/main' } },
];
/** Dependencies of the source packages that only running from TypeScript sources needs. */
const SOURCE_ONLY_DEPENDENCIES = new Set(['tsx']);

function usage(message) {
  if (message) process.stderr.write(`pack-client: ${message}\n`);
  process.stderr.write('usage: node scripts/pack-client.mjs [--out DIR]   (npm run pack:client -- --out DIR)\n');
  process.exit(message ? 2 : 0);
}

function parseArgs(argv) {
  let out;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--out' || arg === '-o') {
      out = argv[++i];
      if (!out) usage(`${arg} needs a directory`);
    } else if (arg.startsWith('--out=')) out = arg.slice('--out='.length);
    else if (arg === '--help' || arg === '-h') usage();
    else if (!arg.startsWith('-') && out === undefined) out = arg;
    else usage(`unknown argument ${arg}`);
  }
  // Under `npm run`, the working directory is the repository root; a relative --out means the caller's.
  const cwd = process.env.npm_lifecycle_event === 'pack:client' && process.env.INIT_CWD ? process.env.INIT_CWD : process.cwd();
  return { out: out === undefined ? DEFAULT_OUT : resolve(cwd, out) };
}

function run(cmd, args, cwd) {
  const result = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${result.status}) in ${cwd}\n${result.stdout}${result.stderr}`);
  }
  return result.stdout;
}

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function writeJson(path, value) {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** `sdk/index` -> the `types` + `default` pair of its built files. */
function built(entry) {
  return { types: `./dist/${entry}.d.ts`, default: `./dist/${entry}.js` };
}

/** Compiles `<dir>/src` (tests excluded) to `<stage>/<dir>/dist`, resolving earlier packages to their staged declarations. */
function compile(pkg, stage, builtTypes) {
  const outDir = join(stage, pkg.dir, 'dist');
  const tsconfig = join(stage, `tsconfig.${pkg.dir}.json`);
  writeJson(tsconfig, {
    extends: join(root, 'tsconfig.base.json'),
    compilerOptions: {
      noEmit: false,
      declaration: true,
      rootDir: join(root, pkg.dir, 'src'),
      outDir,
      typeRoots: [join(root, 'node_modules', '@types')],
      // Without this, `@flightdeck/contract` would resolve to the workspace's TypeScript
      // sources, which tsc would then try to emit into this package.
      paths: builtTypes,
    },
    include: [join(root, pkg.dir, 'src', '**', '*.ts')],
    exclude: [join(root, pkg.dir, 'src', '**', '*.test.ts')],
  });
  run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', tsconfig], root);
}

/** The staged package.json: the source one's identity and dependencies, exports to dist/. */
function stagedManifest(pkg, source, versions) {
  const dependencies = {};
  for (const [name, range] of Object.entries(source.dependencies ?? {})) {
    if (SOURCE_ONLY_DEPENDENCIES.has(name)) continue;
    dependencies[name] = versions.get(name) ?? range;
  }
  const rootManifest = readJson(join(root, 'package.json'));
  return {
    name: source.name,
    version: source.version,
    // Kept: the tarballs are for installing from a file or a private registry, not for npmjs.org.
    private: source.private,
    ...(source.description ? { description: source.description } : {}),
    type: 'module',
    engines: rootManifest.engines,
    ...(pkg.bin ? { bin: Object.fromEntries(Object.keys(pkg.bin).map((name) => [name, `./bin/${name}.mjs`])) } : {}),
    exports: {
      ...Object.fromEntries(Object.entries(pkg.exports).map(([subpath, entry]) => [subpath, built(entry)])),
      './package.json': './package.json',
    },
    types: built(pkg.exports['.']).types,
    files: ['dist', ...(pkg.bin ? ['bin'] : []), ...pkg.extraFiles],
    dependencies,
  };
}

function stagePackage(pkg, stage, versions, builtTypes) {
  const source = readJson(join(root, pkg.dir, 'package.json'));
  compile(pkg, stage, builtTypes);
  const dir = join(stage, pkg.dir);
  for (const file of pkg.extraFiles) copyFileSync(join(root, pkg.dir, file), join(dir, file));
  for (const [name, entry] of Object.entries(pkg.bin ?? {})) {
    mkdirSync(join(dir, 'bin'), { recursive: true });
    writeFileSync(
      join(dir, 'bin', `${name}.mjs`),
      `#!/usr/bin/env node\n// The \`${name}\` command, built: no TypeScript loader needed.\nimport { main } from '../dist/${entry}.js';\n\nawait main();\n`,
      { mode: 0o755 },
    );
  }
  writeJson(join(dir, 'package.json'), stagedManifest(pkg, source, versions));
  builtTypes[source.name] = [join(dir, 'dist', `${pkg.exports['.']}.d.ts`)];
  return dir;
}

function main() {
  const { out } = parseArgs(process.argv.slice(2));
  const versions = new Map(PACKAGES.map((pkg) => {
    const manifest = readJson(join(root, pkg.dir, 'package.json'));
    return [manifest.name, manifest.version];
  }));
  mkdirSync(out, { recursive: true });
  if (out === DEFAULT_OUT && !existsSync(join(out, '.gitignore'))) writeFileSync(join(out, '.gitignore'), '*\n');
  const stale = /^flightdeck-(contract|proto|client)-.*\.tgz$/;
  for (const file of readdirSync(out)) if (stale.test(file)) rmSync(join(out, file));

  const stage = mkdtempSync(join(tmpdir(), 'flightdeck-pack-'));
  try {
    // The staged declarations import apache-arrow, grpc-js, ...: let tsc find them where npm ci put them.
    symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'), 'dir');
    const builtTypes = {};
    const tarballs = [];
    for (const pkg of PACKAGES) {
      const dir = stagePackage(pkg, stage, versions, builtTypes);
      const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', out], dir));
      tarballs.push(join(out, packed.filename));
      process.stderr.write(`pack-client: ${packed.name}@${packed.version}: ${packed.entryCount} files, ${packed.size} bytes\n`);
    }
    process.stdout.write(`${tarballs.join('\n')}\n`);
    process.stderr.write(`pack-client: install into a project with\n  npm install ${tarballs.join(' ')}\n`);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

try {
  main();
} catch (err) {
  process.stderr.write(`pack-client: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
