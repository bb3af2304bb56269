/**
 * `list_files`: exactly the Parquet files of one version, as URLs an outside engine reads
 * (`file://` in local mode, `s3://bucket/…` under DATA_URL), so it reads one consistent snapshot
 * (`duckdb.read_parquet([urls])`, `pyarrow.dataset.dataset`) instead of globbing the directory,
 * which also finds replaced and uncommitted files. The files stay until vacuum removes every
 * version that names them.
 */
import type { ListedFile } from '@flightdeck/contract';
import type { Manifest } from '../manifest.js';

/** `urlOf`: a data file's URL from its path relative to the dataset. */
export function listedFiles(m: Manifest, urlOf: (path: string) => string): { version: number; files: ListedFile[] } {
  return {
    version: m.version,
    files: m.files.map((f) => ({ url: urlOf(f.path), partition: f.partition, rows: f.rows, bytes: f.bytes })),
  };
}
