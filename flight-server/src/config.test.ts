import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CACHE_DIR, DEFAULT_DATA_DIR, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('puts data in <repository>/data/flight by default, whatever the working directory', () => {
    const repository = resolve(DEFAULT_DATA_DIR, '..', '..');
    expect(existsSync(join(repository, 'flight-server', 'package.json'))).toBe(true);
    expect(loadConfig({}).dataDir).toBe(join(repository, 'data', 'flight'));
    const cwd = process.cwd();
    try {
      process.chdir(join(repository, 'flight-server'));
      expect(loadConfig({}).dataDir).toBe(join(repository, 'data', 'flight'));
      expect(loadConfig({ DATA_DIR: 'elsewhere' }).dataDir).toBe(join(repository, 'flight-server', 'elsewhere'));
    } finally {
      process.chdir(cwd);
    }
  });

  it('reports whether GLIBC_TUNABLES asks malloc for huge pages (the last hugetlb tunable wins, as in glibc)', () => {
    expect(loadConfig({}).mallocHugePages).toBe(false);
    expect(loadConfig({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' }).mallocHugePages).toBe(true);
    expect(loadConfig({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=2' }).mallocHugePages).toBe(true);
    expect(loadConfig({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1:glibc.malloc.hugetlb=0' }).mallocHugePages).toBe(false);
    expect(loadConfig({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' }).mallocHugePages).toBe(false);
  });

  it('reads CATALOG_URL: a postgres:// URL or nothing (the file catalog); never echoes a wrong one', () => {
    expect(loadConfig({}).catalogUrl).toBeNull();
    expect(loadConfig({ CATALOG_URL: '' }).catalogUrl).toBeNull();
    expect(loadConfig({ CATALOG_URL: 'postgres://flight@db:5432/flight' }).catalogUrl).toBe('postgres://flight@db:5432/flight');
    expect(loadConfig({ CATALOG_URL: 'postgresql://u:p@db/c' }).catalogUrl).toBe('postgresql://u:p@db/c');
    for (const bad of ['mysql://u:secret@db/c', 'db:5432', 'postgres:///nohost']) {
      expect(() => loadConfig({ CATALOG_URL: bad })).toThrow('CATALOG_URL must be a postgres:// (or postgresql://) URL');
      expect(() => loadConfig({ CATALOG_URL: bad })).not.toThrow(/secret|mysql|nohost|5432/);
    }
  });

  it('reads DATA_URL, S3_ENDPOINT, CACHE_DIR and CACHE_DISK_MB; DATA_URL without CATALOG_URL refuses to start', () => {
    const catalog = 'postgres://flight@db:5432/flight';
    expect(loadConfig({})).toMatchObject({ dataUrl: null, s3Endpoint: null, cacheDir: DEFAULT_CACHE_DIR, cacheDiskBytes: 10240 * 1024 * 1024 });
    expect(loadConfig({ DATA_URL: 's3://bucket/some/prefix', S3_ENDPOINT: 'http://127.0.0.1:9000', CATALOG_URL: catalog, CACHE_DIR: '/var/cache/fd', CACHE_DISK_MB: '0' })).toMatchObject({
      dataUrl: 's3://bucket/some/prefix',
      s3Endpoint: 'http://127.0.0.1:9000',
      cacheDir: '/var/cache/fd',
      cacheDiskBytes: 0,
    });
    expect(() => loadConfig({ DATA_URL: 's3://bucket/prefix' })).toThrow(/DATA_URL needs CATALOG_URL/);
    expect(() => loadConfig({ DATA_URL: 'bucket/prefix', CATALOG_URL: catalog })).toThrow('DATA_URL="bucket/prefix" must look like s3://bucket/prefix');
    expect(() => loadConfig({ DATA_URL: 's3://Bad_Bucket/x', CATALOG_URL: catalog })).toThrow(/not a valid bucket name/);
    expect(() => loadConfig({ DATA_URL: 's3://bucket/p', CATALOG_URL: catalog, S3_ENDPOINT: 'localhost:9000' })).toThrow('S3_ENDPOINT="localhost:9000" must be an http:// or https:// URL');
    expect(() => loadConfig({ S3_ENDPOINT: 'http://127.0.0.1:9000' })).toThrow(/S3_ENDPOINT is set but DATA_URL is not/);
    expect(() => loadConfig({ CACHE_DISK_MB: '-1' })).toThrow(/CACHE_DISK_MB="-1" must be an integer/);
  });

  it('reads FLIGHT_ADVERTISE_URL: grpc:// or grpc+tls:// with a host and a port, or nothing (no endpoint locations)', () => {
    expect(loadConfig({}).advertiseUrl).toBeNull();
    expect(loadConfig({ FLIGHT_ADVERTISE_URL: '' }).advertiseUrl).toBeNull();
    expect(loadConfig({ FLIGHT_ADVERTISE_URL: 'grpc://flight-1:8815' }).advertiseUrl).toBe('grpc://flight-1:8815');
    expect(loadConfig({ FLIGHT_ADVERTISE_URL: 'grpc+tls://flight-0.flight-replicas.prod.svc:443/' }).advertiseUrl).toBe('grpc+tls://flight-0.flight-replicas.prod.svc:443');
    expect(loadConfig({ FLIGHT_ADVERTISE_URL: 'grpc://[::1]:8815' }).advertiseUrl).toBe('grpc://[::1]:8815');
    for (const bad of ['flight-1:8815', 'http://flight-1:8815', 'grpc://flight-1', 'grpc://flight-1:0', 'grpc://flight-1:8815/path', 'grpc://u:p@flight-1:8815', 'grpc://:8815']) {
      expect(() => loadConfig({ FLIGHT_ADVERTISE_URL: bad }), bad).toThrow(`FLIGHT_ADVERTISE_URL=${JSON.stringify(bad)} must be grpc://host:port or grpc+tls://host:port`);
    }
  });
});
