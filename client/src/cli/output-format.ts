/** Output formats of `get`: by `--format`, else by the `-o` file's extension, else by the terminal. */
import { extname } from 'node:path';
import { UsageError } from './cli-error.js';

export const OUTPUT_FORMATS = ['csv', 'tsv', 'ndjson', 'parquet', 'arrow', 'arrows', 'table'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

const BY_EXTENSION: Record<string, OutputFormat> = {
  '.csv': 'csv',
  '.tsv': 'tsv',
  '.ndjson': 'ndjson',
  '.jsonl': 'ndjson',
  '.json': 'ndjson',
  '.parquet': 'parquet',
  '.pq': 'parquet',
  '.arrow': 'arrow',
  '.feather': 'arrow',
  '.arrows': 'arrows',
  '.ipc': 'arrows',
};

export function outputFormat(format: OutputFormat | undefined, output: string | undefined, stdoutIsTty: boolean): OutputFormat {
  if (format !== undefined) {
    if (format === 'table' && output !== undefined) throw new UsageError('--format table prints to the terminal; drop -o');
    return format;
  }
  if (output !== undefined && output !== '-') {
    const fmt = BY_EXTENSION[extname(output).toLowerCase()];
    if (fmt === undefined) {
      throw new UsageError(`-o ${output}: unknown file type "${extname(output)}"; use .parquet, .arrow, .arrows, .csv, .tsv or .ndjson, or --format`);
    }
    return fmt;
  }
  return stdoutIsTty ? 'table' : 'csv';
}
