import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bool, DateDay, Dictionary, Float32, Int32, makeData, makeVector, MessageReader, RecordBatch, Schema, Table, tableFromIPC, tableToIPC, Timestamp, TimeUnit, Utf8, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORWARD_READ_BYTES, forwardReads, IpcTierRangeReader } from './ipc-tier-ranges.js';
import { decodeKeyRuns, encodeKeyRuns, joinTouching, KEY_RUNS_METADATA, keyRunsOf, rowRangesOf } from './key-runs.js';

const SYMBOLS = Array.from({ length: 37 }, (_, i) => `K${String(i).padStart(2, '0')}`);
/** Uneven run lengths, so runs start at every bit offset and cross batch boundaries. */
const runLength = (i: number) => 5 + ((i * 7) % 23);

/** A sorted batch with every flat type the store keeps, nulls at odd places. */
function sortedBatch(): RecordBatch {
  const symbol: string[] = [];
  const note: (string | null)[] = [];
  const flag: (boolean | null)[] = [];
  const qty: (number | null)[] = [];
  const ratio: number[] = [];
  const day: Date[] = [];
  const ts: bigint[] = [];
  SYMBOLS.forEach((s, i) => {
    for (let r = 0; r < runLength(i); r++) {
      const row = symbol.length;
      symbol.push(s);
      note.push(row % 5 === 0 ? null : `${s}-${'x'.repeat(row % 9)}-${row}`);
      flag.push(row % 3 === 0 ? null : row % 2 === 0);
      qty.push(row % 7 === 0 ? null : row * 3);
      ratio.push(row / 8);
      day.push(new Date(Date.UTC(2024, 0, 1 + (row % 300))));
      ts.push(BigInt(r) * 60_000_000_000n); // each key's times start again, as in real data
    }
  });
  const table = new Table({
    symbol: vectorFromArray(symbol, new Dictionary(new Utf8(), new Int32())),
    ts: makeVector(makeData({ type: new Timestamp(TimeUnit.NANOSECOND, 'UTC'), length: ts.length, data: BigInt64Array.from(ts) })),
    note: vectorFromArray(note, new Utf8()),
    flag: vectorFromArray(flag, new Bool()),
    qty: vectorFromArray(qty, new Int32()),
    ratio: vectorFromArray(ratio, new Float32()),
    day: vectorFromArray(day, new DateDay()),
  });
  if (table.batches.length !== 1) throw new Error('expected one batch');
  return table.batches[0]!;
}

/** Writes the batch as the IPC tier does: key runs in the schema metadata, fixed-size batches. */
async function writeTier(path: string, batch: RecordBatch, batchRows: number, withRuns = true): Promise<void> {
  const metadata = new Map<string, string>();
  const runs = keyRunsOf(batch, 'symbol');
  if (withRuns && runs) metadata.set(KEY_RUNS_METADATA, encodeKeyRuns(runs));
  const schema = new Schema(batch.schema.fields, metadata);
  const slices: RecordBatch[] = [];
  for (let s = 0; s < batch.numRows; s += batchRows) slices.push(new RecordBatch(schema, batch.slice(s, Math.min(batch.numRows, s + batchRows)).data));
  await writeFile(path, tableToIPC(new Table(schema, slices), 'stream'));
}

/** How many IPC messages a piece of a stream holds. */
function messagesIn(bytes: Uint8Array): number {
  const reader = new MessageReader(bytes);
  let n = 0;
  for (let m = reader.readMessage(); m; m = reader.readMessage()) {
    reader.readMessageBody(m.bodyLength);
    n++;
  }
  return n;
}

const rowsOf = (batches: RecordBatch[], columns: string[]) =>
  batches.flatMap((b) => [...b].map((r) => Object.fromEntries(columns.map((c) => [c, r![c] instanceof Date ? (r![c] as Date).getTime() : r![c]]))));

