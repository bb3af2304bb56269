/**
 * Reads some rows of an uncompressed IPC tier file without reading the rest. A file's message
 * headers, dictionaries and key runs are read once and kept (its directory); then, of each record
 * batch that holds wanted rows, only those rows' slices of the wanted columns' buffers are read,
 * into buffers of just those rows. A one-symbol query over a partition of hundreds of symbols
 * thus reads about that symbol's bytes, where a Parquet row group would cost all of them, and a
 * merge reads each file a bounded window at a time.
 */
import { LocalDirectoryStore } from '../object-store/local-directory-store.js';
import type { FileSource, RandomAccessFile as FileHandle } from '../object-store/object-store.js';
import { Data, DataType, DateUnit, Field, makeData, Message, RecordBatch, RecordBatchReader, Schema, Struct, type Vector } from 'apache-arrow';
import { ceilFromNanoseconds } from '../kernels/time-column.js';
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
  /** Where the messages after the schema start, and where each of them ends, to the last record batch. */
  messagesStart: number;
  messageEnds: number[];
  /** Null when the file records none (keyless data): reads by key are then not possible. */
  runs: KeyRuns | null;
  /** Null when some column has a type this reader does not slice: reads by rows are then not possible. */
  layouts: BufferLayout[] | null;
  batches: BatchAt[];
  rows: number;
  /** Dictionaries decoded from the messages before a batch, by how many such messages there are. */
  decodedDictionaries: Map<number, Map<number, Vector>>;
}

/** Counts bytes held (HeldWindows of read-window.ts). */
export interface HeldBytes {
  hold(bytes: number): void;
  release(bytes: number): void;
}

/** A tier file opened for forwarding: its stored schema and its messages, read in large pieces. */
export interface TierMessages {
  schema: Schema;
  /**
   * The dictionary and record batch messages, in file order, as encapsulated IPC bytes: each
   * yield is one read of whole consecutive messages (about FORWARD_READ_BYTES, or one message
   * when it is larger). The buffers read and not yet passed on are counted in `held`.
   */
  messages(held?: HeldBytes): AsyncGenerator<Uint8Array>;
}

const MiB = 1024 * 1024;

/**
 * Bytes of a tier file read at once when its messages are forwarded: large sequential reads,
 * and one read ahead while the consumer sends the last, so a stream holds about twice this.
 */
export const FORWARD_READ_BYTES = 4 * MiB;

/** [from, to) byte ranges of whole consecutive messages, each at most `limit` unless one message is larger. */
export function forwardReads(start: number, ends: readonly number[], limit: number): [number, number][] {
  const out: [number, number][] = [];
  let from = start;
  let to = start;
  for (const end of ends) {
    if (end - from > limit && to > from) {
      out.push([from, to]);
      from = to;
    }
    to = end;
  }
  if (to > from) out.push([from, to]);
  return out;
}

export class IpcTierRangeReader {
  private readonly stats: TierIoStats = { filesOpened: 0, bytesRead: 0 };
  /** Directories by path; null for a file this reader cannot serve. */
  private readonly directories: PromiseLru<TierDirectory | null>;

  /** `source`: where files are read (default: paths on the local disk). */
  constructor(
    private readonly source: FileSource = new LocalDirectoryStore(process.cwd()),
    maxDirectories = 1024,
  ) {
    this.directories = new PromiseLru<TierDirectory | null>(maxDirectories);
  }

  /**
   * The rows of `keys` (values of the file's first key column) in a tier file, as record batches
   * in file order, holding only `columns`. With `window`, each key's run is first narrowed to
   * [startNs, endNs) of the time column by binary search (8-byte reads), so a narrow window in a
   * wide partition reads only its rows. Undefined when the file cannot be read this way (no key
   * runs recorded, compressed bodies, a type it does not handle): the caller reads the Parquet
   * file instead.
   */
  async readKeys(path: string, keys: readonly string[], columns: readonly string[], window?: TimeWindow): Promise<RecordBatch[] | undefined> {
    const ranges = await this.keyRanges(path, keys, window);
    if (ranges === undefined || (ranges.length > 0 && !(await this.canReadRows(path)))) return undefined;
    const out: RecordBatch[] = [];
    for (const [s, e] of ranges) {
      for (let at = s; at < e; ) {
        const batch = (await this.readRows(path, at, e, columns))!;
        out.push(batch);
        at += batch.numRows;
      }
    }
    return out;
  }

