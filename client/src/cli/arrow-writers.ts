/**
 * Arrow IPC (file or stream format) and Parquet output, streamed batch by batch: each batch is
 * encoded and written before the next is read. String columns are written as plain utf8 so
 * batches from different endpoints (each with its own dictionary) form one valid file.
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RecordBatchFileWriter, RecordBatchStreamWriter, Table, tableToIPC, type RecordBatch, type Schema } from 'apache-arrow';
import * as pq from 'parquet-wasm';
import { BatchConformer, wireSchema } from '../sdk/index.js';

/** The batches with dictionary and large strings as utf8, in `wireSchema(schema)`. */
export async function* plainBatches(batches: AsyncIterable<RecordBatch>, schema: Schema): AsyncGenerator<RecordBatch> {
  const target = wireSchema(schema);
  let conformer: { from: Schema; c: BatchConformer } | null = null;
  for await (const batch of batches) {
    if (conformer === null || conformer.from !== batch.schema) {
      conformer = { from: batch.schema, c: new BatchConformer(batch.schema, target, { epochUnit: 'ns', source: 'result' }) };
    }
    yield conformer.c.conform(batch, 1);
  }
}

export async function writeArrow(
  batches: AsyncIterable<RecordBatch>,
  schema: Schema,
  out: Writable,
  format: 'file' | 'stream',
): Promise<number> {
  let rows = 0;
  const counted = async function* (): AsyncGenerator<RecordBatch> {
    for await (const b of plainBatches(batches, schema)) {
      rows += b.numRows;
      yield b;
    }
  };
  const iterator = counted();
  const first = await iterator.next();
  if (first.done) {
    await writeAll(out, tableToIPC(new Table(wireSchema(schema)), format));
    return 0;
  }
  const all = async function* (): AsyncGenerator<RecordBatch> {
    yield first.value;
    yield* iterator;
  };
  const writer = format === 'file' ? RecordBatchFileWriter.throughNode() : RecordBatchStreamWriter.throughNode();
  await pipeline(Readable.from(all()), writer, out);
  return rows;
}

export async function writeParquet(batches: AsyncIterable<RecordBatch>, schema: Schema, out: Writable): Promise<number> {
  const iterator = plainBatches(batches, schema)[Symbol.asyncIterator]();
  let rows = 0;
  const props = new pq.WriterPropertiesBuilder().setCompression(pq.Compression.ZSTD).build();
  const first = await iterator.next();
  if (first.done) {
    const empty = pq.Table.fromIPCStream(tableToIPC(new Table(wireSchema(schema)), 'stream'));
    await writeAll(out, pq.writeParquet(empty, props));
    return 0;
  }
  let pending: RecordBatch | null = first.value;
  const source = new ReadableStream({
    async pull(controller): Promise<void> {
      let batch = pending;
      pending = null;
      if (batch === null) {
        const next = await iterator.next();
        if (next.done) {
          controller.close();
          return;
        }
        batch = next.value;
      }
      rows += batch.numRows;
      const table = pq.Table.fromIPCStream(tableToIPC(new Table(batch.schema, [batch]), 'stream'));
      for (const b of table.recordBatches()) controller.enqueue(b);
    },
    async cancel(): Promise<void> {
      await iterator.return?.(undefined);
    },
  });
  const bytes = await pq.transformParquetStream(source, props);
  await bytes.pipeTo(Writable.toWeb(out));
  return rows;
}

async function writeAll(out: Writable, bytes: Uint8Array): Promise<void> {
  await pipeline(Readable.from([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]), out);
}

