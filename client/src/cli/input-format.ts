/** Input files of `put`: their format, by `--format` or by extension. */
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { UsageError } from './cli-error.js';

export const INPUT_FORMATS = ['csv', 'tsv', 'ndjson', 'parquet', 'arrow'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

const BY_EXTENSION: Record<string, InputFormat> = {
  '.csv': 'csv',
  '.tsv': 'tsv',
  '.ndjson': 'ndjson',
  '.jsonl': 'ndjson',
  '.json': 'ndjson',
  '.parquet': 'parquet',
  '.pq': 'parquet',
  '.arrow': 'arrow',
  '.arrows': 'arrow',
  '.ipc': 'arrow',
  '.feather': 'arrow',
};

export interface InputFile {
  path: string;
  format: InputFormat;
  size: number;
}

/** Checks each file exists and has a known format; usage errors otherwise. */
export async function inputFiles(paths: readonly string[], format: InputFormat | undefined): Promise<InputFile[]> {
  const files: InputFile[] = [];
  for (const path of paths) {
    const fmt = format ?? BY_EXTENSION[extname(path).toLowerCase()];
    if (fmt === undefined) {
      throw new UsageError(`${path}: unknown file type "${extname(path)}"; use .csv, .tsv, .ndjson/.jsonl, .parquet or .arrow/.arrows, or --format`);
    }
    const info = await stat(path);
    if (!info.isFile()) throw new UsageError(`${path}: not a regular file`);
    files.push({ path, format: fmt, size: info.size });
  }
  return files;
}
