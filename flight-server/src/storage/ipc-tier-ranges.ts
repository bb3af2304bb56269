/**
 * Reads some rows of an uncompressed IPC tier file without reading the rest. A file's message
 * headers, dictionaries and key runs are read once and kept (its directory); then, of each record
 * batch that holds wanted rows, only those rows' slices of the wanted columns' buffers are read.
 * A one-symbol query over a partition of hundreds of symbols thus reads about that symbol's bytes,
 * where a Parquet row group would cost all of them.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { DataType, DateUnit, Message, type RecordBatch, type Schema, tableFromIPC } from 'apache-arrow';
import { ceilFromNanoseconds } from './batch-kernels.js';
import { PromiseLru } from './promise-lru.js';
import { decodeKeyRuns, joinTouching, KEY_RUNS_METADATA, rowRangesOf, type KeyRuns } from './key-runs.js';

export interface TierIoStats {
  filesOpened: number;
  bytesRead: number;
}

/** One IPC message of the file: its encapsulated header (prefix + flatbuffer) and where its body is. */
interface MessageAt {
  header: Uint8Array;
  message: Message;
  bodyOffset: number;
  bodyLength: number;
}

const CONTINUATION = 0xffffffff;

/** How a flat column's IPC buffers map rows to bytes; null for a type this reader leaves alone. */
type BufferLayout = ('bitmap' | { width: number } | 'offsets32' | 'data')[];

function layoutOf(type: DataType): BufferLayout | null {
  if (DataType.isDictionary(type)) return ['bitmap', { width: type.indices.bitWidth / 8 }];
  if (DataType.isBool(type)) return ['bitmap', 'bitmap'];
  if (DataType.isUtf8(type) || DataType.isBinary(type)) return ['bitmap', 'offsets32', 'data'];
  if (DataType.isInt(type)) return ['bitmap', { width: type.bitWidth / 8 }];
  if (DataType.isFloat(type)) return ['bitmap', { width: [2, 4, 8][type.precision]! }];
  if (DataType.isTimestamp(type)) return ['bitmap', { width: 8 }];
  if (DataType.isDate(type)) return ['bitmap', { width: type.unit === DateUnit.DAY ? 4 : 8 }];
  return null;
}

/** A time range [startNs, endNs) of a timestamp column, either end open. */
export interface TimeWindow {
  column: string;
  startNs: bigint | null;
  endNs: bigint | null;
}

/** A record batch message of a tier file, and the dictionary messages that precede it. */
interface BatchAt {
  at: MessageAt;
  firstRow: number;
  rows: number;
  buffers: { offset: number; length: number }[];
  /** Encapsulated dictionary messages (header and body) sent before this batch, in order. */
  dictionaries: Uint8Array[];
}

/** What a tier file holds, read once from its message headers and dictionaries. */
interface TierDirectory {
  schemaHeader: Uint8Array;
  schema: Schema;
  runs: KeyRuns;
  layouts: BufferLayout[];
  batches: BatchAt[];
}

export class IpcTierRangeReader {
  private readonly stats: TierIoStats = { filesOpened: 0, bytesRead: 0 };
  /** Directories by path; null for a file this reader cannot serve. */
  private readonly directories: PromiseLru<TierDirectory | null>;

  constructor(maxDirectories = 1024) {
    this.directories = new PromiseLru<TierDirectory | null>(maxDirectories);
  }

