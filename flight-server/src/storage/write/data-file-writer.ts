/**
 * Writes the new data files of one commit and remembers them, so a commit that fails can remove
 * what it wrote and leave the directory as the last committed version names it.
 */
import { mkdir, open, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { RecordBatch, Schema, Table, tableToIPC } from 'apache-arrow';
import { fsyncPath } from '../catalog.js';
import { encodeKeyRuns, KEY_RUNS_METADATA, keyRunsOf } from '../io/key-runs.js';
import { ipcCopyPath, type FileEntry, type Manifest } from '../manifest.js';
import type { ParquetEncoderPool } from './parquet-encoder-pool.js';
import { writeParquetFile } from '../io/parquet-io.js';

/** Where the uncompressed Arrow IPC copies of data files live; `_` keeps dataset readers out. */

export class DataFileWriter {
  private readonly written: string[] = [];
  private readonly dirs = new Set<string>();

  constructor(
    private readonly datasetDir: string,
    private readonly rowGroupRows: number,
    /** Rows per record batch of the IPC tier file; 0 writes no IPC tier. */
    private readonly ipcBatchRows: number,
    private readonly encoder: ParquetEncoderPool,
  ) {}

  /** Writes a batch sorted by key then time as one file of `partition`. */
  async write(m: Pick<Manifest, 'timeColumn' | 'keyColumns'>, partition: string, batch: RecordBatch): Promise<FileEntry> {
    const dir = join(this.datasetDir, partition);
    await mkdir(dir, { recursive: true });
    const fileName = `part-${Date.now().toString(36)}-${randomUUID()}.parquet`;
    const path = join(dir, fileName);
    this.written.push(path);
    this.dirs.add(dir);
    const out = await writeParquetFile(path, batch, {
      rowGroupRows: this.rowGroupRows,
      timeColumn: m.timeColumn,
      keyColumn: m.keyColumns[0] ?? null,
    }, this.encoder);
    const ipc = this.ipcBatchRows > 0 ? await this.writeIpcTier(ipcCopyPath(`${partition}/${fileName}`), batch, m.keyColumns[0]) : null;
    return {
      path: `${partition}/${fileName}`,
      partition,
      rows: batch.numRows,
      bytes: out.bytes,
      minTimeNs: out.minTimeNs.toString(),
      maxTimeNs: out.maxTimeNs.toString(),
      minKey: out.minKey,
      maxKey: out.maxKey,
      columns: batch.schema.fields.map((f) => f.name),
      rowGroups: out.rowGroups,
      ipc,
    };
  }

  private async writeIpcTier(relative: string, batch: RecordBatch, keyColumn: string | undefined): Promise<{ path: string; bytes: number }> {
    const path = join(this.datasetDir, relative);
    const dir = dirname(path);
    await mkdir(dir, { recursive: true });
    // The key runs ride in the schema's metadata, so a one-key read finds its rows from the file's
    // first message (forwarding drops stored schema messages: clients never see them).
    const runs = keyRunsOf(batch, keyColumn);
    const metadata = new Map(batch.schema.metadata);
    if (runs) metadata.set(KEY_RUNS_METADATA, encodeKeyRuns(runs));
    const schema = new Schema(batch.schema.fields, metadata);
    const slices: RecordBatch[] = [];
    for (let start = 0; start < batch.numRows; start += this.ipcBatchRows) {
      slices.push(new RecordBatch(schema, batch.slice(start, Math.min(batch.numRows, start + this.ipcBatchRows)).data));
    }
    const bytes = tableToIPC(new Table(schema, slices), 'stream');
    this.written.push(path);
    this.dirs.add(dir);
    const handle = await open(path, 'w');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return { path: relative, bytes: bytes.byteLength };
  }

  /** Makes the new files' directory entries durable before a manifest names them. */
  async sync(): Promise<void> {
    await Promise.all([...this.dirs].map((d) => fsyncPath(d)));
  }

  /** Waits for writes started together; fails with the first failure once all have ended. */
  static async all(writes: Promise<FileEntry>[]): Promise<FileEntry[]> {
    const settled = await Promise.allSettled(writes);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    return settled.map((r) => (r as PromiseFulfilledResult<FileEntry>).value);
  }

  async discard(): Promise<void> {
    await Promise.all(this.written.map((p) => unlink(p).catch(() => undefined)));
  }
}
