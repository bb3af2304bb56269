/**
 * Parquet input through parquet-wasm, one row group at a time: the file is opened as a Blob
 * (`fs.openAsBlob`), so only the footer and the row group being read are ever in memory.
 */
import { openAsBlob } from 'node:fs';
import { tableFromIPC, type RecordBatch } from 'apache-arrow';
import * as pq from 'parquet-wasm';
import { BatchConformer, InputError, schemaForSource } from '../sdk/index.js';
import type { InputFile } from './input-format.js';
import type { BytesRead, PutPlan } from './put-plan.js';

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function* readParquet(file: InputFile, plan: PutPlan, onBytes: BytesRead): AsyncGenerator<RecordBatch> {
  let parquet: pq.ParquetFile;
  try {
    parquet = await pq.ParquetFile.fromFile(await openAsBlob(file.path));
  } catch (err) {
    throw new InputError(`${file.path}: not a readable Parquet file (${messageOf(err)})`, { source: file.path });
  }
  try {
    const meta = parquet.metadata();
    const groups = meta.numRowGroups();
    let conformer: BatchConformer | null = null;
    let firstRow = 1;
    let bytes = 0;
    for (let g = 0; g < groups; g++) {
      let batches: RecordBatch[];
      try {
        const table = await parquet.read({ rowGroups: [g], batchSize: plan.batchRows });
        batches = tableFromIPC(table.intoIPCStream()).batches;
      } catch (err) {
        throw new InputError(`${file.path}: row group ${g}: cannot read it (${messageOf(err)})`, { source: file.path });
      }
      bytes += Number(meta.rowGroup(g).compressedSize());
      onBytes(Math.min(bytes, file.size));
      for (const batch of batches) {
        if (batch.numRows === 0) continue;
        if (conformer === null) {
          plan.schema ??= schemaForSource(batch.schema, plan.roles, plan.overrides, file.path);
          conformer = new BatchConformer(batch.schema, plan.schema, { epochUnit: plan.epochUnit, source: file.path });
        }
        yield conformer.conform(batch, firstRow);
        firstRow += batch.numRows;
      }
    }
  } finally {
    parquet.free();
  }
  onBytes(file.size);
}
