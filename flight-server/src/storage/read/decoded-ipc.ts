/**
 * The record batches of IPC bytes the hot cache holds, decoded once per cached value: a selective
 * read served from the cache (a symbol's week for a chart) otherwise parsed the same flatbuffers
 * and built the same batch objects on every request, 15% of the server's time on GraphQL
 * `series` reads. The batches are views of the cached bytes (no copy); keyed weakly by those
 * bytes, they go when the cache lets the bytes go.
 */
import { tableFromIPC, type RecordBatch } from 'apache-arrow';

const decoded = new WeakMap<Uint8Array, readonly RecordBatch[]>();

/** `tableFromIPC(ipc).batches`, decoded the first time these very bytes are asked for. */
export function cachedBatches(ipc: Uint8Array): readonly RecordBatch[] {
  let batches = decoded.get(ipc);
  if (batches === undefined) {
    batches = tableFromIPC(ipc).batches;
    decoded.set(ipc, batches);
  }
  return batches;
}
