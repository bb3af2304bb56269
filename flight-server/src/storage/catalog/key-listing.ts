/**
 * `list_keys`: the distinct values of a dataset's first key column, from what its files already
 * record rather than from their rows. A file whose row groups each hold one key (the manifest's
 * per-group min = max) answers from the catalog alone; otherwise its IPC tier copy's key runs
 * (schema metadata, one small read of the file's first message) list every key it holds. Files
 * pruned by the prefix (their [minKey, maxKey] misses it) are not opened. Only a file without a
 * tier copy (FLIGHT_IPC_TIER=false) or with integer keys has its key column read from Parquet.
 * Files never change, so each file's keys are kept (LRU) and each version's answer too.
 */
import { join } from 'node:path';
import { Message, tableFromIPC, type Schema } from 'apache-arrow';
import { StorageError } from '../errors.js';
import { decodeKeyRuns, KEY_RUNS_METADATA } from '../io/key-runs.js';
import type { ParquetReader } from '../io/parquet-reader.js';
import type { FileSource } from '../object-store/object-store.js';
import { PromiseLru } from '../io/promise-lru.js';
import type { FileEntry, Manifest } from '../manifest.js';

export interface KeyList {
  keys: string[];
  truncated: boolean;
}

const CONTINUATION = 0xffffffff;

/** The key runs' keys of an IPC tier file, from its schema message; null when it records none. */
async function tierKeys(source: FileSource, path: string): Promise<string[] | null> {
  const fh = await source.open(path);
  try {
    const prefix = await fh.read(0, 8);
    if (prefix.byteLength < 8) return null;
    const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
    if (view.getUint32(0, true) !== CONTINUATION) return null;
    const length = view.getInt32(4, true);
    if (length <= 0) return null;
    const metadata = await fh.read(8, length);
    if (metadata.byteLength < length) return null;
    const message = Message.decode(metadata);
    if (!message.isSchema()) return null;
    return decodeKeyRuns((message.header() as Schema).metadata.get(KEY_RUNS_METADATA))?.keys ?? null;
  } finally {
    await fh.close();
  }
}

/** The smallest string greater than every string starting with `prefix` (null: none is). */
function prefixEnd(prefix: string): string | null {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const code = prefix.charCodeAt(i);
    if (code < 0xffff) return prefix.slice(0, i) + String.fromCharCode(code + 1);
  }
  return null;
}

export class KeyLister {
  private readonly perFile = new PromiseLru<string[]>(4096);
  private readonly perVersion = new Map<string, { version: number; keys: Promise<string[]> }>();

  constructor(
    private readonly parquet: ParquetReader,
    private readonly source: FileSource,
  ) {}

  async list(m: Manifest, datasetDir: string, prefix: string | null, limit: number): Promise<KeyList> {
    const keyColumn = m.keyColumns[0];
    if (keyColumn === undefined) throw new StorageError('INVALID_ARGUMENT', `dataset "${m.name}" has no key column to list`);
    let all: string[];
    if (prefix) {
      all = await this.distinct(m, datasetDir, keyColumn, prefix);
    } else {
      let cached = this.perVersion.get(m.name);
      if (cached?.version !== m.version) {
        cached = { version: m.version, keys: this.distinct(m, datasetDir, keyColumn, null) };
        this.perVersion.set(m.name, cached);
        cached.keys.catch(() => this.perVersion.delete(m.name));
      }
      all = await cached.keys;
    }
    return { keys: all.slice(0, limit), truncated: all.length > limit };
  }

  /** Forgets a dropped dataset's answers. */
  forget(name: string): void {
    this.perVersion.delete(name);
  }

  private async distinct(m: Manifest, datasetDir: string, keyColumn: string, prefix: string | null): Promise<string[]> {
    const end = prefix ? prefixEnd(prefix) : null;
    const candidates = m.files.filter(
      (f) => !prefix || f.minKey === null || f.maxKey === null || (f.maxKey >= prefix && (end === null || f.minKey < end)),
    );
    const keys = new Set<string>();
    for (const f of candidates) for (const k of await this.fileKeys(f, datasetDir, keyColumn)) keys.add(k);
    const out = [...keys].filter((k) => !prefix || k.startsWith(prefix));
    return m.files.some((f) => f.minKey === null) ? out.sort(compareNumericFirst) : out.sort();
  }

  private fileKeys(f: FileEntry, datasetDir: string, keyColumn: string): Promise<string[]> | string[] {
    if (f.rowGroups.length > 0 && f.rowGroups.every((g) => g.minKey !== null && g.minKey === g.maxKey)) return f.rowGroups.map((g) => g.minKey!);
    return this.perFile.get(join(datasetDir, f.path), async () => {
      const fromTier = f.ipc ? await tierKeys(this.source, join(datasetDir, f.ipc.path)).catch(() => null) : null;
      if (fromTier) return fromTier;
      const table = tableFromIPC(await this.parquet.readIpc(join(datasetDir, f.path), { columns: [keyColumn] }));
      const values = new Set<string>();
      for (const v of table.getChild(keyColumn) ?? []) if (v !== null && v !== undefined) values.add(String(v));
      return [...values];
    });
  }
}

/** Integer keys (listed as decimal strings) in numeric order. */
function compareNumericFirst(a: string, b: string): number {
  const x = Number(a);
  const y = Number(b);
  return Number.isFinite(x) && Number.isFinite(y) && x !== y ? x - y : a < b ? -1 : a > b ? 1 : 0;
}