  /**
   * The row ranges [start, end) of `keys` in a tier file, ascending, each key's run narrowed to the
   * time window when one is given; undefined when the file records no key runs.
   */
  async keyRanges(path: string, keys: readonly string[], window?: TimeWindow): Promise<[number, number][] | undefined> {
    const dir = await this.directory(path);
    if (!dir?.runs) return undefined;
    let ranges = rowRangesOf(dir.runs, keys);
    if (ranges.length === 0) return ranges;
    if (window && dir.layouts) {
      const fh = await this.source.open(path);
      try {
        // Narrowed key by key (time is ordered only within one key's run), then joined.
        ranges = await this.narrow(fh, dir, dir.layouts, ranges, window);
      } finally {
        await fh.close();
      }
    }
    return joinTouching(ranges);
  }

  /** Whether {@link readRows} can read this file (every column of a type it slices, bodies uncompressed). */
  async canReadRows(path: string): Promise<boolean> {
    return (await this.directory(path))?.layouts != null;
  }

  /** The file's row count, or undefined when it is not a tier file this reader understands. */
  async rowCount(path: string): Promise<number | undefined> {
    return (await this.directory(path))?.rows;
  }

  /**
   * Rows [start, end) of `columns`, or fewer: the read stops at the end of the stored batch that
   * holds `start`, so call again from `start + numRows`. Only those rows' bytes are read, into
   * buffers of their own (a batch holding them references nothing else). Undefined when the file
   * cannot be read by rows.
   */
  async readRows(path: string, start: number, end: number, columns: readonly string[]): Promise<RecordBatch | undefined> {
    const dir = await this.directory(path);
    if (!dir?.layouts) return undefined;
    const batch = dir.batches.find((b) => start < b.firstRow + b.rows);
    if (!batch || start < batch.firstRow || end <= start) return undefined;
    const s = start - batch.firstRow;
    const e = Math.min(end, batch.firstRow + batch.rows) - batch.firstRow;
    const wanted = new Set(columns);
    const fields: Field[] = [];
    const children: Data[] = [];
    const fh = await this.source.open(path);
    try {
      let b = 0;
      for (let i = 0; i < dir.schema.fields.length; i++) {
        const field = dir.schema.fields[i]!;
        const layout = dir.layouts[i]!;
        const regions = batch.buffers.slice(b, b + layout.length);
        b += layout.length;
        if (!wanted.has(field.name)) continue;
        const dictionary = DataType.isDictionary(field.type) ? (await this.dictionaries(dir, batch)).get(field.type.id) : undefined;
        fields.push(field);
        children.push(await this.readColumn(fh, batch.at, field.type, layout, regions, s, e, dictionary));
      }
    } finally {
      await fh.close();
    }
    return new RecordBatch(new Schema(fields), makeData({ type: new Struct(fields), length: e - s, nullCount: 0, children }));
  }

