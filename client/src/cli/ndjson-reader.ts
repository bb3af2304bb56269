/**
 * NDJSON input: one JSON object per line, read line by line with backpressure, ~`batchRows`
 * objects per record batch. Keys absent from a row read as null; a key the schema lacks fails.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { RecordBatch } from 'apache-arrow';
import { InputError, inferSchema, rowsToBatch } from '../sdk/index.js';
import type { InputFile } from './input-format.js';
import type { BytesRead, PutPlan } from './put-plan.js';

interface JsonRow {
  values: Record<string, unknown>;
  line: number;
}

export async function* readNdjson(file: InputFile, plan: PutPlan, onBytes: BytesRead): AsyncGenerator<RecordBatch> {
  const source = createReadStream(file.path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  const lines = createInterface({ input: source, crlfDelay: Infinity });
  let rows: JsonRow[] = [];
  let firstRow = 1;
  let lineNo = 0;
  let known: Set<string> | null = null;

  const toBatch = (): RecordBatch => {
    if (plan.schema === null) {
      const seen = new Set<string>();
      for (const r of rows) for (const k of Object.keys(r.values)) seen.add(k);
      const columns = [...seen];
      const sample = rows;
      plan.schema = inferSchema(columns, (c) => sample.map((r) => r.values[columns[c]!]), plan.roles, plan.overrides, file.path);
    }
    const fields = plan.schema.fields.map((f) => f.name);
    known ??= new Set(fields);
    const start = firstRow;
    const batchRows = rows;
    for (let i = 0; i < batchRows.length; i++) {
      for (const key of Object.keys(batchRows[i]!.values)) {
        if (!known.has(key)) {
          throw new InputError(`${file.path}: row ${start + i} (line ${batchRows[i]!.line}): unexpected column "${key}"; the dataset has ${fields.join(', ')}`, {
            source: file.path,
            row: start + i,
            line: batchRows[i]!.line,
            column: key,
          });
        }
      }
    }
    const batch = rowsToBatch(plan.schema, batchRows, {
      epochUnit: plan.epochUnit,
      valueOf: (r, c) => r.values[fields[c]!],
      locate: (i) => ({ source: file.path, row: start + i, line: batchRows[i]!.line }),
    });
    firstRow += rows.length;
    rows = [];
    return batch;
  };

  for await (const text of lines) {
    lineNo++;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new InputError(`${file.path}: line ${lineNo}: not valid JSON (${(err as Error).message})`, { source: file.path, line: lineNo });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new InputError(`${file.path}: line ${lineNo}: expected a JSON object per line`, { source: file.path, line: lineNo });
    }
    rows.push({ values: value as Record<string, unknown>, line: lineNo });
    if (rows.length >= plan.batchRows) {
      onBytes(source.bytesRead);
      yield toBatch();
    }
  }
  if (rows.length > 0) yield toBatch();
  onBytes(file.size);
}
