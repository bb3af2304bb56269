/**
 * Ranged Parquet reads: each file is opened once (its footer kept in memory, LRU-bounded) and a
 * read fetches only the column chunks of the row groups it asks for, so a selective query reads
 * the bytes it needs rather than whole files. Counts the bytes it reads.
 *
 * Decoding runs in parquet-wasm's WebAssembly memory, which grows to the most ever decoded at
 * once and never shrinks: a few decodes run at a time (DECODE_CONCURRENCY), whatever the number of
 * readers, so that high-water mark stays a few row groups instead of one per concurrent reader.
 */
import * as pq from 'parquet-wasm';
import type { FileSource } from '../object-store/object-store.js';
import { PromiseLru } from './promise-lru.js';

export interface ParquetIoStats {
  filesOpened: number;
  /** Footers read when opening plus the column chunks of every read. */
  bytesRead: number;
}

/** Decodes in WebAssembly at once; two overlap one's file reads with the other's decoding. */
const DECODE_CONCURRENCY = 2;

/** A counting semaphore: at most `limit` holders; the others wait in arrival order. */
class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await work();
    } finally {
      // Hand the slot straight to the next waiter, so a newcomer cannot overtake it.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

interface OpenFile {
  file: pq.ParquetFile;
  /** Compressed size of each row group's column chunks, by column name. */
  chunkBytes: Map<string, number>[];
}

export class ParquetReader {
  private readonly open: PromiseLru<OpenFile>;
  private readonly stats: ParquetIoStats = { filesOpened: 0, bytesRead: 0 };
  private readonly decoding = new Semaphore(DECODE_CONCURRENCY);

  /** `source`: where files are read (by byte ranges: only the footer and the column chunks asked for). */
  constructor(
    private readonly source: FileSource,
    maxOpenFiles = 1024,
  ) {
    this.open = new PromiseLru<OpenFile>(maxOpenFiles, (f) => f.file.free());
  }

  private handle(path: string): Promise<OpenFile> {
    return this.open.get(path, async () => {
      const blob = await this.source.blob(path);
      // parquet-wasm reads through the Blob's size and slices, which is all a FileSource's blob offers.
      const file = await pq.ParquetFile.fromFile(blob as Blob);
      const metadata = file.metadata();
      const chunkBytes = metadata.rowGroups().map((g) => new Map(g.columns().map((c) => [c.columnPath()[0]!, c.compressedSize()])));
      const dataBytes = chunkBytes.reduce((n, g) => n + [...g.values()].reduce((a, b) => a + b, 0), 0);
      this.stats.filesOpened++;
      this.stats.bytesRead += Math.max(0, blob.size - dataBytes);
      return { file, chunkBytes };
    });
  }

  /** Reads some row groups and columns of a file as an Arrow IPC stream. */
  async readIpc(path: string, opts: { columns?: string[]; rowGroups?: number[]; batchRows?: number } = {}): Promise<Uint8Array> {
    const { file, chunkBytes } = await this.handle(path);
    const groups = opts.rowGroups ?? chunkBytes.map((_, i) => i);
    for (const g of groups) {
      for (const [column, bytes] of chunkBytes[g] ?? []) {
        if (!opts.columns || opts.columns.includes(column)) this.stats.bytesRead += bytes;
      }
    }
    return this.decoding.run(async () => {
      const table = await file.read({
        batchSize: opts.batchRows ?? 65_536,
        ...(opts.columns ? { columns: opts.columns } : {}),
        ...(opts.rowGroups ? { rowGroups: opts.rowGroups } : {}),
      });
      return table.intoIPCStream();
    });
  }

  /**
   * Rows [offset, offset + limit) of one row group as an Arrow IPC stream: what a bounded window
   * of a row group too large to decode whole costs. The column chunks are read again for each
   * window and the pages before it decompressed again (parquet-wasm reads no page index).
   */
  async readRowGroupRows(path: string, rowGroup: number, offset: number, limit: number, columns: string[]): Promise<Uint8Array> {
    const { file, chunkBytes } = await this.handle(path);
    for (const [column, bytes] of chunkBytes[rowGroup] ?? []) if (columns.includes(column)) this.stats.bytesRead += bytes;
    return this.decoding.run(async () => {
      const table = await file.read({ batchSize: limit, columns, rowGroups: [rowGroup], offset, limit });
      return table.intoIPCStream();
    });
  }

  /** Closes a file that was deleted (vacuum, drop), so its handle does not pin the inode. */
  forget(path: string): void {
    this.open.delete(path);
  }

  /** Closes every file below a directory (a dropped dataset). */
  forgetUnder(dir: string): void {
    this.open.deleteUnder(dir);
  }

  ioStats(): ParquetIoStats {
    return { ...this.stats };
  }
}
