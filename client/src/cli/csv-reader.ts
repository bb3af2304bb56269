/**
 * CSV (and TSV) input: csv-parse streams records with backpressure, ~`batchRows` at a time
 * become one record batch. The header names the columns; the first batch is the sample that
 * column types are inferred from when the dataset has no schema yet.
 */
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream';
import { parse, CsvError, type Options } from 'csv-parse';
import type { RecordBatch } from 'apache-arrow';
import { InputError, inferSchema, locatedError, rowsToBatch } from '../sdk/index.js';
import type { InputFile } from './input-format.js';
import type { BytesRead, PutPlan } from './put-plan.js';

/**
 * The line on which data row `row` ends, found by parsing the file again up to it: line numbers
 * are wanted only for a message, and tracking them for every record costs a fifth of the parse.
 */
async function lineOfRow(file: InputFile, options: Options, row: number): Promise<number | undefined> {
  const parser = parse({ ...options, info: true, to: row + 1 });
  pipeline(createReadStream(file.path), parser, () => undefined);
  let line: number | undefined;
  try {
    for await (const rec of parser as AsyncIterable<{ info: { lines: number } }>) line = rec.info.lines;
  } catch {
    return undefined;
  }
  return line;
}

/** For each schema field, its index in the header; throws naming missing or unexpected columns. */
export function columnIndexes(header: readonly string[], fields: readonly string[], where: string): number[] {
  const extra = header.filter((h) => !fields.includes(h));
  if (extra.length > 0) {
    throw new InputError(
      `${where}: unexpected column${extra.length > 1 ? 's' : ''} ${extra.map((c) => `"${c}"`).join(', ')}; the dataset has ${fields.join(', ')}`,
      { source: where, column: extra[0]! },
    );
  }
  return fields.map((name) => {
    const i = header.indexOf(name);
    if (i < 0) throw new InputError(`${where}: missing column "${name}"; the file has ${header.join(', ')}`, { source: where, column: name });
    return i;
  });
}

export async function* readCsv(file: InputFile, plan: PutPlan, onBytes: BytesRead): AsyncGenerator<RecordBatch> {
  const source = createReadStream(file.path, { highWaterMark: 1 << 20 });
  const options: Options = {
    delimiter: plan.delimiter ?? (file.format === 'tsv' ? '\t' : ','),
    bom: true,
    skip_empty_lines: true,
  };
  const parser = parse(options);
  pipeline(source, parser, () => undefined); // errors reach the iterator below through the parser
  let header: string[] | null = null;
  let indexes: number[] | null = null;
  let rows: string[][] = [];
  let firstRow = 1;

  const toBatch = (): RecordBatch => {
    if (plan.schema === null) {
      const sample = rows;
      plan.schema = inferSchema(header!, (c) => sample.map((r) => r[c]), plan.roles, plan.overrides, file.path);
    }
    indexes ??= columnIndexes(header!, plan.schema.fields.map((f) => f.name), file.path);
    const cols = indexes;
    const start = firstRow;
    const batch = rowsToBatch(plan.schema, rows, {
      epochUnit: plan.epochUnit,
      valueOf: (r, c) => r[cols[c]!],
      locate: (i) => ({ source: file.path, row: start + i }),
    });
    firstRow += rows.length;
    rows = [];
    return batch;
  };

  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (header === null) {
        header = record.map((h) => h.trim());
        const dup = header.find((h, i) => header!.indexOf(h) !== i);
        if (dup !== undefined) throw new InputError(`${file.path}: the header names column "${dup}" twice`, { source: file.path, column: dup });
        continue;
      }
      rows.push(record);
      if (rows.length >= plan.batchRows) {
        onBytes(source.bytesRead);
        yield toBatch();
      }
    }
    if (header === null) throw new InputError(`${file.path}: empty file (no header line)`, { source: file.path });
    if (rows.length > 0) yield toBatch();
  } catch (err) {
    if (err instanceof CsvError) throw new InputError(`${file.path}: ${err.message}`, { source: file.path }, { cause: err });
    if (err instanceof InputError && err.location.row !== undefined && err.location.line === undefined) {
      const line = await lineOfRow(file, options, err.location.row);
      if (line !== undefined) throw locatedError({ ...err.location, line }, err.reason, err.cause);
    }
    throw err;
  }
  onBytes(file.size);
}
