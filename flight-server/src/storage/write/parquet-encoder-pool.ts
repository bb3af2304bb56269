/**
 * Parquet encoding (zstd, in WebAssembly) is most of a commit's CPU time: a small pool of worker
 * threads encodes the partitions of one commit in parallel while the main thread keeps serving.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { StorageError } from '../errors.js';
import { encodeParquet } from './parquet-encode.mjs';

interface Pending {
  resolve(bytes: Uint8Array): void;
  reject(error: Error): void;
}

interface PoolWorker {
  worker: Worker;
  busy: number;
}

export class ParquetEncoderPool {
  private readonly workers: PoolWorker[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  /** `size` 0 encodes on the calling thread. */
  constructor(readonly size: number = Math.min(4, availableParallelism())) {}

  async encode(ipc: Uint8Array, rowGroupRows: number, timeColumn: string): Promise<Uint8Array> {
    if (this.size === 0) return encodeParquet(ipc, rowGroupRows, timeColumn);
    const target = this.pick();
    const id = this.nextId++;
    target.busy++;
    try {
      return await new Promise<Uint8Array>((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        // The IPC bytes are ours alone: transfer them instead of copying.
        const owned = ipc.byteOffset === 0 && ipc.byteLength === ipc.buffer.byteLength ? ipc : ipc.slice();
        target.worker.postMessage({ id, ipc: owned, rowGroupRows, timeColumn }, [owned.buffer as ArrayBuffer]);
      });
    } finally {
      target.busy--;
    }
  }

  private pick(): PoolWorker {
    if (this.workers.length < this.size && this.workers.every((w) => w.busy > 0)) {
      const worker = new Worker(new URL('./parquet-encode-worker.mjs', import.meta.url));
      worker.unref();
      worker.on('message', (m: { id: number; bytes?: Uint8Array; error?: string }) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.bytes) p.resolve(m.bytes);
        else p.reject(new StorageError('INTERNAL', `Parquet encoding failed: ${m.error}`));
      });
      worker.on('error', (e) => this.failAll(e));
      this.workers.push({ worker, busy: 0 });
    }
    return this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
  }

  private failAll(error: Error): void {
    for (const p of this.pending.values()) p.reject(new StorageError('INTERNAL', `Parquet encoder worker died: ${error.message}`));
    this.pending.clear();
    for (const w of this.workers.splice(0)) void w.worker.terminate();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.splice(0).map((w) => w.worker.terminate()));
  }
}
