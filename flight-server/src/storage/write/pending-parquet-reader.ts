/**
 * Parquet reads that also serve pending files (write-ahead ingest): a file whose Parquet is still
 * being encoded is read from its IPC copy, cut into the row groups the Parquet file will have, so
 * every reader of Parquet (merges of upserts and compaction, key listing, projected reads) works
 * on files acknowledged a moment ago.
 */
import { join } from 'node:path';
import { RecordBatch, Schema, Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import { ipcCopyPath } from '../manifest.js';
import { ParquetReader } from '../io/parquet-reader.js';
import type { FileSource } from '../object-store/object-store.js';
import { StorageError } from '../errors.js';

export class PendingParquetReader extends ParquetReader {
  /** Absolute paths of Parquet files known not to be written yet. */
  private readonly pending = new Set<string>();

  constructor(
    private readonly files: FileSource,
    /** The data directory: paths are `<root>/<dataset>/<partition>/<file>.parquet`. */
    private readonly root: string,
    /** Rows per row group, as pending files' statistics were cut. */
    private readonly rowGroupRows: number,
  ) {
    super(files);
  }

  markPending(path: string): void {
    this.pending.add(path);
  }

  /** The file's Parquet is written, or no longer expected (a miss then falls back to the IPC copy). */
  markWritten(path: string): void {
    this.pending.delete(path);
  }

  override async readIpc(path: string, opts: { columns?: string[]; rowGroups?: number[]; batchRows?: number } = {}): Promise<Uint8Array> {
    if (!this.pending.has(path)) {
      try {
        return await super.readIpc(path, opts);
      } catch (e) {
        // Pending before this process started (its encoding is queued again at open), or a file an
        // upsert replaced before it was encoded: its IPC copy holds the rows.
        return this.fromCopy(path, e, () => this.copyIpc(path, opts));
      }
    }
    return this.copyIpc(path, opts);
  }

  private async copyIpc(path: string, opts: { columns?: string[]; rowGroups?: number[] }): Promise<Uint8Array> {
    const { schema, batches } = await this.readPending(path, opts.columns);
    const picked = opts.rowGroups ? opts.rowGroups.flatMap((g) => sliceRows(batches, g * this.rowGroupRows, (g + 1) * this.rowGroupRows)) : batches;
    return tableToIPC(new Table(schema, picked), 'stream');
  }

  override async readRowGroupRows(path: string, rowGroup: number, offset: number, limit: number, columns: string[]): Promise<Uint8Array> {
    if (!this.pending.has(path)) {
      try {
        return await super.readRowGroupRows(path, rowGroup, offset, limit, columns);
      } catch (e) {
        return this.fromCopy(path, e, () => this.copyRows(path, rowGroup, offset, limit, columns));
      }
    }
    return this.copyRows(path, rowGroup, offset, limit, columns);
  }

  private async copyRows(path: string, rowGroup: number, offset: number, limit: number, columns: string[]): Promise<Uint8Array> {
    const start = rowGroup * this.rowGroupRows + offset;
    const { schema, batches } = await this.readPending(path, columns);
    return tableToIPC(new Table(schema, sliceRows(batches, start, start + limit)), 'stream');
  }

  /** Reads through the IPC copy when the Parquet file is missing (parquet-wasm fails on it in its own words); else `error`. */
  private async fromCopy(path: string, error: unknown, read: () => Promise<Uint8Array>): Promise<Uint8Array> {
    const missing = await this.files.open(path).then(
      (f) => (void f.close(), false),
      () => true,
    );
    if (!missing) throw error;
    return read();
  }

  /** The IPC copy's batches projected on `columns`, without the copy's own schema metadata (key runs). */
  private async readPending(path: string, columns: string[] | undefined): Promise<{ schema: Schema; batches: RecordBatch[] }> {
    const table = tableFromIPC(await this.files.readAll(this.ipcPathOf(path)));
    const projected = columns ? table.select(columns.filter((c) => table.schema.fields.some((f) => f.name === c))) : table;
    const schema = new Schema(projected.schema.fields);
    return { schema, batches: projected.batches.map((b) => new RecordBatch(schema, b.data)) };
  }

  private ipcPathOf(path: string): string {
    const rel = path.slice(this.root.length + 1);
    const slash = rel.indexOf('/');
    if (!path.startsWith(`${this.root}/`) || slash < 0) throw new StorageError('INTERNAL', `data file ${path} is outside the data directory`);
    return join(this.root, rel.slice(0, slash), ipcCopyPath(rel.slice(slash + 1)));
  }
}

/** Rows [start, end) of batches that follow each other. */
function sliceRows(batches: readonly RecordBatch[], start: number, end: number): RecordBatch[] {
  const out: RecordBatch[] = [];
  let at = 0;
  for (const b of batches) {
    const lo = Math.max(start, at);
    const hi = Math.min(end, at + b.numRows);
    if (hi > lo) out.push(b.slice(lo - at, hi - at));
    at += b.numRows;
  }
  return out;
}