  /**
   * The rows of `keys` (values of the file's first key column) in a tier file, as record batches
   * in file order; the columns not named in `columns` hold placeholders. With `window`, each key's
   * run is first narrowed to [startNs, endNs) of the time column by binary search (8-byte reads),
   * so a narrow window in a wide partition reads only its rows. Undefined when the file cannot be
   * read this way (no key runs recorded, compressed bodies, a type it does not handle): the caller
   * reads the Parquet file instead.
   */
  async readKeys(path: string, keys: readonly string[], columns: readonly string[], window?: TimeWindow): Promise<RecordBatch[] | undefined> {
    const dir = await this.directory(path);
    if (!dir) return undefined;
    const out: RecordBatch[] = [];
    let ranges = rowRangesOf(dir.runs, keys);
    if (ranges.length === 0) return out;
    const wanted = new Set(columns);
    const fh = await open(path, 'r');
    try {
      // Narrowed key by key (time is ordered only within one key's run), then joined.
      if (window) ranges = await this.narrow(fh, dir, ranges, window);
      ranges = joinTouching(ranges);
      for (const batch of dir.batches) {
        const end = batch.firstRow + batch.rows;
        const local = ranges
          .filter(([s, e]) => s < end && e > batch.firstRow)
          .map(([s, e]): [number, number] => [Math.max(s, batch.firstRow) - batch.firstRow, Math.min(e, end) - batch.firstRow]);
        if (local.length === 0) continue;
        const body = await this.readRows(fh, batch.at, batch.buffers, dir.schema, dir.layouts, wanted, local);
        const decoded = tableFromIPC([dir.schemaHeader, ...batch.dictionaries, batch.at.header, body]).batches[0]!;
        for (const [s, e] of local) out.push(decoded.slice(s, e));
      }
    } finally {
      await fh.close();
    }
    return out;
  }

