/**
 * One server per data directory in local mode. The file catalog (`_catalog/` of each dataset)
 * assumes a single writer: a second server on the same DATA_DIR would number its commits from its
 * own idea of the current version and overwrite the first one's. Replicas share data only through
 * a PostgreSQL catalog (CATALOG_URL), which orders commits itself; this lock is for the file catalog.
 *
 * `DATA_DIR/_server.lock` holds the owner's pid, host and start time, created exclusively. A lock
 * left by a process that is gone (kill -9, a crash, a zombie not yet reaped) on this host is taken
 * over at once, so a restart after a crash never waits. The owner also touches the file every
 * HEARTBEAT_MS: a lock written on another host (a container's hostname changes when it is
 * recreated; its processes cannot be checked from here) is stale once its heartbeat is older than
 * STALE_MS. A lock held by a live process is refused, naming it and what to do.
 */
import { readFileSync } from 'node:fs';
import { mkdir, open, readFile, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { StorageError } from './errors.js';

export const LOCK_FILE = '_server.lock';
const HEARTBEAT_MS = 5_000;
const STALE_MS = 15_000;

const lockSchema = z.object({ pid: z.number().int().positive(), host: z.string(), startedAt: z.string() });
type LockOwner = z.infer<typeof lockSchema>;

export interface DataDirLock {
  readonly path: string;
  release(): Promise<void>;
}

/** Whether `pid` is a live process on this host (a zombie, exited but not yet reaped, is not). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists and belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ..."; comm may hold spaces or parentheses, so read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

async function readOwner(path: string): Promise<LockOwner | null> {
  try {
    const parsed = lockSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // Half written (the owner died between create and write) or not ours: treated as stale.
    return null;
  }
}

/** Takes the data directory for this process, or throws FAILED_PRECONDITION naming the owner. */
export async function lockDataDir(dataDir: string, host = hostname()): Promise<DataDirLock> {
  await mkdir(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, host, startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(`${JSON.stringify(me)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      const heartbeat = setInterval(() => {
        const now = new Date();
        utimes(path, now, now).catch(() => undefined);
      }, HEARTBEAT_MS);
      heartbeat.unref();
      return {
        path,
        release: async () => {
          clearInterval(heartbeat);
          const owner = await readOwner(path);
          if (owner?.pid === me.pid && owner.host === me.host) await unlink(path).catch(() => undefined);
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = await readOwner(path);
    const beatAgoMs = Date.now() - ((await stat(path).catch(() => null))?.mtimeMs ?? 0);
    if (owner !== null && owner.host !== host && beatAgoMs < STALE_MS) {
      throw new StorageError(
        'FAILED_PRECONDITION',
        `DATA_DIR ${dataDir} is locked by a flight server on host ${owner.host} (pid ${owner.pid}, since ${owner.startedAt}, ` +
          `last heartbeat ${(beatAgoMs / 1000).toFixed(1)} s ago); two servers on one data directory would overwrite each other's ` +
          `commits (replicas share data through CATALOG_URL). If that server is gone, its lock goes stale ${STALE_MS / 1000} s after its last heartbeat`,
      );
    }
    if (owner !== null && owner.host === host && owner.pid !== process.pid && alive(owner.pid)) {
      throw new StorageError(
        'FAILED_PRECONDITION',
        `DATA_DIR ${dataDir} is in use by flight server pid ${owner.pid} (since ${owner.startedAt}); ` +
          `two servers on one data directory would overwrite each other's commits (replicas share data through CATALOG_URL)`,
      );
    }
    // The owner is gone: its lock is stale.
    await unlink(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
  throw new StorageError('FAILED_PRECONDITION', `DATA_DIR ${dataDir}: could not take ${path} (other servers keep taking it)`);
}
