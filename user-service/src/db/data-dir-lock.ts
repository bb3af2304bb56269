/**
 * An exclusive lock on PGlite's data directory. Two PGlite instances on one directory (two processes,
 * or two opens in one) corrupt it, so a second open fails fast instead. A lock left by a dead process
 * is taken over.
 */
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

const LOCK_FILE = '.user-service.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface DataDirLock {
  release(): Promise<void>;
}

export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  await mkdir(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          await rm(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(owner) && owner > 0 && alive(owner)) {
        throw new Error(
          `USERS_DATA_DIR ${dataDir} is in use by process ${owner}${owner === process.pid ? ' (this process)' : ''}; ` +
            `stop it, or delete ${path} if no such process uses the directory`,
        );
      }
      await rm(path, { force: true });
    }
  }
  throw new Error(`could not lock USERS_DATA_DIR ${dataDir} (${path})`);
}