  /** Each range cut to the rows whose time lies in the window (rows of one key are in time order). */
  private async narrow(fh: FileHandle, dir: TierDirectory, ranges: [number, number][], window: TimeWindow): Promise<[number, number][]> {
    const field = dir.schema.fields.findIndex((f) => f.name === window.column);
    const type = dir.schema.fields[field]?.type;
    if (!type || !DataType.isTimestamp(type)) return ranges;
    // The values buffer follows the validity buffer of the field's own buffers.
    const buffer = dir.layouts.slice(0, field).reduce((n, l) => n + l.length, 0) + 1;
    const start = window.startNs === null ? null : ceilFromNanoseconds(window.startNs, type.unit);
    const end = window.endNs === null ? null : ceilFromNanoseconds(window.endNs, type.unit);
    const timeAt = async (row: number): Promise<bigint> => {
      const batch = dir.batches.find((b) => row < b.firstRow + b.rows)!;
      const bytes = await this.read(fh, batch.at.bodyOffset + batch.buffers[buffer]!.offset + (row - batch.firstRow) * 8, 8);
      return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigInt64(0, true);
    };
    const firstAtOrAfter = async (lo: number, hi: number, t: bigint): Promise<number> => {
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((await timeAt(mid)) < t) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    const narrowed: [number, number][] = [];
    for (const [s, e] of ranges) {
      const a = start === null ? s : await firstAtOrAfter(s, e, start);
      const b = end === null ? e : await firstAtOrAfter(a, e, end);
      if (a < b) narrowed.push([a, b]);
    }
    return narrowed;
  }

  ioStats(): TierIoStats {
    return { ...this.stats };
  }

  /** Drops what is kept of a file that was deleted (vacuum, drop). */
  forget(path: string): void {
    this.directories.delete(path);
  }

  /** Drops what is kept of every file below a directory (a dropped dataset). */
  forgetUnder(dir: string): void {
    this.directories.deleteUnder(dir);
  }

  private directory(path: string): Promise<TierDirectory | null> {
    return this.directories.get(path, async () => {
      const fh = await open(path, 'r');
      this.stats.filesOpened++;
      try {
        return await this.readDirectory(fh);
      } finally {
        await fh.close();
      }
    });
  }

  /** Hops through every message header; reads dictionaries whole and no record batch body. */
  private async readDirectory(fh: FileHandle): Promise<TierDirectory | null> {
    const first = await this.messageAt(fh, 0);
    if (!first?.message.isSchema()) return null;
    const schema = first.message.header() as Schema;
    const runs = decodeKeyRuns(schema.metadata.get(KEY_RUNS_METADATA));
    if (!runs) return null;
    const layouts = schema.fields.map((f) => layoutOf(f.type));
    if (layouts.some((l) => l === null)) return null;
    const batches: BatchAt[] = [];
    const dictionaries: Uint8Array[] = [];
    let offset = first.bodyOffset + first.bodyLength;
    let firstRow = 0;
    for (let at = await this.messageAt(fh, offset); at; at = await this.messageAt(fh, offset)) {
      offset = at.bodyOffset + at.bodyLength;
      if (at.message.isDictionaryBatch()) {
        dictionaries.push(at.header, await this.read(fh, at.bodyOffset, at.bodyLength));
      } else if (at.message.isRecordBatch()) {
        const header = at.message.header() as unknown as { length: number; compression: unknown; buffers: { offset: number; length: number }[] };
        if (header.compression) return null;
        batches.push({ at, firstRow, rows: Number(header.length), buffers: header.buffers, dictionaries: [...dictionaries] });
        firstRow += Number(header.length);
      }
    }
    if (firstRow !== runs.rows) return null;
    return { schemaHeader: first.header, schema, runs, layouts: layouts as BufferLayout[], batches };
  }

  /**
   * A body of the batch's full length holding only the wanted rows' bytes of the wanted columns;
   * the rest stays zero and is never looked at (the caller slices the wanted rows out).
   */
  private async readRows(
    fh: FileHandle,
    at: MessageAt,
    buffers: { offset: number; length: number }[],
    schema: Schema,
    layouts: BufferLayout[],
    columns: ReadonlySet<string>,
    ranges: [number, number][],
  ): Promise<Uint8Array> {
    const body = new Uint8Array(at.bodyLength);
    const fill = async (region: { offset: number; length: number }, from: number, to: number) => {
      const lo = Math.max(0, from);
      const hi = Math.min(region.length, to);
      if (hi > lo) await this.readInto(fh, body, region.offset + lo, at.bodyOffset + region.offset + lo, hi - lo);
    };
    let b = 0;
    const reads: Promise<void>[] = [];
    const dataReads: (() => Promise<void>)[] = [];
    schema.fields.forEach((field, i) => {
      const layout = layouts[i]!;
      const regions = buffers.slice(b, b + layout.length);
      b += layout.length;
      if (!columns.has(field.name)) return;
      layout.forEach((kind, k) => {
        const region = regions[k]!;
        for (const [s, e] of ranges) {
          if (kind === 'bitmap') reads.push(fill(region, s >> 3, (e + 7) >> 3));
          else if (kind === 'offsets32') reads.push(fill(region, s * 4, (e + 1) * 4));
          else if (kind === 'data') {
            // The value bytes lie between the offsets of the first and past-the-last row.
            const offsets = regions[k - 1]!;
            dataReads.push(() => {
              const view = new DataView(body.buffer, body.byteOffset + offsets.offset);
              return fill(region, view.getInt32(s * 4, true), view.getInt32(e * 4, true));
            });
          } else reads.push(fill(region, s * kind.width, e * kind.width));
        }
      });
    });
    await Promise.all(reads);
    await Promise.all(dataReads.map((r) => r()));
    return body;
  }

  /** The message starting at `offset`, or undefined at the end-of-stream marker or end of file. */
  private async messageAt(fh: FileHandle, offset: number): Promise<MessageAt | undefined> {
    const prefix = await this.read(fh, offset, 8);
    if (prefix.byteLength < 8) return undefined;
    const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
    if (view.getUint32(0, true) !== CONTINUATION) return undefined;
    const metadataLength = view.getInt32(4, true);
    if (metadataLength <= 0) return undefined;
    const metadata = await this.read(fh, offset + 8, metadataLength);
    if (metadata.byteLength < metadataLength) return undefined;
    const message = Message.decode(metadata);
    const header = new Uint8Array(8 + metadataLength);
    header.set(prefix);
    header.set(metadata, 8);
    return { header, message, bodyOffset: offset + 8 + metadataLength, bodyLength: Number(message.bodyLength) };
  }

  private async read(fh: FileHandle, position: number, length: number): Promise<Uint8Array> {
    const buffer = new Uint8Array(length);
    const { bytesRead } = await fh.read(buffer, 0, length, position);
    this.stats.bytesRead += bytesRead;
    return buffer.subarray(0, bytesRead);
  }

  private async readInto(fh: FileHandle, target: Uint8Array, at: number, position: number, length: number): Promise<void> {
    const { bytesRead } = await fh.read(target, at, length, position);
    this.stats.bytesRead += bytesRead;
  }
}