describe('key runs', () => {
  it('finds each key run of a sorted column and the row ranges of chosen keys', () => {
    const batch = sortedBatch();
    const runs = keyRunsOf(batch, 'symbol')!;
    expect(runs.keys).toEqual(SYMBOLS);
    expect(runs.starts[1]).toBe(runLength(0));
    expect(runs.rows).toBe(batch.numRows);
    expect(rowRangesOf(runs, ['K01', 'K02', 'K05', 'nope'])).toEqual([
      [runs.starts[1], runs.starts[2]],
      [runs.starts[2], runs.starts[3]],
      [runs.starts[5], runs.starts[6]],
    ]);
    expect(joinTouching(rowRangesOf(runs, ['K01', 'K02', 'K05']))).toEqual([
      [runs.starts[1], runs.starts[3]],
      [runs.starts[5], runs.starts[6]],
    ]);
    expect(rowRangesOf(runs, [SYMBOLS.at(-1)!])).toEqual([[runs.starts.at(-1), batch.numRows]]);
    expect(decodeKeyRuns(encodeKeyRuns(runs))).toEqual(runs);
  });

  it('has no runs for a missing or non-string column, and rejects malformed metadata', () => {
    const batch = sortedBatch();
    expect(keyRunsOf(batch, undefined)).toBeNull();
    expect(keyRunsOf(batch, 'qty')).toBeNull();
    expect(keyRunsOf(batch, 'nope')).toBeNull();
    expect(keyRunsOf(batch, 'note')).toBeNull(); // has nulls
    expect(decodeKeyRuns('{"column":"s","rows":3,"keys":["a"],"starts":[]}')).toBeNull();
    expect(decodeKeyRuns('not json')).toBeNull();
    expect(decodeKeyRuns(undefined)).toBeNull();
  });
});

