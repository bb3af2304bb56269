/**
 * CSV/TSV and NDJSON output, streamed batch by batch with backpressure. CSV quotes only when
 * needed (RFC 4180) and leaves nulls empty; NDJSON writes int64 beyond 2^53 as strings.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { DataType, type RecordBatch, type Schema } from 'apache-arrow';
import { cellText, isNumericType } from './cell-format.js';

/** Lines go out in pieces of this many, so no batch-sized string is ever built. */
const LINES_PER_WRITE = 4096;

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

async function writeLines(out: Writable, rows: number, line: (i: number) => string): Promise<void> {
  for (let start = 0; start < rows; start += LINES_PER_WRITE) {
    const end = Math.min(rows, start + LINES_PER_WRITE);
    let text = '';
    for (let i = start; i < end; i++) text += `${line(i)}\n`;
    await write(out, text);
  }
}

function csvQuote(text: string, delimiter: string): string {
  if (text.includes('"') || text.includes(delimiter) || text.includes('\n') || text.includes('\r') || text !== text.trim() || text === '') {
    return `"${text.replace(/"/g, '""')}"`;
  }
  return text;
}

export async function writeDelimited(batches: AsyncIterable<RecordBatch>, schema: Schema, out: Writable, delimiter = ','): Promise<number> {
  await write(out, `${schema.fields.map((f) => csvQuote(f.name, delimiter)).join(delimiter)}\n`);
  const formats = schema.fields.map((f) => ({ text: cellText(f.type), quote: DataType.isUtf8(f.type) || DataType.isDictionary(f.type) }));
  let rows = 0;
  for await (const batch of batches) {
    const columns = batch.schema.fields.map((_, c) => batch.getChildAt(c)!);
    await writeLines(out, batch.numRows, (i) => {
      let line = '';
      for (let c = 0; c < columns.length; c++) {
        const v = formats[c]!.text(columns[c]!, i);
        if (c > 0) line += delimiter;
        if (v !== null) line += formats[c]!.quote ? csvQuote(v, delimiter) : v;
      }
      return line;
    });
    rows += batch.numRows;
  }
  return rows;
}

export async function writeNdjson(batches: AsyncIterable<RecordBatch>, schema: Schema, out: Writable): Promise<number> {
  const keys = schema.fields.map((f) => JSON.stringify(f.name));
  const formats = schema.fields.map((f) => ({
    text: cellText(f.type),
    kind: DataType.isBool(f.type) ? 'bool' : isNumericType(f.type) ? 'number' : 'string',
  }));
  let rows = 0;
  for await (const batch of batches) {
    const columns = batch.schema.fields.map((_, c) => batch.getChildAt(c)!);
    await writeLines(out, batch.numRows, (i) => {
      let line = '{';
      for (let c = 0; c < columns.length; c++) {
        const v = formats[c]!.text(columns[c]!, i);
        let json: string;
        if (v === null) json = 'null';
        else if (formats[c]!.kind === 'bool') json = v;
        else if (formats[c]!.kind === 'number') {
          const n = Number(v);
          json = !Number.isFinite(n) ? 'null' : Number.isSafeInteger(n) || !/^-?\d+$/.test(v) ? v : JSON.stringify(v);
        } else json = JSON.stringify(v);
        line += `${c > 0 ? ',' : ''}${keys[c]}:${json}`;
      }
      return `${line}}`;
    });
    rows += batch.numRows;
  }
  return rows;
}
