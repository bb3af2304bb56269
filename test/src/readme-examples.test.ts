/**
 * The examples of README.md, client/README.md and user-service/README.md, run as printed, in the
 * order printed, against one freshly started stack (`npm start`, ports 0, temp data dirs), so the
 * documentation cannot drift from the code. The blocks are read from the Markdown: shell blocks
 * run with `bash -e -o pipefail` (`npx flightdeck` resolving to the repository's command), Python
 * blocks with `.venv/bin/python`, TypeScript blocks type-checked and run with tsx. The default
 * addresses in them (`127.0.0.1:8815`, `:4000`, `:4001`, `:4002`) are replaced with the ones the
 * stack printed, and FLIGHT_URL points the CLI at it. Each must exit 0 without a GraphQL error in
 * its output. Only blocks marked `<!-- readme-examples: skip (why) -->` are not run; `json` and
 * `graphql` blocks are data, not commands (the user service's schema block is compared with its
 * schema instead).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { userSubgraphSchema } from '@flightdeck/user-service';
import { buildSchema, type GraphQLField, type GraphQLObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './cli-harness.js';
import { markdownBlocks, type MarkdownBlock } from './markdown-blocks.js';

const FILES = ['README.md', 'client/README.md', 'user-service/README.md'];
/** Languages that hold data or a schema, not commands to run. */
const DATA_LANGS = new Set(['json', 'graphql']);
const RUNNABLE_LANGS = new Set(['sh', 'python', 'ts']);
/**
 * How many blocks of each file run, and how many are marked skip. A new example changes these on
 * purpose, so a block that silently stopped being found (a changed fence, a stray marker) fails here.
 */
const EXPECTED: Record<string, { run: number; skipped: number }> = {
  'README.md': { run: 2, skipped: 4 },
  'client/README.md': { run: 6, skipped: 2 },
  'user-service/README.md': { run: 3, skipped: 1 },
};
const BLOCK_TIMEOUT_MS = 300_000;

const blocks: MarkdownBlock[] = FILES.flatMap((file) => markdownBlocks(join(repoRoot, file)).map((b) => ({ ...b, file })));
const runnable = blocks.filter((b) => b.skip === undefined && !DATA_LANGS.has(b.lang));

interface Stack {
  gateway: string;
  facade: string;
  users: string;
  flight: string;
}

let dir: string | undefined;
let work: string;
let stackProcess: ChildProcess | undefined;
let stack: Stack;
let stackLog = '';
const ran: MarkdownBlock[] = [];

/** Starts `npm start` on ports 0 over temp data dirs; resolves with the URLs of its "flightdeck ready" line. */
function startStack(env: NodeJS.ProcessEnv): Promise<Stack> {
  const proc = spawn('npm', ['start', '--silent'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  stackProcess = proc;
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stackLog += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start not ready within 180 s\n${stackLog}`)), 180_000);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited early (code ${code}):\n${stackLog}`));
    });
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Partial<Stack> & { msg?: string };
        if (entry.msg === 'flightdeck ready') {
          clearTimeout(timer);
          resolve(entry as Stack);
        }
      } catch {
        // not a JSON line
      }
    });
  });
}

/** `http://127.0.0.1:4321/graphql` or `grpc://127.0.0.1:4321` -> `127.0.0.1:4321`. */
function hostPort(url: string): string {
  return new URL(url).host;
}

/** The block with the documented default addresses replaced by the running stack's. */
function localise(code: string): string {
  return code
    .replaceAll('127.0.0.1:8815', hostPort(stack.flight))
    .replaceAll('127.0.0.1:4000', hostPort(stack.gateway))
    .replaceAll('127.0.0.1:4001', hostPort(stack.facade))
    .replaceAll('127.0.0.1:4002', hostPort(stack.users));
}

interface Run {
  code: number | null;
  output: string;
}

