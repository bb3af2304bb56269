import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3RVER_CREDENTIALS, startS3rver, type S3rverHarness } from '../../../test-support/s3rver.js';
import { makeBars } from '../../../test-support/bars.js';
import { StorageError } from '../errors.js';
import { ParquetReader } from '../io/parquet-reader.js';
import { encodeParquetFile } from '../io/parquet-io.js';
import { ParquetEncoderPool } from '../write/parquet-encoder-pool.js';
import { DataFiles } from './data-files.js';
import { parseS3Url, S3ObjectStore } from './s3-store.js';

const MiB = 1024 * 1024;
const silent = { warn: () => undefined };

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 131 + seed) & 255;
  return out;
}

describe('S3 object store (s3rver on loopback)', () => {
  let s3: S3rverHarness;
  let store: S3ObjectStore;
  let dir: string;
  beforeAll(async () => {
    Object.assign(process.env, S3RVER_CREDENTIALS);
    s3 = await startS3rver();
    store = new S3ObjectStore(parseS3Url(s3.dataUrl('tests/layer')), { endpoint: s3.endpoint, maxAttempts: 2 });
    dir = await mkdtemp(join(tmpdir(), 'fd-s3-layer-'));
  });
  afterAll(async () => {
    await store?.close();
    await s3?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('parses DATA_URL and refuses what is not s3://bucket/prefix', () => {
    expect(parseS3Url('s3://my-bucket/a/b/')).toEqual({ bucket: 'my-bucket', prefix: 'a/b' });
    expect(parseS3Url('s3://my-bucket')).toEqual({ bucket: 'my-bucket', prefix: '' });
    expect(() => parseS3Url('http://x/y')).toThrow(/must look like s3:\/\/bucket\/prefix/);
    expect(() => parseS3Url('s3://B_ad/x')).toThrow(/not a valid bucket name/);
    expect(() => parseS3Url('s3://bucket/a/../b')).toThrow(/"\." or "\.\." segments/);
  });

  it('puts (multipart when large), gets whole and by ranges, heads, lists and deletes', async () => {
    const small = bytes(1000, 1);
    const large = bytes(11 * MiB + 123, 2); // three parts of 5 MiB at the minimum part size
    const multipart = new S3ObjectStore(parseS3Url(s3.dataUrl('tests/layer')), { endpoint: s3.endpoint, partBytes: 5 * MiB });
    try {
      await store.put('ds/p=1/small.bin', small);
      // In pieces, as an IPC tier file comes from its writer: stored as their concatenation.
      await multipart.put('ds/p=1/large.bin', [large.subarray(0, 7 * MiB), large.subarray(7 * MiB)]);
    } finally {
      await multipart.close();
    }
    expect(await store.get('ds/p=1/small.bin')).toEqual(small);
    // Compared as buffers: a deep equal of 11 M elements takes minutes.
    expect(Buffer.compare(await store.get('ds/p=1/large.bin'), large)).toBe(0);
    expect(await store.getRange('ds/p=1/large.bin', 5 * MiB - 10, 20)).toEqual(large.subarray(5 * MiB - 10, 5 * MiB + 10));
    expect(await store.getRange('ds/p=1/small.bin', 990, 100)).toEqual(small.subarray(990));
    expect(await store.head('ds/p=1/large.bin')).toEqual({ size: large.length });
    expect(await store.head('ds/p=1/none.bin')).toBeNull();
    await expect(store.get('ds/p=1/none.bin')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const listed = await store.list('ds/');
    expect(listed.map((o) => [o.key, o.size]).sort()).toEqual([
      ['ds/p=1/large.bin', large.length],
      ['ds/p=1/small.bin', small.length],
    ]);
    expect(store.url('ds/p=1/small.bin')).toBe(`s3://${s3.bucket}/tests/layer/ds/p=1/small.bin`);
    await store.delete(['ds/p=1/small.bin', 'ds/p=1/never-was.bin']);
    expect((await store.list('ds/')).map((o) => o.key)).toEqual(['ds/p=1/large.bin']);
    await store.delete(['ds/p=1/large.bin']);
  });

  it('reads a Parquet file by byte ranges through the disk tier: a column of one row group fetches a fraction of the file', async () => {
    const batch = makeBars({ symbols: ['AAPL', 'MSFT', 'NVDA', 'AMZN'], start: '2024-01-02T09:30:00Z', minutes: 20_000 });
    const encoder = new ParquetEncoderPool(0);
    const encoded = await encodeParquetFile(batch, { rowGroupRows: 10_000, timeColumn: 'ts', keyColumn: 'symbol' }, encoder);
    await encoder.close();
    const files = await DataFiles.over(store, { cacheDir: join(dir, 'cache'), cacheDiskBytes: 64 * MiB, cacheBlockBytes: 16 * 1024 }, silent);
    // Put through the store, not DataFiles: the tier starts cold.
    await store.put('pq/f.parquet', encoded.body);
    const reader = new ParquetReader(files.source);
    const one = tableFromIPC(await reader.readIpc('pq/f.parquet', { columns: ['close'], rowGroups: [3] }));
    expect(one.numRows).toBe(10_000);
    expect(one.getChild('close')!.get(0)).toBe(batch.getChild('close')!.get(30_000));
    const fetched = files.diskCacheStats()!.bytesFetched;
    expect(fetched).toBeGreaterThan(0);
    expect(fetched).toBeLessThan(encoded.body.byteLength / 4);
    // The whole file, second time from disk only.
    const all = tableFromIPC(await reader.readIpc('pq/f.parquet'));
    expect(all.numRows).toBe(batch.numRows);
    const afterWhole = files.diskCacheStats()!;
    const again = new ParquetReader(files.source);
    expect(tableFromIPC(await again.readIpc('pq/f.parquet')).numRows).toBe(batch.numRows);
    expect(files.diskCacheStats()!.bytesFetched).toBe(afterWhole.bytesFetched);
    await store.delete(['pq/f.parquet']);
  });

  it('store stopped: UNAVAILABLE naming the endpoint and bucket; works again once it is back', async () => {
    await store.put('outage/before.bin', bytes(10, 1));
    await s3.stop();
    try {
      const put = store.put('outage/during.bin', bytes(10, 2));
      await expect(put).rejects.toBeInstanceOf(StorageError);
      await expect(put).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      await put.catch((e: Error) => {
        expect(e.message).toContain(s3.endpoint);
        expect(e.message).toContain(`s3://${s3.bucket}/tests/layer`);
      });
      await expect(store.getRange('outage/before.bin', 0, 4)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      await expect(store.list('outage/')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    } finally {
      await s3.start();
    }
    expect(await store.get('outage/before.bin')).toEqual(bytes(10, 1));
    await store.put('outage/after.bin', bytes(10, 3));
    expect((await store.list('outage/')).map((o) => o.key).sort()).toEqual(['outage/after.bin', 'outage/before.bin']);
  });
});