  /**
   * The file's messages for forwarding as they are, read in pieces of whole messages (see
   * {@link TierMessages}); undefined when it is not a tier file this reader understands.
   */
  async openMessages(path: string, readBytes = FORWARD_READ_BYTES): Promise<TierMessages | undefined> {
    const dir = await this.directory(path);
    if (!dir) return undefined;
    const reads = forwardReads(dir.messagesStart, dir.messageEnds, readBytes);
    const open = () => this.source.open(path);
    const read = async (fh: FileHandle, [from, to]: [number, number]) => {
      const bytes = await this.read(fh, from, to - from);
      if (bytes.byteLength < to - from) throw new Error(`tier file ${path} ends at ${from + bytes.byteLength}, before its message ending at ${to}`);
      return bytes;
    };
    return {
      schema: dir.schema,
      async *messages(held?: HeldBytes) {
        if (reads.length === 0) return;
        const fh = await open();
        const sizeOf = ([from, to]: [number, number]) => to - from;
        let holding = 0;
        const start = (i: number) => {
          holding += sizeOf(reads[i]!);
          held?.hold(sizeOf(reads[i]!));
          const p = read(fh, reads[i]!);
          // Awaited in turn; a failure while the consumer is away is not an unhandled rejection.
          p.catch(() => undefined);
          return p;
        };
        let next: Promise<Uint8Array> | undefined = start(0);
        try {
          for (let i = 0; i < reads.length; i++) {
            const bytes = await (next ?? start(i));
            next = undefined;
            // Read ahead only what keeps the two within twice readBytes (a stream's read window).
            if (i + 1 < reads.length && sizeOf(reads[i]!) <= readBytes && sizeOf(reads[i + 1]!) <= readBytes) next = start(i + 1);
            yield bytes;
            holding -= bytes.byteLength;
            held?.release(bytes.byteLength);
          }
        } finally {
          await next?.catch(() => undefined);
          held?.release(holding);
          await fh.close();
        }
      },
    };
  }

  /** Each range cut to the rows whose time lies in the window (rows of one key are in time order). */
  private async narrow(fh: FileHandle, dir: TierDirectory, layouts: BufferLayout[], ranges: [number, number][], window: TimeWindow): Promise<[number, number][]> {
    const field = dir.schema.fields.findIndex((f) => f.name === window.column);
    const type = dir.schema.fields[field]?.type;
    if (!type || !DataType.isTimestamp(type)) return ranges;
    // The values buffer follows the validity buffer of the field's own buffers.
    const buffer = layouts.slice(0, field).reduce((n, l) => n + l.length, 0) + 1;
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
      const fh = await this.source.open(path);
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
    const layouts = schema.fields.map((f) => layoutOf(f.type));
    const batches: BatchAt[] = [];
    const dictionaries: Uint8Array[] = [];
    const messagesStart = first.bodyOffset + first.bodyLength;
    const messageEnds: number[] = [];
    let offset = messagesStart;
    let firstRow = 0;
    for (let at = await this.messageAt(fh, offset); at; at = await this.messageAt(fh, offset)) {
      offset = at.bodyOffset + at.bodyLength;
      // Forwarded as they lie in the file: only dictionaries and record batches.
      if (!at.message.isDictionaryBatch() && !at.message.isRecordBatch()) return null;
      messageEnds.push(offset);
      if (at.message.isDictionaryBatch()) {
        dictionaries.push(at.header, await this.read(fh, at.bodyOffset, at.bodyLength));
      } else if (at.message.isRecordBatch()) {
        const header = at.message.header() as unknown as { length: number; compression: unknown; buffers: { offset: number; length: number }[] };
        if (header.compression) return null;
        batches.push({ at, firstRow, rows: Number(header.length), buffers: header.buffers, dictionaries: [...dictionaries] });
        firstRow += Number(header.length);
      }
    }
    if (runs && firstRow !== runs.rows) return null;
    const lastBatch = batches.at(-1);
    return {
      schemaHeader: first.header,
      schema,
      messagesStart,
      // Dictionaries after the last record batch are not forwarded.
      messageEnds: lastBatch ? messageEnds.filter((end) => end <= lastBatch.at.bodyOffset + lastBatch.at.bodyLength) : [],
      runs,
      layouts: layouts.some((l) => l === null) ? null : (layouts as BufferLayout[]),
      batches,
      rows: firstRow,
      decodedDictionaries: new Map(),
    };
  }

