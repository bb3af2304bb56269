/**
 * Local mode's object store: files under a directory (DATA_DIR), read straight from disk. A put
 * writes a temporary file, fsyncs it and renames it into place; `flush` fsyncs the directories
 * so the names survive a power cut before a catalog version names them.
 */
import { openAsBlob } from 'node:fs';
import { mkdir, open, readdir, rename, rmdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fsyncPath } from '../catalog.js';
import { StorageError } from '../errors.js';
import { bodyByteLength, type BlobLike, type FileSource, type ObjectBody, type ObjectInfo, type ObjectStore, type RandomAccessFile } from './object-store.js';
import { readWholeFile } from '../io/read-whole-file.js';

/**
 * Opens `file` for writing, creating its directory first. Processes sharing a DATA_DIR sweep empty
 * directories (removeEmptyDirectories, at start-up and in vacuum): a directory this one has just
 * created, before its first file is open, may be gone again. It is then created anew (bounded).
 */
async function openInNewDirectory(file: string): Promise<FileHandle> {
  for (let attempt = 1; ; attempt++) {
    await mkdir(dirname(file), { recursive: true });
    try {
      return await open(file, 'w');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw e;
    }
  }
}

export class LocalDirectoryStore implements ObjectStore, FileSource {
  readonly local = true;
  readonly description: string;

  /** `root`: the directory keys are relative to (an absolute key is used as it is). */
  constructor(readonly root: string) {
    this.description = `data directory ${root}`;
  }

  path(key: string): string {
    return resolve(this.root, key);
  }

  async put(key: string, body: ObjectBody): Promise<void> {
    const path = this.path(key);
    const tmp = `${path}.tmp`;
    const handle = await openInNewDirectory(tmp);
    try {
      if (body instanceof Uint8Array) {
        await handle.writeFile(body);
      } else {
        // One writev of the pieces (libuv writes them all, IOV_MAX at a time).
        const { bytesWritten } = await handle.writev(body as Uint8Array[]);
        const expected = bodyByteLength(body);
        if (bytesWritten !== expected) throw new Error(`${tmp}: wrote ${bytesWritten} of ${expected} bytes`);
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(tmp, path);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
  }

  async flush(keys: readonly string[]): Promise<void> {
    await Promise.all([...new Set(keys.map((k) => dirname(this.path(k))))].map((d) => fsyncPath(d)));
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    const file = await this.open(key);
    try {
      return await file.read(offset, length);
    } finally {
      await file.close();
    }
  }

  get(key: string): Promise<Uint8Array> {
    return this.readAll(key);
  }

  async head(key: string): Promise<{ size: number } | null> {
    const s = await stat(this.path(key)).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw e;
    });
    return s?.isFile() ? { size: s.size } : null;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    // Walks the directory the prefix names (keys are listed relative to the root, with `/`).
    const slash = prefix.lastIndexOf('/');
    const base = slash < 0 ? '' : prefix.slice(0, slash);
    const out: ObjectInfo[] = [];
    const walk = async (rel: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(rel ? this.path(rel) : this.root, { withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return;
        throw e;
      }
      for (const entry of entries) {
        const key = rel ? `${rel}/${entry.name}` : entry.name;
        if (entry.isDirectory()) {
          if (`${key}/`.startsWith(prefix) || prefix.startsWith(`${key}/`)) await walk(key);
        } else if (entry.isFile() && key.startsWith(prefix)) {
          const s = await stat(this.path(key)).catch(() => null);
          if (s) out.push({ key, size: s.size, lastModified: s.mtime });
        }
      }
    };
    await walk(base);
    return out;
  }

  async delete(keys: readonly string[]): Promise<void> {
    await Promise.all(
      keys.map((key) =>
        unlink(this.path(key)).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'ENOENT') throw e;
        }),
      ),
    );
  }

  /**
   * Removes the empty directories below `prefix` (a dataset's), deepest first, except those named
   * in `keep` at its top. rmdir, not rm -r: a directory something was just written to stays.
   */
  async removeEmptyDirectories(prefix: string, keep: readonly string[]): Promise<void> {
    const walk = async (dir: string, top: boolean): Promise<boolean> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => null);
      if (!entries) return false;
      let empty = true;
      for (const entry of entries) {
        if (!entry.isDirectory() || (top && keep.includes(entry.name))) {
          empty = false;
          continue;
        }
        if (await walk(join(dir, entry.name), false)) await rmdir(join(dir, entry.name)).catch(() => undefined);
        else empty = false;
      }
      return empty;
    };
    await walk(this.path(prefix), true);
  }

  url(key: string): string {
    return pathToFileURL(this.path(key)).href;
  }

  async close(): Promise<void> {}

  // FileSource: straight from disk.

  blob(key: string): Promise<BlobLike> {
    return openAsBlob(this.path(key));
  }

  async open(key: string): Promise<RandomAccessFile> {
    const path = this.path(key);
    const fh = await open(path, 'r').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') throw new StorageError('NOT_FOUND', `data file ${path} does not exist`, { cause: e });
      throw e;
    });
    return {
      async read(position, length) {
        const buffer = new Uint8Array(length);
        const { bytesRead } = await fh.read(buffer, 0, length, position);
        return buffer.subarray(0, bytesRead);
      },
      close: () => fh.close(),
    };
  }

  readAll(key: string): Promise<Uint8Array> {
    return readWholeFile(this.path(key));
  }
}
