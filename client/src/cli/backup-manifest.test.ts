import { describe, expect, it } from 'vitest';
import { BackupError, manifestText, parseManifest, type BackupManifest } from './backup-manifest.js';
import { parseS3Url } from './s3-url.js';
import { specDifference } from './version-read.js';

const manifest: BackupManifest = {
  format: 'flightdeck-backup',
  format_version: 1,
  created_at: '2026-01-01T00:00:00.000Z',
  source: { url: 'grpc://127.0.0.1:8815', dataset: 'bars' },
  version: 3,
  dataset: {
    schema: [
      { name: 'symbol', type: 'utf8', nullable: false },
      { name: 'ts', type: 'timestamp[ns, UTC]', nullable: false },
    ],
    time_column: 'ts',
    key_columns: ['symbol'],
    partition: 'day',
  },
  rows: 5,
  bytes: 300,
  files: [
    { path: 'data/part-00001.parquet', rows: 2, bytes: 100, sha256: 'a'.repeat(64) },
    { path: 'data/part-00002.parquet', rows: 3, bytes: 200, sha256: 'b'.repeat(64) },
  ],
};

const parse = (m: unknown) => parseManifest(JSON.stringify(m), 'm.json');

describe('parseManifest', () => {
  it('reads back what is written', () => {
    expect(parseManifest(manifestText(manifest), 'm.json')).toEqual(manifest);
  });

  it.each([
    ['an unknown field', { ...manifest, extra: 1 }, /unknown field "extra" in backup manifest/],
    ['a path outside data/', { ...manifest, files: [{ ...manifest.files[0], path: '../x.parquet' }, manifest.files[1]] }, /field "files\.0\.path" in backup manifest: expected data\/part-NNNNN\.parquet/],
    ['a bad checksum', { ...manifest, files: [{ ...manifest.files[0], sha256: 'xyz' }, manifest.files[1]] }, /field "files\.0\.sha256"/],
    ['totals that do not add up', { ...manifest, rows: 6 }, /its files add up to 5 rows and 300 bytes, not the 6 rows and 300 bytes it states/],
    ['a file listed twice', { ...manifest, files: [manifest.files[0], manifest.files[0]], rows: 4, bytes: 200 }, /lists a file twice/],
    ['another format', { ...manifest, format_version: 2 }, /field "format_version"/],
  ])('refuses %s, naming the manifest', (_, m, fault) => {
    expect(() => parse(m)).toThrow(BackupError);
    expect(() => parse(m)).toThrow(fault);
    expect(() => parse(m)).toThrow(/^m\.json: /);
  });

  it('refuses text that is not JSON', () => {
    expect(() => parseManifest('{', 'm.json')).toThrow(/^m\.json: not JSON/);
  });
});

describe('parseS3Url', () => {
  it('splits bucket and prefix', () => {
    expect(parseS3Url('s3://backups/nightly/bars/')).toEqual({ bucket: 'backups', prefix: 'nightly/bars', url: 's3://backups/nightly/bars' });
    expect(parseS3Url('s3://backups')).toEqual({ bucket: 'backups', prefix: '', url: 's3://backups' });
    expect(parseS3Url('/tmp/backups')).toBeNull();
  });

  it('refuses a malformed bucket', () => {
    expect(() => parseS3Url('s3://B/x')).toThrow(/not an s3:\/\/bucket\/prefix URL/);
  });
});

describe('specDifference', () => {
  const d = { ...manifest.dataset, name: 'bars', version: 1, rows: 0, bytes: 0, partitions: [] };

  it('takes utf8 and dictionary<utf8> for one type and ignores nullability', () => {
    const schema = [{ name: 'symbol', type: 'dictionary<utf8>', nullable: true }, manifest.dataset.schema[1]!];
    expect(specDifference({ ...d, schema }, manifest.dataset)).toBeNull();
  });

  it('names the first difference', () => {
    expect(specDifference({ ...d, key_columns: [] }, manifest.dataset)).toBe('keys [], not [symbol]');
    expect(specDifference({ ...d, partition: 'month' }, manifest.dataset)).toBe('partition month, not day');
    expect(specDifference({ ...d, schema: [manifest.dataset.schema[0]!] }, manifest.dataset)).toBe('columns (symbol:utf8), not (symbol:utf8, ts:timestamp[ns, UTC])');
  });

  it('a dataset without a schema yet takes any', () => {
    expect(specDifference({ ...d, schema: [] }, manifest.dataset)).toBeNull();
  });
});
