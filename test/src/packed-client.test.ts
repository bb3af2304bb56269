/**
 * The Node client as a user installs it: `scripts/pack-client.mjs` packs @flightdeck/contract,
 * proto and client into tarballs, a fresh npm project outside the repository installs them, and
 * client/README.md's example (the ```js block of "Node: in your own project") runs there with plain
 * `node` against a real flight-server, as does the packed `flightdeck` command. The installed
 * declarations type-check a TypeScript module with top-level await.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, DatasetStore, loadConfig, startFlightServer, type RunningFlightServer } from '@flightdeck/flight-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './cli-harness.js';
import { markdownBlocks } from './markdown-blocks.js';

const README = join(repoRoot, 'client', 'README.md');
const MARKER = 'test/src/packed-client.test.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (killing its process group after `timeoutMs`). */
function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, npm_config_update_notifier: 'false', npm_config_yes: 'false', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${opts.timeoutMs} ms]`;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, opts.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function expectOk(result: Run, what: string): string {
  if (result.code !== 0) throw new Error(`${what} failed (exit ${result.code})\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

const blocks = markdownBlocks(README).filter((b) => b.skip?.includes(MARKER));
const shellBlock = blocks.find((b) => b.lang === 'sh');
const exampleBlock = blocks.find((b) => b.lang === 'js');

let dir: string | undefined;
let project: string;
let tarballs: string[];
let server: RunningFlightServer | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fd-packed-'));
  const out = join(dir, 'packages');
  const packed = expectOk(await run(process.execPath, [join(repoRoot, 'scripts', 'pack-client.mjs'), '--out', out], { cwd: repoRoot, timeoutMs: 240_000 }), 'pack-client');
  tarballs = packed.trim().split('\n');

  project = join(dir, 'my-project');
  await mkdir(project);
  expectOk(await run('npm', ['init', '-y'], { cwd: project, timeoutMs: 60_000 }), 'npm init');
  expectOk(await run('npm', ['pkg', 'set', 'type=module'], { cwd: project, timeoutMs: 60_000 }), 'npm pkg set');
  expectOk(await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...tarballs], { cwd: project, timeoutMs: 300_000 }), 'npm install');

  const config = loadConfig({ FLIGHT_HOST: '127.0.0.1', FLIGHT_PORT: '0', DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'silent' });
  const logger = createLogger('silent');
  server = await startFlightServer({ config, store: await DatasetStore.open(config, logger), logger });
}, 600_000);

afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the packed Node client in a project of its own', () => {
  it('packs three tarballs whose @flightdeck dependencies are each other', () => {
    expect(tarballs.map((t) => t.slice(t.lastIndexOf('/') + 1))).toEqual([
      expect.stringMatching(/^flightdeck-contract-\d+\.\d+\.\d+\.tgz$/),
      expect.stringMatching(/^flightdeck-proto-\d+\.\d+\.\d+\.tgz$/),
      expect.stringMatching(/^flightdeck-client-\d+\.\d+\.\d+\.tgz$/),
    ]);
    // Installed from the tarballs, not linked to the repository, and without tsx.
    expect(readdirSync(join(project, 'node_modules', '@flightdeck')).sort()).toEqual(['client', 'contract', 'proto']);
    expect(existsSync(join(project, 'node_modules', '@flightdeck', 'client', 'dist', 'sdk', 'index.js'))).toBe(true);
    expect(existsSync(join(project, 'node_modules', '@flightdeck', 'proto', 'flight.proto'))).toBe(true);
    expect(existsSync(join(project, 'node_modules', 'tsx'))).toBe(false);
  });

  it('the README shows the steps this test takes', () => {
    expect(shellBlock, `a \`\`\`sh block marked with ${MARKER} in ${README}`).toBeDefined();
    expect(exampleBlock, `a \`\`\`js block marked with ${MARKER} in ${README}`).toBeDefined();
    const steps = shellBlock!.code;
    expect(steps).toMatch(/^npm run pack:client\b/m);
    expect(steps).toMatch(/^npm install \S*dist-packages\/\*\.tgz\b/m);
    expect(steps).toMatch(/^node example\.mjs\b/m);
    expect(steps).toMatch(/^npx flightdeck ls\b/m);
    expect(exampleBlock!.code).toContain("process.env.FLIGHT_URL ?? 'grpc://127.0.0.1:8815'");
  });

  it("runs the README's example.mjs with plain node", async () => {
    await writeFile(join(project, 'example.mjs'), exampleBlock!.code);
    const out = expectOk(await run(process.execPath, ['example.mjs'], { cwd: project, env: { FLIGHT_URL: server!.url }, timeoutMs: 60_000 }), 'node example.mjs');
    expect(out.split('\n').filter((l) => l !== '')).toEqual([
      'wrote 3 rows: version 1',
      'dataset node_quotes: 3 rows',
      'AAPL 2024-01-02T14:30:00.000Z 185.6 185.7',
      'AAPL 2024-01-02T14:31:00.000Z 185.9 186',
    ]);
  });

  it('runs the packed flightdeck command', async () => {
    const env = { FLIGHT_URL: server!.url };
    const ls = expectOk(await run('npx', ['flightdeck', 'ls'], { cwd: project, env, timeoutMs: 60_000 }), 'npx flightdeck ls');
    expect(ls).toMatch(/^node_quotes\s+3\s+\S+ \S+\s+symbol, ts, bid, ask$/m);
    const version = expectOk(await run('npx', ['flightdeck', '--version'], { cwd: project, env, timeoutMs: 60_000 }), 'npx flightdeck --version');
    expect(version.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const get = expectOk(
      await run('npx', ['flightdeck', 'get', 'node_quotes', '--symbols', 'MSFT', '--columns', 'symbol,ts,ask'], { cwd: project, env, timeoutMs: 60_000 }),
      'npx flightdeck get',
    );
    expect(get.trim().split('\n')).toEqual(['symbol,ts,ask', 'MSFT,2024-01-02T14:30:00.000000000Z,370.3']);
  });

  it('type-checks TypeScript modules (the README example among them) against the installed declarations', async () => {
    await writeFile(
      join(project, 'check.mts'),
      [
        "import { FlightClient, cmdDescriptor, type FlightErrorCode } from '@flightdeck/proto';",
        "import { DatasetWriter, type WriteResult } from '@flightdeck/client';",
        "import { isInterval } from '@flightdeck/contract';",
        "const client = new FlightClient('grpc://127.0.0.1:8815');",
        "const info = await client.getFlightInfo(cmdDescriptor({ dataset: 'd', interval: isInterval('1h') ? '1h' : undefined }));",
        'const rows: number = info.totalRecords;',
        "const writer = new DatasetWriter({ client, dataset: 'd' });",
        'const result: WriteResult = await writer.write([{ ts: 0 }]);',
        "const code: FlightErrorCode = 'NOT_FOUND';",
        '// @ts-expect-error not an option: proves the declarations are read, not `any`',
        "new DatasetWriter({ client, dataset: 'd', noSuchOption: true });",
        'console.log(rows, result, code);',
        '',
      ].join('\n'),
    );
    // The README's example as TypeScript, with the two non-null assertions the README names.
    const typed = exampleBlock!.code.replace('flight.flightDescriptor.path', 'flight.flightDescriptor!.path').replace('endpoint.ticket.ticket', 'endpoint.ticket!.ticket');
    expect(typed.match(/!\./g)).toHaveLength(2);
    await writeFile(join(project, 'example.mts'), typed);
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022'];
    args.push('--types', 'node', '--typeRoots', join(repoRoot, 'node_modules', '@types'), 'check.mts', 'example.mts');
    const result = await run(process.execPath, args, { cwd: project, timeoutMs: 120_000 });
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});