/** Runs a command in the work dir to its end (killing its process group after the timeout). */
function run(cmd: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      FLIGHT_URL: stack.flight,
      PW: 'correct horse battery staple', // the password the hash-password example hashes
      npm_config_yes: 'false', // `npx flightdeck` must find the local command, never download one
      npm_config_update_notifier: 'false',
    };
    for (const name of ['FLIGHT_USER', 'FLIGHT_PASSWORD', 'FLIGHT_TOKEN', 'NODE_OPTIONS']) delete env[name];
    const child = spawn(cmd, args, { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const timer = setTimeout(() => {
      output += `\n[killed after ${BLOCK_TIMEOUT_MS} ms]`;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, BLOCK_TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

async function runBlock(block: MarkdownBlock, index: number): Promise<Run> {
  const code = localise(block.code);
  const base = join(work, `block-${index}`);
  switch (block.lang) {
    case 'sh':
      await writeFile(`${base}.sh`, code);
      return run('bash', ['-e', '-o', 'pipefail', `${base}.sh`]);
    case 'python':
      await writeFile(`${base}.py`, code);
      return run(join(repoRoot, '.venv', 'bin', 'python'), [`${base}.py`]);
    case 'ts': {
      await writeFile(`${base}.mts`, code);
      await writeFile(
        `${base}.tsconfig.json`,
        JSON.stringify({
          extends: join(repoRoot, 'tsconfig.base.json'),
          compilerOptions: { typeRoots: [join(repoRoot, 'node_modules', '@types')] },
          files: [`${base}.mts`],
        }),
      );
      const tsc = await run(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', `${base}.tsconfig.json`]);
      if (tsc.code !== 0) return { code: tsc.code, output: `tsc:\n${tsc.output}` };
      return run(process.execPath, ['--import', 'tsx', `${base}.mts`]);
    }
    default:
      throw new Error(`${block.file}:${block.line}: no runner for \`\`\`${block.lang} blocks: mark it <!-- readme-examples: skip (why) --> or teach this test`);
  }
}

beforeAll(async () => {
  const setup = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'setup-python.mjs')], { cwd: repoRoot, encoding: 'utf8' });
  if (setup.status !== 0) throw new Error(`scripts/setup-python.mjs failed\n${setup.stdout}${setup.stderr}`);
  dir = await mkdtemp(join(tmpdir(), 'fd-readme-'));
  // The examples' working directory: files they write land here; an ES module package whose
  // node_modules is the repository's, so `npx flightdeck` and `@flightdeck/*` resolve as in the checkout.
  work = join(dir, 'work');
  await mkdir(work);
  await writeFile(join(work, 'package.json'), '{ "private": true, "type": "module" }\n');
  await symlink(join(repoRoot, 'node_modules'), join(work, 'node_modules'), 'dir');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: join(dir, 'flight'),
    USERS_DATA_DIR: join(dir, 'users'),
    FLIGHT_PORT: '0',
    FACADE_PORT: '0',
    USERS_PORT: '0',
    GATEWAY_PORT: '0',
  };
  for (const name of ['DATABASE_URL', 'FLIGHT_USERS', 'FLIGHT_USERS_FILE']) delete env[name];
  stack = await startStack(env);
}, 240_000);

afterAll(async () => {
  const proc = stackProcess;
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe('README examples, in the order printed, on a fresh stack', () => {
  it('every block is runnable, data, or marked skip', () => {
    const unknown = blocks.filter((b) => b.skip === undefined && !DATA_LANGS.has(b.lang) && !RUNNABLE_LANGS.has(b.lang));
    expect(unknown.map((b) => `${b.file}:${b.line} \`\`\`${b.lang}`)).toEqual([]);
    const counts = Object.fromEntries(
      FILES.map((file) => [
        file,
        {
          run: runnable.filter((b) => b.file === file).length,
          skipped: blocks.filter((b) => b.file === file && b.skip !== undefined).length,
        },
      ]),
    );
    expect(counts).toEqual(EXPECTED);
  });

  runnable.forEach((block, index) => {
    it(
      `${block.file}:${block.line} (${block.lang})`,
      async () => {
        const result = await runBlock(block, index);
        const where = `${block.file}:${block.line} exited ${result.code}\n--- block (localised) ---\n${localise(block.code)}--- output ---\n${result.output}`;
        expect(result.code, where).toBe(0);
        expect(result.output, where).not.toMatch(/"errors"\s*:/);
        ran.push(block);
      },
      BLOCK_TIMEOUT_MS + 30_000,
    );
  });

  it('ran every runnable block', () => {
    expect(ran.map((b) => `${b.file}:${b.line}`)).toEqual(runnable.map((b) => `${b.file}:${b.line}`));
    expect(ran).toHaveLength(Object.values(EXPECTED).reduce((n, e) => n + e.run, 0));
  });

  it("user-service/README.md's schema block matches the user subgraph's Query and Mutation", () => {
    const sdl = blocks.find((b) => b.file === 'user-service/README.md' && b.lang === 'graphql');
    expect(sdl, 'a ```graphql block in user-service/README.md').toBeDefined();
    const documented = buildSchema(`scalar DateTime\ntype Instrument { symbol: String! }\n${sdl!.code}`);
    const signature = (field: GraphQLField<unknown, unknown>): string =>
      `${field.name}(${field.args.map((a) => `${a.name}: ${String(a.type)}`).join(', ')}): ${String(field.type)}`;
    const fields = (type: GraphQLObjectType | null | undefined, skip: (name: string) => boolean): string[] =>
      Object.values(type?.getFields() ?? {})
        .filter((f) => !skip(f.name))
        .map(signature)
        .sort();
    const federation = (name: string): boolean => name.startsWith('_'); // _entities, _service
    for (const typeName of ['Query', 'Mutation', 'User', 'Watchlist'] as const) {
      const actual = userSubgraphSchema.getType(typeName) as GraphQLObjectType;
      expect(fields(documented.getType(typeName) as GraphQLObjectType, () => false), typeName).toEqual(fields(actual, federation));
    }
  });
});
