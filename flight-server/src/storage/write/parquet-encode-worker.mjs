// Worker thread: encodes Parquet off the main thread (see parquet-encoder-pool.ts).
import { parentPort } from 'node:worker_threads';
import { encodeParquet } from './parquet-encode.mjs';

parentPort.on('message', ({ id, ipc, rowGroupRows, timeColumn }) => {
  try {
    const bytes = encodeParquet(ipc, rowGroupRows, timeColumn);
    parentPort.postMessage({ id, bytes }, [bytes.buffer]);
  } catch (error) {
    parentPort.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
