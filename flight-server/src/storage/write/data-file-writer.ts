/**
 * Writes the new data files of one commit and remembers them, so a commit that fails can remove
 * what it wrote and leave the store as the last committed version names it. Files go to the
 * store's object store (a local directory or DATA_URL) under the dataset's prefix, each put whole.
 */
import { randomUUID } from 'node:crypto';
import { RecordBatch, RecordBatchStreamWriter, Schema } from 'apache-arrow';
import { encodeKeyRuns, KEY_RUNS_METADATA, keyRunsOf } from '../io/key-runs.js';
import { ipcCopyPath, type FileEntry, type Manifest, type RowGroupStats } from '../manifest.js';
import type { DataFiles } from '../object-store/data-files.js';
import { bodyByteLength } from '../object-store/object-store.js';
import type { ParquetEncoderPool } from './parquet-encoder-pool.js';
import { encodeParquetFile, rowGroupStats } from '../io/parquet-io.js';

export class DataFileWriter {
  private readonly written: string[] = [];

  constructor(
    private readonly files: DataFiles,
    /** The dataset's key prefix in the store (its directory in local mode). */
    private readonly prefix: string,
    private readonly rowGroupRows: number,
    /** Rows per record batch of the IPC tier file; 0 writes no IPC tier. */
    private readonly ipcBatchRows: number,
    private readonly encoder: ParquetEncoderPool,
  ) {}

  /**
   * Writes a batch sorted by key then time as one file of `partition`. With `deferParquet` (and
   * an IPC tier) only the IPC copy is written and the entry is `pending`: its statistics come from
   * the batch, the Parquet file is encoded later (parquet-backfill.ts).
   */
  async write(m: Pick<Manifest, 'timeColumn' | 'keyColumns'>, partition: string, batch: RecordBatch, opts: { deferParquet?: boolean } = {}): Promise<FileEntry> {
    const fileName = `part-${Date.now().toString(36)}-${randomUUID()}.parquet`;
    const key = `${this.prefix}/${partition}/${fileName}`;
    const stats = { rowGroupRows: this.rowGroupRows, timeColumn: m.timeColumn, keyColumn: m.keyColumns[0] ?? null };
    if (opts.deferParquet && this.ipcBatchRows > 0) {
      const ipc = await this.writeIpcTier(ipcCopyPath(`${partition}/${fileName}`), batch, m.keyColumns[0]);
      return { path: `${partition}/${fileName}`, partition, rows: batch.numRows, bytes: ipc.bytes, ...fileStats(rowGroupStats(batch, stats)), columns: batch.schema.fields.map((f) => f.name), ipc, pending: true };
    }
    const out = await encodeParquetFile(batch, stats, this.encoder);
    this.written.push(key);
    await this.files.put(key, out.body);
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
    // The key runs ride in the schema's metadata, so a one-key read finds its rows from the file's
    // first message (forwarding drops stored schema messages: clients never see them).
    const runs = keyRunsOf(batch, keyColumn);
    const metadata = new Map(batch.schema.metadata);
    if (runs) metadata.set(KEY_RUNS_METADATA, encodeKeyRuns(runs));
    const schema = new Schema(batch.schema.fields, metadata);
    // The stream as the writer's pieces (message headers, the batches' own buffers, padding), written
    // with one writev: joining them first (tableToIPC) copied every byte into a fresh buffer as
    // large as the file, 10% of a 10M-row DoPut's main thread and its largest garbage.
    const writer = new RecordBatchStreamWriter();
    writer.reset(undefined, schema);
    for (const [start, end] of ipcBatchBounds(batch.numRows, this.ipcBatchRows)) {
      writer.write(new RecordBatch(schema, batch.slice(start, end).data));
    }
    writer.finish();
    const pieces: Uint8Array[] = [];
    for await (const piece of writer) pieces.push(piece);
    const key = `${this.prefix}/${relative}`;
    this.written.push(key);
    await this.files.put(key, pieces);
    return { path: relative, bytes: bodyByteLength(pieces) };
  }

  /** Makes the new files durable before a catalog version names them (fsync of their directories locally). */
  async sync(): Promise<void> {
    await this.files.store.flush(this.written);
  }

  /** Waits for writes started together; fails with the first failure once all have ended. */
  static async all(writes: Promise<FileEntry>[]): Promise<FileEntry[]> {
    const settled = await Promise.allSettled(writes);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    return settled.map((r) => (r as PromiseFulfilledResult<FileEntry>).value);
  }

  /** Removes what this writer put; a store that cannot be reached leaves them to the sweep of unreferenced files. */
  async discard(): Promise<void> {
    await this.files.store.delete(this.written).catch(() => undefined);
  }
}

/** The first batch of a tier file: FIRST_IPC_BATCH_ROWS rows, doubling up to the full batch size. */
export const FIRST_IPC_BATCH_ROWS = 4096;

/**
 * Row ranges of a tier file's record batches: `batchRows` each, except a ramp at the start
 * (4096, 8192, ... rows until `batchRows`). A full scan forwards the file's messages as stored,
 * one DoGet per partition, and a client's HTTP/2 window starts small on every new stream: a first
 * message of 65,536 rows (3.4 MB of bars) kept pyarrow waiting 4-5 ms per endpoint, 63% of a
 * 2M-row scan (bench, 2026-12-06). Small first messages flow while the window opens: with the
 * ramp the wait fell to 33 ms of an 80 ms scan (0.30x -> 0.58x the peer); at 10M rows the scan
 * was unchanged within the run-to-run noise.
 */
export function ipcBatchBounds(rows: number, batchRows: number): [number, number][] {
  const bounds: [number, number][] = [];
  let size = Math.min(FIRST_IPC_BATCH_ROWS, batchRows);
  for (let start = 0; start < rows; start += size, size = Math.min(batchRows, size * 2)) {
    bounds.push([start, Math.min(rows, start + size)]);
  }
  return bounds;
}

/** A file's time and key ranges from its row groups' statistics. */
function fileStats(rowGroups: RowGroupStats[]): Pick<FileEntry, 'minTimeNs' | 'maxTimeNs' | 'minKey' | 'maxKey' | 'rowGroups'> {
  let min = BigInt(rowGroups[0]?.minTimeNs ?? 0);
  let max = BigInt(rowGroups[0]?.maxTimeNs ?? 0);
  for (const g of rowGroups) {
    if (BigInt(g.minTimeNs) < min) min = BigInt(g.minTimeNs);
    if (BigInt(g.maxTimeNs) > max) max = BigInt(g.maxTimeNs);
  }
  return { minTimeNs: min.toString(), maxTimeNs: max.toString(), minKey: rowGroups[0]?.minKey ?? null, maxKey: rowGroups.at(-1)?.maxKey ?? null, rowGroups };
}
