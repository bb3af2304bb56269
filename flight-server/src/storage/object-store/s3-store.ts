/**
 * Data files on an S3-compatible object store (DATA_URL=s3://bucket/prefix) through the AWS SDK:
 * credentials and region by the SDK's standard chain, path-style addressing when S3_ENDPOINT
 * names a store that is not AWS (MinIO, R2, s3rver), multipart uploads for large files
 * (lib-storage's Upload), ranged GETs for Parquet footers, column chunks and key runs.
 *
 * Checksums are computed and validated only where an operation requires them: stores that do not
 * decode aws-chunked bodies (s3rver, some gateways) then accept every upload. A PUT of a whole
 * object is atomic on every S3-compatible store, so a reader never sees a partial data file.
 *
 * Faults: a missing object is NOT_FOUND; anything else (refused connection, timeout, 5xx, access
 * denied, missing bucket) is UNAVAILABLE with a message naming the store, since no call that needs
 * the store can succeed until it answers again. The client holds no state beyond its connections,
 * so it recovers by itself when the store returns.
 */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { StorageError } from '../errors.js';
import { wholeBody, type ObjectBody, type ObjectInfo, type ObjectStore } from './object-store.js';

export interface S3Location {
  bucket: string;
  /** Key prefix without leading or trailing `/`; '' for the bucket's root. */
  prefix: string;
}

/** Parses `s3://bucket/prefix`; throws naming the fault. */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url);
  if (!m) throw new Error(`DATA_URL=${JSON.stringify(url)} must look like s3://bucket/prefix`);
  const bucket = m[1]!;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new Error(`DATA_URL=${JSON.stringify(url)}: "${bucket}" is not a valid bucket name`);
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix.split('/').some((p) => p === '.' || p === '..')) throw new Error(`DATA_URL=${JSON.stringify(url)}: the prefix must not contain "." or ".." segments`);
  return { bucket, prefix };
}

export interface S3StoreOptions {
  /** S3_ENDPOINT: a store that is not AWS, addressed path-style; null: AWS S3. */
  endpoint: string | null;
  /** Files larger than this go up in parts of this size (at least 5 MiB, S3's minimum). */
  partBytes?: number;
  /** How long one request may take before it is retried or fails (default 30 s). */
  requestTimeoutMs?: number;
  /** Attempts per request, retries included (the SDK's backoff between them; default 3). */
  maxAttempts?: number;
}

const MiB = 1024 * 1024;

export class S3ObjectStore implements ObjectStore {
  readonly local = false;
  readonly description: string;
  private readonly client: S3Client;
  private readonly partBytes: number;

  constructor(
    readonly location: S3Location,
    private readonly opts: S3StoreOptions,
  ) {
    this.description = `object store s3://${location.bucket}${location.prefix ? `/${location.prefix}` : ''}${opts.endpoint ? ` at ${opts.endpoint}` : ''}`;
    this.partBytes = Math.max(5 * MiB, opts.partBytes ?? 8 * MiB);
    const config: S3ClientConfig = {
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: opts.maxAttempts ?? 3,
      requestHandler: { connectionTimeout: 5000, requestTimeout: opts.requestTimeoutMs ?? 30_000 },
    };
    if (opts.endpoint) {
      config.endpoint = opts.endpoint;
      config.forcePathStyle = true;
      // A store that is not AWS ignores the region, but the SDK wants one to sign with.
      if (!process.env.AWS_REGION && !process.env.AWS_DEFAULT_REGION && !process.env.AWS_PROFILE) config.region = 'us-east-1';
    }
    this.client = new S3Client(config);
  }

  private fullKey(key: string): string {
    return this.location.prefix ? `${this.location.prefix}/${key}` : key;
  }

  url(key: string): string {
    return `s3://${this.location.bucket}/${this.fullKey(key)}`;
  }

  /** The error a failed request becomes: NOT_FOUND for a missing object, else UNAVAILABLE naming the store. */
  private fault(e: unknown, what: string, key: string): StorageError {
    const err = e as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number } };
    const status = err.$metadata?.httpStatusCode;
    if (err.name === 'NoSuchKey' || err.name === 'NotFound' || status === 404) {
      if (err.name !== 'NoSuchBucket') return new StorageError('NOT_FOUND', `${this.url(key)} does not exist in the ${this.description}`, { cause: e });
    }
    const detail = [err.name && err.name !== 'Error' ? err.name : null, err.code ?? null, status ? `HTTP ${status}` : null, err.message || null].filter(Boolean).join(': ');
    return new StorageError('UNAVAILABLE', `${this.description} is unavailable (${what} ${this.url(key)}): ${detail || String(e)}`, { cause: e });
  }

  private async call<T>(what: string, key: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      throw this.fault(e, what, key);
    }
  }

  async put(key: string, pieces: ObjectBody): Promise<void> {
    const body = wholeBody(pieces);
    await this.call('PUT', key, async () => {
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.location.bucket, Key: this.fullKey(key), Body: body, ContentLength: body.byteLength },
        partSize: this.partBytes,
        queueSize: 4,
        // A failed multipart upload is aborted, so no parts are left billed.
        leavePartsOnError: false,
      });
      await upload.done();
    });
  }

  async flush(): Promise<void> {
    // A completed PUT is durable on the store.
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    if (length <= 0) return new Uint8Array(0);
    return this.call('GET', key, async () => {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.location.bucket, Key: this.fullKey(key), Range: `bytes=${offset}-${offset + length - 1}` }));
      return out.Body!.transformToByteArray();
    });
  }

  async get(key: string): Promise<Uint8Array> {
    return this.call('GET', key, async () => {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.location.bucket, Key: this.fullKey(key) }));
      return out.Body!.transformToByteArray();
    });
  }

  async head(key: string): Promise<{ size: number } | null> {
    try {
      const out = await this.call('HEAD', key, () => this.client.send(new HeadObjectCommand({ Bucket: this.location.bucket, Key: this.fullKey(key) })));
      return { size: out.ContentLength ?? 0 };
    } catch (e) {
      if (e instanceof StorageError && e.code === 'NOT_FOUND') return null;
      throw e;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    const strip = this.location.prefix ? this.location.prefix.length + 1 : 0;
    let token: string | undefined;
    do {
      const page = await this.call('LIST', prefix, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.location.bucket, Prefix: this.fullKey(prefix), ContinuationToken: token })),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        out.push({ key: o.Key.slice(strip), size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const out = await this.call('DELETE', batch[0]!, () =>
        this.client.send(new DeleteObjectsCommand({ Bucket: this.location.bucket, Delete: { Objects: batch.map((k) => ({ Key: this.fullKey(k) })), Quiet: true } })),
      );
      const failed = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        throw new StorageError('UNAVAILABLE', `${this.description} did not delete ${failed.length} object(s), e.g. ${failed[0]!.Key}: ${failed[0]!.Code} ${failed[0]!.Message ?? ''}`.trim());
      }
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
