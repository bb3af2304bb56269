/**
 * A readable table on the terminal: aligned columns (numbers to the right), at most `maxRows`
 * rows, and a footer with the row count. Stops reading once it has shown enough.
 */
import type { Writable } from 'node:stream';
import type { RecordBatch, Schema } from 'apache-arrow';
import { cellText, isNumericType } from './cell-format.js';
import { formatCount } from './human-units.js';

const MAX_CELL = 40;

export async function writeTable(
  batches: AsyncIterable<RecordBatch>,
  schema: Schema,
  out: Writable,
  opts: { maxRows: number; totalRows: number | null },
): Promise<number> {
  const texts = schema.fields.map((f) => cellText(f.type));
  const rightAlign = schema.fields.map((f) => isNumericType(f.type));
  const cells: string[][] = [];
  let more = false;
  for await (const batch of batches) {
    const columns = batch.schema.fields.map((_, c) => batch.getChildAt(c)!);
    for (let i = 0; i < batch.numRows; i++) {
      if (cells.length >= opts.maxRows) {
        more = true;
        break;
      }
      cells.push(
        columns.map((col, c) => {
          const v = texts[c]!(col, i) ?? 'null';
          return v.length > MAX_CELL ? `${v.slice(0, MAX_CELL - 1)}…` : v;
        }),
      );
    }
    if (more) break;
  }
  const header = schema.fields.map((f) => f.name);
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((r) => r[c]!.length)));
  const pad = (text: string, c: number): string => (rightAlign[c] ? text.padStart(widths[c]!) : text.padEnd(widths[c]!));
  const lines = [header.map(pad).join('  ').trimEnd(), widths.map((w) => '─'.repeat(w)).join('  ')];
  for (const row of cells) lines.push(row.map(pad).join('  ').trimEnd());
  let footer: string;
  if (more) {
    const total = opts.totalRows !== null && opts.totalRows >= 0 ? ` of ${formatCount(opts.totalRows)}` : '';
    footer = `(first ${formatCount(cells.length)}${total} rows; use -o FILE or a pipe for all, or --max-rows)`;
  } else {
    footer = `(${formatCount(cells.length)} row${cells.length === 1 ? '' : 's'})`;
  }
  lines.push(footer);
  out.write(`${lines.join('\n')}\n`);
  return cells.length;
}