  /**
   * Rows [s, e) of one column of a stored batch, read into buffers of their own: bitmaps shifted
   * to start at row s, Utf8 offsets rebased to the value bytes read.
   */
  private async readColumn(
    fh: FileHandle,
    at: MessageAt,
    type: DataType,
    layout: BufferLayout,
    regions: { offset: number; length: number }[],
    s: number,
    e: number,
    dictionary: Vector | undefined,
  ): Promise<Data> {
    const length = e - s;
    const slice = async (region: { offset: number; length: number }, from: number, to: number): Promise<Uint8Array> => {
      const hi = Math.min(region.length, to);
      const lo = Math.min(from, hi);
      const out = new Uint8Array(hi - lo);
      if (hi > lo) await this.readInto(fh, out, 0, at.bodyOffset + region.offset + lo, hi - lo);
      return out;
    };
    const bitmap = async (region: { offset: number; length: number }) =>
      region.length === 0 ? null : shiftBits(await slice(region, s >> 3, (e + 7) >> 3), s & 7, length);
    const nullBitmap = await bitmap(regions[0]!);
    const props = { type, length, ...(nullBitmap ? { nullBitmap } : {}) };
    if (layout[1] === 'bitmap') return makeData({ ...props, data: (await bitmap(regions[1]!)) ?? new Uint8Array(0) } as never);
    if (layout[1] === 'offsets32') {
      const raw = await slice(regions[1]!, s * 4, (e + 1) * 4);
      const offsets = new Int32Array(raw.buffer, raw.byteOffset, raw.byteLength >> 2);
      const base = offsets[0] ?? 0;
      const data = await slice(regions[2]!, base, offsets[offsets.length - 1] ?? base);
      for (let i = 0; i < offsets.length; i++) offsets[i]! -= base;
      return makeData({ ...props, valueOffsets: offsets, data } as never);
    }
    const { width } = layout[1] as { width: number };
    const raw = await slice(regions[1]!, s * width, e * width);
    // `raw` is a fresh buffer of its own, so a typed view of it is aligned.
    const ArrayType = (DataType.isDictionary(type) ? type.indices : type).ArrayType as unknown as {
      new (b: ArrayBufferLike, o: number, n: number): ArrayBufferView;
      BYTES_PER_ELEMENT: number;
    };
    const data = new ArrayType(raw.buffer, raw.byteOffset, raw.byteLength / ArrayType.BYTES_PER_ELEMENT);
    return makeData({ ...props, data, ...(dictionary ? { dictionary } : {}) } as never);
  }

  /** The dictionaries in force for a stored batch, decoded once per file. */
  private async dictionaries(dir: TierDirectory, batch: BatchAt): Promise<Map<number, Vector>> {
    const count = batch.dictionaries.length;
    let decoded = dir.decodedDictionaries.get(count);
    if (!decoded) {
      // Kept open to the end: a reader that closes itself drops what it decoded.
      const reader = RecordBatchReader.from(concatBytes(dir.schemaHeader, ...batch.dictionaries));
      reader.open({ autoDestroy: false });
      for (let next = reader.next(); !next.done; next = reader.next());
      decoded = reader.dictionaries;
      dir.decodedDictionaries.set(count, decoded);
    }
    return decoded;
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
    const bytes = await fh.read(position, length);
    this.stats.bytesRead += bytes.byteLength;
    return bytes;
  }

  private async readInto(fh: FileHandle, target: Uint8Array, at: number, position: number, length: number): Promise<void> {
    target.set(await this.read(fh, position, length), at);
  }

  /** A whole file (an IPC tier copy read into the hot cache). */
  async readWhole(path: string): Promise<Uint8Array> {
    return this.source.readAll(path);
  }
}

function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** `bits` bits of `bytes` starting at bit `shift`, as a bitmap starting at bit 0. */
function shiftBits(bytes: Uint8Array, shift: number, bits: number): Uint8Array {
  if (shift === 0) return bytes;
  const out = new Uint8Array((bits + 7) >> 3);
  for (let i = 0; i < out.length; i++) out[i] = ((bytes[i] ?? 0) >> shift) | (((bytes[i + 1] ?? 0) << (8 - shift)) & 0xff);
  return out;
}
