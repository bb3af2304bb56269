import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOCK_FILE, lockDataDir } from './data-dir-lock.js';

/** A pid that was a process a moment ago and is not any more (exited and reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.once('exit', r));
  return child.pid!;
}

describe('lockDataDir', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fd-lock-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes its owner, and release removes the file so the next server takes it', async () => {
    const lock = await lockDataDir(dir);
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: process.pid });
    await lock.release();
    await expect(readFile(join(dir, LOCK_FILE))).rejects.toThrow(/ENOENT/);
    await (await lockDataDir(dir)).release();
  });

  it('refuses a data directory a live process holds, naming it', async () => {
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
      await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: sleeper.pid, host: 'here', startedAt: '2026-12-06T00:00:00Z' }));
      const refused = await lockDataDir(dir, 'here').catch((e: unknown) => e as Error & { code: string });
      expect(refused).toBeInstanceOf(Error);
      expect((refused as { code: string }).code).toBe('FAILED_PRECONDITION');
      expect((refused as Error).message).toMatch(new RegExp(`DATA_DIR ${dir} is in use by flight server pid ${sleeper.pid} .*CATALOG_URL`));
      // Nothing was taken over.
      expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8')).pid).toBe(sleeper.pid);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('takes over at once the lock of a process that is gone (kill -9, crash) or a half-written file', async () => {
    await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: await deadPid(), host: 'here', startedAt: '2026-12-06T00:00:00Z' }));
    const lock = await lockDataDir(dir, 'here');
    expect(JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    await lock.release();
    await writeFile(join(dir, LOCK_FILE), '{"pid": 12');
    await (await lockDataDir(dir, 'here')).release();
  });

  it("refuses another host's lock while its heartbeat is fresh, takes it once stale", async () => {
    const path = join(dir, LOCK_FILE);
    await writeFile(path, JSON.stringify({ pid: 1, host: 'elsewhere', startedAt: '2026-12-06T00:00:00Z' }));
    await expect(lockDataDir(dir, 'here')).rejects.toThrow(/locked by a flight server on host elsewhere \(pid 1, .*last heartbeat/);
    const old = new Date(Date.now() - 60_000);
    await utimes(path, old, old);
    const lock = await lockDataDir(dir, 'here');
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ pid: process.pid, host: 'here' });
    await lock.release();
  });
});
