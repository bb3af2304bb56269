/** `s3://bucket/prefix` backup locations, parsed without loading the AWS SDK. */
import { UsageError } from './cli-error.js';

export interface S3Target {
  bucket: string;
  /** Without leading or trailing slashes; '' for the bucket's root. */
  prefix: string;
  url: string;
}

/** `s3://bucket/prefix` as a target, or null for anything that is not an s3:// URL. */
export function parseS3Url(text: string): S3Target | null {
  if (!text.startsWith('s3://')) return null;
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(text);
  if (m === null) throw new UsageError(`${text}: not an s3://bucket/prefix URL (bucket names are 3-63 lowercase letters, digits, dots and hyphens)`);
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  return { bucket: m[1]!, prefix, url: `s3://${m[1]}${prefix === '' ? '' : `/${prefix}`}` };
}
