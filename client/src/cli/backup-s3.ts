/**
 * Backups on an S3-compatible object store (`s3://bucket/prefix`) through @aws-sdk/client-s3, with
 * the SDK's standard credential chain (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, profiles, ...).
 * The layout is the directory's: `<prefix>/data/part-NNNNN.parquet` and
 * `<prefix>/flightdeck-backup.json`, the manifest uploaded last (one PUT is atomic), so a prefix
 * without one is a backup that never finished. The SDK is asked for checksums only when an
 * operation requires them (S3-compatible stores such as s3rver refuse its default CRC32 ones); the
 * manifest's SHA-256 checks every byte end to end.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { BackupError, DATA_FOLDER, MANIFEST_FILE, manifestText, noManifest, parseManifest, type BackupFile, type BackupManifest } from './backup-manifest.js';
import { UsageError } from './cli-error.js';
import type { S3Target } from './s3-url.js';

export interface S3Settings {
  /** The store's endpoint when it is not AWS (path-style addressing). */
  endpoint?: string;
  region: string;
}

export function s3Client(settings: S3Settings): S3Client {
  const config: S3ClientConfig = {
    region: settings.region,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
  if (settings.endpoint !== undefined) {
    config.endpoint = settings.endpoint;
    config.forcePathStyle = true;
  }
  return new S3Client(config);
}

function key(target: S3Target, path: string): string {
  return target.prefix === '' ? path : `${target.prefix}/${path}`;
}

function objectUrl(target: S3Target, path: string): string {
  return `${target.url}/${path}`;
}

/** A failed request as one line naming the object. */
function storeFault(url: string, err: unknown): BackupError {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const detail = [e.name && e.name !== 'Error' ? e.name : null, status ? `HTTP ${status}` : null, e.message || null].filter(Boolean).join(': ');
  return new BackupError(`${url}: ${detail || String(err)}`, { source: url });
}

function isMissing(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || (e.$metadata?.httpStatusCode === 404 && e.name !== 'NoSuchBucket');
}

/** The keys under the target's prefix, relative to it. */
async function listRelative(client: S3Client, target: S3Target): Promise<string[]> {
  const base = target.prefix === '' ? '' : `${target.prefix}/`;
  const names: string[] = [];
  let token: string | undefined;
  do {
    let page;
    try {
      page = await client.send(new ListObjectsV2Command({ Bucket: target.bucket, Prefix: base, ...(token ? { ContinuationToken: token } : {}) }));
    } catch (err) {
      throw storeFault(target.url, err);
    }
    for (const o of page.Contents ?? []) if (o.Key !== undefined) names.push(o.Key.slice(base.length));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return names;
}

const LEFTOVER = /^data\/part-\d{5}\.parquet$/;

/** Refuses a prefix that holds a finished backup or other objects; the data files of an interrupted backup are overwritten. */
export async function prepareS3Target(client: S3Client, target: S3Target): Promise<void> {
  const names = await listRelative(client, target);
  if (names.includes(MANIFEST_FILE)) throw new UsageError(`--to ${target.url} already holds a backup (${MANIFEST_FILE}); choose a new prefix`);
  const foreign = names.filter((n) => !LEFTOVER.test(n)).sort();
  if (foreign.length > 0) throw new UsageError(`--to ${target.url} is not empty (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', ...' : ''}); choose a new or empty prefix`);
}

async function put(client: S3Client, target: S3Target, path: string, body: Readable | string, length: number): Promise<void> {
  try {
    await client.send(new PutObjectCommand({ Bucket: target.bucket, Key: key(target, path), Body: body, ContentLength: length }));
  } catch (err) {
    throw storeFault(objectUrl(target, path), err);
  }
}

/** Uploads the data files written in `dir`, then the manifest. */
export async function uploadBackup(client: S3Client, target: S3Target, dir: string, manifest: BackupManifest, onFile: (file: BackupFile) => void = () => undefined): Promise<void> {
  for (const file of manifest.files) {
    const local = join(dir, file.path);
    await put(client, target, file.path, createReadStream(local), (await stat(local)).size);
    onFile(file);
  }
  const text = manifestText(manifest);
  await put(client, target, MANIFEST_FILE, text, Buffer.byteLength(text));
}

/** Fetches `path` into `dir`; false when the object does not exist. */
async function download(client: S3Client, target: S3Target, path: string, dir: string): Promise<boolean> {
  let body: Readable;
  try {
    const answer = await client.send(new GetObjectCommand({ Bucket: target.bucket, Key: key(target, path) }));
    body = answer.Body as Readable;
  } catch (err) {
    if (isMissing(err)) return false;
    throw storeFault(objectUrl(target, path), err);
  }
  const local = join(dir, path);
  await mkdir(dirname(local), { recursive: true });
  try {
    await pipeline(body, createWriteStream(local));
  } catch (err) {
    throw storeFault(objectUrl(target, path), err);
  }
  return true;
}

/**
 * The backup's manifest and data files, fetched into `dir` (a file the store does not have is left
 * absent, for the check to name); a prefix without a manifest is refused.
 */
export async function downloadBackup(client: S3Client, target: S3Target, dir: string, onFile: (file: BackupFile) => void = () => undefined): Promise<BackupManifest> {
  const manifestUrl = objectUrl(target, MANIFEST_FILE);
  if (!(await download(client, target, MANIFEST_FILE, dir))) {
    const names = await listRelative(client, target);
    throw noManifest(manifestUrl, names.some((n) => n.startsWith(`${DATA_FOLDER}/`)));
  }
  const manifest = parseManifest(await readFile(join(dir, MANIFEST_FILE), 'utf8'), manifestUrl);
  for (const file of manifest.files) {
    if (await download(client, target, file.path, dir)) onFile(file);
  }
  return manifest;
}