describe('IpcTierRangeReader', () => {
  let dir: string;
  let batch: RecordBatch;
  let all: Record<string, unknown>[];
  const columns = ['symbol', 'ts', 'note', 'flag', 'qty', 'ratio', 'day'];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fd-tier-'));
    batch = sortedBatch();
    all = rowsOf([batch], columns);
    await writeTier(join(dir, 'tier.arrows'), batch, 50);
    await writeTier(join(dir, 'plain.arrows'), batch, 50, false);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reads exactly the rows of the chosen keys, every type and null intact, across batch boundaries', async () => {
    const reader = new IpcTierRangeReader();
    for (const keys of [['K00'], ['K03'], ['K07', 'K08'], ['K02', 'K20', SYMBOLS.at(-1)!], SYMBOLS]) {
      const got = await reader.readKeys(join(dir, 'tier.arrows'), keys, columns);
      expect(got, keys.join()).toBeDefined();
      expect(rowsOf(got!, columns), keys.join()).toEqual(all.filter((r) => keys.includes(r.symbol as string)));
    }
  });

  it('reads only the wanted rows of the wanted columns', async () => {
    const reader = new IpcTierRangeReader();
    const path = join(dir, 'tier.arrows');
    const got = await reader.readKeys(path, ['K10'], ['symbol', 'ratio']);
    const rows = runLength(10);
    expect(got!.reduce((n, b) => n + b.numRows, 0)).toBe(rows);
    expect(rowsOf(got!, ['symbol', 'ratio'])).toEqual(rowsOf([batch], ['symbol', 'ratio']).filter((r) => r.symbol === 'K10'));
    const { bytesRead, filesOpened } = reader.ioStats();
    expect(filesOpened).toBe(1);
    // Headers and the symbol dictionary are read whole; the data only for the run's rows.
    expect(bytesRead).toBeLessThan((await stat(path)).size / 4);
  });

  it('narrows each key run to a time window by binary search before reading its rows', async () => {
    const path = join(dir, 'tier.arrows');
    const keys = ['K04', 'K05', 'K30'];
    const minute = 60_000_000_000n;
    for (const [from, to] of [[3, 9], [0, 6], [10, 2000], [1, 2], [6, 7], [40, 50]] as const) {
      const reader = new IpcTierRangeReader();
      const window = { column: 'ts', startNs: BigInt(from) * minute, endNs: BigInt(to) * minute };
      const got = await reader.readKeys(path, keys, columns, window);
      // ts is the row's place in its key's run, in minutes; milliseconds in the row objects.
      const expected = all.filter((r) => keys.includes(r.symbol as string) && (r.ts as number) >= from * 60_000 && (r.ts as number) < to * 60_000);
      expect(rowsOf(got!, columns), `${from}..${to}`).toEqual(expected);
    }
    const whole = new IpcTierRangeReader();
    await whole.readKeys(path, ['K20'], columns);
    const narrow = new IpcTierRangeReader();
    await narrow.readKeys(path, ['K20'], columns, { column: 'ts', startNs: 1n * minute, endNs: 3n * minute });
    // Both read the same directory; the narrow read adds a few 8-byte probes and 2 of the run's rows.
    const directoryOnly = new IpcTierRangeReader();
    expect(await directoryOnly.readKeys(path, ['nothing'], columns)).toEqual([]);
    const base = directoryOnly.ioStats().bytesRead;
    expect(narrow.ioStats().bytesRead - base).toBeLessThan((whole.ioStats().bytesRead - base) / 2);
  });

  it('returns no batches for keys the file lacks, and undefined for a file without key runs', async () => {
    const reader = new IpcTierRangeReader();
    expect(await reader.readKeys(join(dir, 'tier.arrows'), ['ZZZ'], columns)).toEqual([]);
    expect(await reader.readKeys(join(dir, 'plain.arrows'), ['K01'], columns)).toBeUndefined();
  });

  it('reads any row range of a stored batch into buffers of its own, every type and null intact', async () => {
    const reader = new IpcTierRangeReader();
    const path = join(dir, 'plain.arrows'); // no key runs needed to read by rows
    expect(await reader.canReadRows(path)).toBe(true);
    expect(await reader.rowCount(path)).toBe(batch.numRows);
    for (const [start, end] of [[0, 1], [3, 17], [7, 50], [49, 51], [50, 100], [61, 140], [batch.numRows - 3, batch.numRows]] as const) {
      const got: RecordBatch[] = [];
      for (let at = start; at < end; ) {
        const part = (await reader.readRows(path, at, end, columns))!;
        // A read stops at the end of the stored batch (50 rows) that holds its first row.
        expect(part.numRows, `${at}..${end}`).toBe(Math.min(end, (Math.floor(at / 50) + 1) * 50) - at);
        // Its buffers hold its rows alone.
        for (const child of part.data.children) expect(child.offset).toBe(0);
        got.push(part);
        at += part.numRows;
      }
      expect(rowsOf(got, columns), `${start}..${end}`).toEqual(all.slice(start, end));
    }
    expect(rowsOf([(await reader.readRows(path, 5, 9, ['ratio', 'symbol']))!], ['ratio', 'symbol'])).toEqual(rowsOf([batch.slice(5, 9)], ['ratio', 'symbol']));
  });

  it('gives the stored messages for forwarding in reads of whole messages, holding about two reads', async () => {
    const reader = new IpcTierRangeReader();
    const path = join(dir, 'tier.arrows');
    const messages = 1 + Math.ceil(batch.numRows / 50); // a dictionary, then one per stored batch of 50 rows
    for (const readBytes of [FORWARD_READ_BYTES, 3000, 1]) {
      const opened = (await reader.openMessages(path, readBytes))!;
      expect(opened.schema.fields.map((f) => f.name)).toEqual(columns);
      const held = { now: 0, peak: 0, hold: (n: number) => (held.peak = Math.max(held.peak, (held.now += n))), release: (n: number) => (held.now -= n) };
      const chunks: Uint8Array[] = [];
      for await (const m of opened.messages(held)) chunks.push(m);
      const counts = chunks.map(messagesIn);
      expect(counts.reduce((a, b) => a + b, 0), `${readBytes}`).toBe(messages);
      // Each read is at most readBytes, or one message larger than that.
      chunks.forEach((c, i) => expect(c.byteLength <= readBytes || counts[i] === 1, `${readBytes}`).toBe(true));
      if (readBytes === FORWARD_READ_BYTES) expect(chunks).toHaveLength(1);
      if (readBytes === 1) expect(chunks).toHaveLength(messages);
      expect(held.now).toBe(0);
      const largest = Math.max(...chunks.map((c) => c.byteLength));
      expect(held.peak).toBeLessThanOrEqual(2 * Math.max(readBytes, largest));
      // Behind a schema message they are the file's stream again.
      const schemaMessage = tableToIPC(new Table(batch.schema, []), 'stream').subarray(0, -8); // without end-of-stream
      const stream = new Uint8Array(Buffer.concat([schemaMessage, ...chunks]));
      expect(rowsOf(tableFromIPC(stream).batches, columns)).toEqual(all);
    }
  });

  it('lets go of what it read when the consumer stops early', async () => {
    const reader = new IpcTierRangeReader();
    const held = { now: 0, hold: (n: number) => (held.now += n), release: (n: number) => (held.now -= n) };
    const opened = (await reader.openMessages(join(dir, 'tier.arrows'), 1))!;
    for await (const m of opened.messages(held)) {
      expect(m.byteLength).toBeGreaterThan(0);
      expect(held.now).toBeGreaterThan(0);
      break;
    }
    expect(held.now).toBe(0);
  });

  it('cuts reads at message ends', () => {
    expect(forwardReads(10, [20, 30, 40, 100, 110], 25)).toEqual([[10, 30], [30, 40], [40, 100], [100, 110]]);
    expect(forwardReads(10, [], 25)).toEqual([]);
    expect(forwardReads(0, [5, 10], 100)).toEqual([[0, 10]]);
  });
});
