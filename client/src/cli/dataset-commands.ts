/**
 * The dataset commands that are one Flight call each: `ls` (ListFlights), `describe`, `create`,
 * and the maintenance actions `delete-range`, `compact`, `vacuum` and `drop`. Each prints a short
 * human summary, or the server's JSON with `--json`.
 */
import type { Writable } from 'node:stream';
import type { FlightClient } from '@flightdeck/proto';
import { describeDataset, parseFieldList, type DatasetDescription, type PartitionScheme } from '../sdk/index.js';
import { UsageError } from './cli-error.js';
import { formatBytes, formatCount, formatCounted } from './human-units.js';
import { queryJson } from './query-json.js';

type Connect = () => Promise<FlightClient>;

function printJson(out: Writable, value: unknown): void {
  out.write(`${JSON.stringify(value, null, 2)}\n`);
}

function table(rows: string[][], rightAlign: boolean[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (rightAlign[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd()).join('\n');
}

export async function runLs(opts: { json?: boolean }, connect: Connect, out: Writable): Promise<void> {
  const client = await connect();
  const flights: { name: string; rows: number; bytes: number; columns: string[] }[] = [];
  for await (const info of client.listFlights()) {
    flights.push({
      name: info.flightDescriptor?.path[0] ?? '?',
      rows: Number(info.totalRecords),
      bytes: Number(info.totalBytes),
      columns: info.schema.fields.map((f) => f.name),
    });
  }
  flights.sort((a, b) => a.name.localeCompare(b.name));
  if (opts.json) return printJson(out, flights);
  if (flights.length === 0) {
    out.write('no datasets\n');
    return;
  }
  const rows = [['dataset', 'rows', 'size', 'columns']];
  for (const f of flights) rows.push([f.name, formatCount(f.rows), f.bytes >= 0 ? formatBytes(f.bytes) : '?', f.columns.join(', ')]);
  out.write(`${table(rows, [false, true, true, false])}\n`);
}

export function formatDescription(d: DatasetDescription): string {
  const lines = [
    `dataset     ${d.name}`,
    `time        ${d.time_column}`,
    `keys        ${d.key_columns.length > 0 ? d.key_columns.join(', ') : '(none)'}`,
    `partition   ${d.partition}`,
    `version     ${d.version}`,
    `rows        ${formatCount(d.rows)}`,
    `size        ${formatBytes(d.bytes)} in ${formatCounted(d.partitions.reduce((n, p) => n + p.files, 0), 'file')}, ${formatCounted(d.partitions.length, 'partition')}`,
    '',
  ];
  if (d.schema.length === 0) lines.push('schema      (not fixed yet: the first put fixes it)');
  else lines.push(table([['column', 'type', 'nullable'], ...d.schema.map((f) => [f.name, f.type, f.nullable ? 'yes' : 'no'])], [false, false, false]));
  if (d.partitions.length > 0) {
    lines.push('');
    const shown = d.partitions.slice(0, 20);
    lines.push(
      table(
        [['partition', 'files', 'rows', 'size', 'from', 'to'], ...shown.map((p) => [p.key, String(p.files), formatCount(p.rows), formatBytes(p.bytes), p.min_time, p.max_time])],
        [false, true, true, true, false, false],
      ),
    );
    if (d.partitions.length > shown.length) lines.push(`(${formatCounted(d.partitions.length - shown.length, 'more partition', 'more partitions')}; --json lists all)`);
  }
  return `${lines.join('\n')}\n`;
}

export async function runDescribe(name: string, opts: { json?: boolean }, connect: Connect, out: Writable): Promise<void> {
  const d = await describeDataset(await connect(), name);
  if (opts.json) return printJson(out, d);
  out.write(formatDescription(d));
}

export interface CreateOptions {
  timeColumn: string;
  key?: string[];
  partition: PartitionScheme;
  fields?: string;
  json?: boolean;
}

export async function runCreate(name: string, opts: CreateOptions, connect: Connect, out: Writable): Promise<void> {
  let fields;
  try {
    fields = opts.fields === undefined ? undefined : parseFieldList(opts.fields, { timeColumn: opts.timeColumn, keyColumns: opts.key ?? [] });
  } catch (e) {
    throw new UsageError(`--fields: ${(e as Error).message}`);
  }
  const d = await (await connect()).doActionJson<DatasetDescription>('create_dataset', {
    name,
    time_column: opts.timeColumn,
    key_columns: opts.key ?? [],
    partition: opts.partition,
    ...(fields === undefined ? {} : { fields }),
  });
  if (opts.json) return printJson(out, d);
  out.write(`created dataset ${d.name} (time ${d.time_column}, keys [${d.key_columns.join(', ')}], partition ${d.partition}), version ${d.version}\n`);
}

export interface DeleteRangeOptions {
  symbols?: string[];
  from?: string;
  to?: string;
  all?: boolean;
  json?: boolean;
}

export async function runDeleteRange(name: string, opts: DeleteRangeOptions, connect: Connect, out: Writable): Promise<void> {
  const filtered = opts.symbols !== undefined || opts.from !== undefined || opts.to !== undefined;
  if (!filtered && !opts.all) throw new UsageError('delete-range without --symbols, --from or --to deletes every row; add --all to mean it');
  // The body has the query's dataset, symbols, start and end: reuse its exact time literals.
  const body = queryJson({ dataset: name, ...opts });
  const result = await (await connect()).doActionJson<{ rows_deleted: number; version: number }>('delete_range', body);
  if (opts.json) return printJson(out, result);
  out.write(`${name}: deleted ${formatCounted(result.rows_deleted, 'row')}; version ${result.version}\n`);
}

export async function runCompact(name: string, opts: { partition?: string; json?: boolean }, connect: Connect, out: Writable): Promise<void> {
  const result = await (await connect()).doActionJson<{ files_before: number; files_after: number; version: number }>('compact', {
    dataset: name,
    ...(opts.partition === undefined ? {} : { partition: opts.partition }),
  });
  if (opts.json) return printJson(out, result);
  out.write(`${name}: compacted ${formatCounted(result.files_before, 'file')} into ${result.files_after}; version ${result.version}\n`);
}

export async function runVacuum(name: string, opts: { retain: number; json?: boolean }, connect: Connect, out: Writable): Promise<void> {
  const result = await (await connect()).doActionJson<{ files_removed: number; bytes_freed: number; oldest_version: number }>('vacuum', {
    dataset: name,
    retain_versions: opts.retain,
  });
  if (opts.json) return printJson(out, result);
  out.write(`${name}: removed ${formatCounted(result.files_removed, 'file')} (${formatBytes(result.bytes_freed)}); oldest readable version ${result.oldest_version}\n`);
}

export async function runDrop(name: string, opts: { yes?: boolean; json?: boolean }, connect: Connect, out: Writable): Promise<void> {
  if (!opts.yes) throw new UsageError(`drop deletes dataset "${name}" and all its files; add --yes to confirm`);
  const result = await (await connect()).doActionJson<{ dropped: boolean }>('drop_dataset', { name });
  if (opts.json) return printJson(out, result);
  out.write(`dropped dataset ${name}\n`);
}
