/**
 * Arrow IPC input, file or stream format (told apart by the file's magic), read batch by batch
 * from a file handle so large files never sit in memory whole.
 */
import { open } from 'node:fs/promises';
import { RecordBatchReader, type RecordBatch } from 'apache-arrow';
import { BatchConformer, InputError, schemaForSource } from '../sdk/index.js';
import type { InputFile } from './input-format.js';
import type { BytesRead, PutPlan } from './put-plan.js';

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function* readArrow(file: InputFile, plan: PutPlan, onBytes: BytesRead): AsyncGenerator<RecordBatch> {
  const handle = await open(file.path);
  try {
    let reader: Awaited<ReturnType<typeof RecordBatchReader.from>>;
    try {
      reader = await RecordBatchReader.from(handle);
      await reader.open();
    } catch (err) {
      throw new InputError(`${file.path}: not a readable Arrow IPC file or stream (${messageOf(err)})`, { source: file.path });
    }
    let conformer: BatchConformer | null = null;
    let firstRow = 1;
    let bytes = 0;
    const batches = reader[Symbol.asyncIterator]();
    for (;;) {
      let next: IteratorResult<RecordBatch>;
      try {
        next = await batches.next();
      } catch (err) {
        throw new InputError(`${file.path}: after row ${firstRow - 1}: cannot read the next batch (${messageOf(err)})`, { source: file.path });
      }
      if (next.done) break;
      const batch = next.value;
      bytes += batch.data.byteLength;
      onBytes(Math.min(bytes, file.size));
      if (batch.numRows === 0) continue;
      if (conformer === null) {
        plan.schema ??= schemaForSource(batch.schema, plan.roles, plan.overrides, file.path);
        conformer = new BatchConformer(batch.schema, plan.schema, { epochUnit: plan.epochUnit, source: file.path });
      }
      yield conformer.conform(batch, firstRow);
      firstRow += batch.numRows;
    }
  } finally {
    await handle.close();
  }
  onBytes(file.size);
}
