/**
 * `list_files`: exactly the Parquet files of one version, as absolute `file://` URLs, so an outside
 * engine reads one consistent snapshot (`duckdb.read_parquet([urls])`, `pyarrow.dataset.dataset`)
 * instead of globbing the directory, which also finds replaced and uncommitted files. The files
 * stay until vacuum removes every version that names them.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ListedFile } from '@flightdeck/contract';
import type { Manifest } from '../manifest.js';

export function listedFiles(m: Manifest, datasetDir: string): { version: number; files: ListedFile[] } {
  return {
    version: m.version,
    files: m.files.map((f) => ({ url: pathToFileURL(resolve(datasetDir, f.path)).href, partition: f.partition, rows: f.rows, bytes: f.bytes })),
  };
}
