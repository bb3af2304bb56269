/** For storage tests: a DatasetStore's rows as plain objects, read endpoint by endpoint as DoGet would. */
import { tableFromIPC, type RecordBatch } from 'apache-arrow';
import type { ReadQuery } from '@flightdeck/contract';
import type { DatasetStore } from '../src/storage/dataset-store.js';

export const silentLog = { info: () => undefined, warn: () => undefined };

export function storeOptions(dataDir: string) {
  return { dataDir, cacheBytes: 64 * 1024 * 1024, ipcTier: true, rowGroupRows: 1024, maxPutBytes: 64 * 1024 * 1024, endpointTargetRows: 10_000, outputBatchRows: 4096 };
}

export async function* batchesOf(batches: RecordBatch[]): AsyncGenerator<RecordBatch> {
  yield* batches;
}

export async function readRows(store: DatasetStore, query: ReadQuery): Promise<Record<string, unknown>[]> {
  const plan = await store.plan(query);
  const rows: Record<string, unknown>[] = [];
  for (const e of plan.endpoints) {
    const data = await store.read(e.slice);
    const batches =
      data.kind === 'batches'
        ? data.batches
        : (async function* () {
            for await (const ipc of data.streams) yield* tableFromIPC(ipc).batches;
          })();
    for await (const b of batches) for (const r of b) rows.push(r!.toJSON());
  }
  return rows;
}
