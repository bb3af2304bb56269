/**
 * Reads some rows of an uncompressed IPC tier file without reading the rest: it hops from message
 * header to message header, and of each record batch that holds wanted rows it reads only those
 * rows' slices of the wanted columns' buffers. A one-symbol query over a partition of hundreds of
 * symbols thus reads about that symbol's bytes, where a Parquet row group would cost all of them.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { DataType, Message, type RecordBatch, type Schema, tableFromIPC } from 'apache-arrow';
import { decodeKeyRuns, KEY_RUNS_METADATA, rowRangesOf } from './key-runs.js';

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
  if (DataType.isDate(type)) return ['bitmap', { width: type.unit === 0 ? 4 : 8 }];
  return null;
}

export class IpcTierRangeReader {
  private readonly stats: TierIoStats = { filesOpened: 0, bytesRead: 0 };

  /**
   * The rows of `keys` (values of the file's first key column) in a tier file, as record batches
   * in file order; the columns not named in `columns` hold placeholders. Undefined when the file
   * cannot be read this way (no key runs recorded, compressed bodies, a type it does not handle):
   * the caller reads the Parquet file instead.
   */
  async readKeys(path: string, keys: readonly string[], columns: readonly string[]): Promise<RecordBatch[] | undefined> {
    const fh = await open(path, 'r');
    this.stats.filesOpened++;
    try {
      return await this.readFrom(fh, keys, new Set(columns));
    } finally {
      await fh.close();
    }
  }

  ioStats(): TierIoStats {
    return { ...this.stats };
  }

  private async readFrom(fh: FileHandle, keys: readonly string[], columns: ReadonlySet<string>): Promise<RecordBatch[] | undefined> {
    const first = await this.messageAt(fh, 0);
    if (!first?.message.isSchema()) return undefined;
    const schema = first.message.header() as Schema;
    const runs = decodeKeyRuns(schema.metadata.get(KEY_RUNS_METADATA));
    if (!runs) return undefined;
    const layouts = schema.fields.map((f) => layoutOf(f.type));
    if (layouts.some((l) => l === null)) return undefined;
    const ranges = rowRangesOf(runs, keys);
    const out: RecordBatch[] = [];
    if (ranges.length === 0) return out;
    const lastRow = ranges.at(-1)![1];

    // Dictionaries are read whole when a wanted batch needs them (they precede it in the stream).
    const pendingDictionaries: MessageAt[] = [];
    const dictionaryBytes: Uint8Array[] = [];
    let offset = first.bodyOffset + first.bodyLength;
    let batchStart = 0;
    while (batchStart < lastRow) {
      const at = await this.messageAt(fh, offset);
      if (!at) break;
      offset = at.bodyOffset + at.bodyLength;
      if (at.message.isDictionaryBatch()) {
        pendingDictionaries.push(at);
        continue;
      }
      if (!at.message.isRecordBatch()) continue;
      const header = at.message.header() as unknown as { length: number; compression: unknown; nodes: { length: number }[]; buffers: { offset: number; length: number }[] };
      if (header.compression) return undefined;
      const batchEnd = batchStart + header.length;
      const local = ranges
        .filter(([s, e]) => s < batchEnd && e > batchStart)
        .map(([s, e]): [number, number] => [Math.max(s, batchStart) - batchStart, Math.min(e, batchEnd) - batchStart]);
      if (local.length > 0) {
        for (const d of pendingDictionaries.splice(0)) dictionaryBytes.push(d.header, await this.read(fh, d.bodyOffset, d.bodyLength));
        const body = await this.readRows(fh, at, header.buffers, schema, layouts as BufferLayout[], columns, local);
        const decoded = tableFromIPC([first.header, ...dictionaryBytes, at.header, body]).batches[0]!;
        for (const [s, e] of local) out.push(decoded.slice(s, e));
      }
      batchStart = batchEnd;
    }
    return out;
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
