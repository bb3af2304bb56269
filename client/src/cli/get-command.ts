/**
 * `flightdeck get <dataset> ...`: GetFlightInfo with a CMD query, then every endpoint's
 * DoGet in order, each from the replicas its locations list (LocationReader: a few endpoints at
 * once, the next location when one is unavailable, no row twice), streamed into the output: a file by `-o` extension (written to a temporary
 * name and renamed when complete), CSV when stdout is a pipe, a table on a terminal.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { cmdDescriptor, FlightError, LocationReader, type FlightClient, type FlightClientOptions } from '@flightdeck/proto';
import type { RecordBatch } from 'apache-arrow';
import { writeArrow, writeParquet } from './arrow-writers.js';
import { formatCounted, formatSeconds } from './human-units.js';
import { outputFormat, type OutputFormat } from './output-format.js';
import { ProgressBar } from './progress-bar.js';
import { queryJson, type QueryFlags } from './query-json.js';
import { writeTable } from './table-writer.js';
import { writeDelimited, writeNdjson } from './text-writers.js';

export interface GetOptions extends QueryFlags {
  output?: string;
  format?: OutputFormat;
  maxRows: number;
  progress: boolean;
}

/**
 * The server answers NOT_FOUND for an `as_of` version whose manifest is gone; when
 * `describe_dataset` says it is older than the oldest version kept, vacuum removed it.
 */
export async function explainMissingVersion(flight: FlightClient, dataset: string, asOf: number, err: FlightError): Promise<Error> {
  let oldest: number | undefined;
  try {
    oldest = (await flight.doActionJson<{ oldest_version?: number }>('describe_dataset', { name: dataset })).oldest_version;
  } catch {
    return err;
  }
  if (oldest === undefined || asOf >= oldest) return err;
  return new FlightError('NOT_FOUND', `version ${asOf} of dataset "${dataset}" was vacuumed; the oldest kept is ${oldest}`);
}

/** `locationOptions`: how to reach the replicas an endpoint lists (the TLS settings of the connection; the token is the client's). */
export async function runGet(
  opts: GetOptions,
  client: () => Promise<FlightClient>,
  stdout: NodeJS.WriteStream,
  stderr: NodeJS.WriteStream,
  locationOptions: FlightClientOptions = {},
): Promise<number> {
  const toStdout = opts.output === undefined || opts.output === '-';
  const format = outputFormat(opts.format, opts.output, stdout.isTTY === true);
  const flight = await client();
  const info = await flight.getFlightInfo(cmdDescriptor(queryJson(opts))).catch(async (err: unknown) => {
    if (err instanceof FlightError && err.code === 'NOT_FOUND' && opts.asOf !== undefined) throw await explainMissingVersion(flight, opts.dataset, opts.asOf, err);
    throw err;
  });
  const progress = new ProgressBar(stderr, opts.progress && !toStdout, { phase: 'reading' }).start();

  const reader = new LocationReader(flight, { clientOptions: locationOptions });
  async function* batches(): AsyncGenerator<RecordBatch> {
    for await (const batch of reader.batches({ endpoint: info.endpoint.filter((e) => e.ticket) })) {
      progress.add(batch.numRows, batch.data.byteLength);
      yield batch;
    }
  }

  const write = async (out: Writable): Promise<number> => {
    switch (format) {
      case 'csv':
        return writeDelimited(batches(), info.schema, out, ',');
      case 'tsv':
        return writeDelimited(batches(), info.schema, out, '\t');
      case 'ndjson':
        return writeNdjson(batches(), info.schema, out);
      case 'arrow':
        return writeArrow(batches(), info.schema, out, 'file');
      case 'arrows':
        return writeArrow(batches(), info.schema, out, 'stream');
      case 'parquet':
        return writeParquet(batches(), info.schema, out);
      case 'table':
        return writeTable(batches(), info.schema, out, { maxRows: opts.maxRows, totalRows: Number(info.totalRecords) });
      default: {
        const never: never = format;
        throw new Error(`unknown format ${String(never)}`);
      }
    }
  };

  try {
    if (toStdout) return await write(stdout);
    const path = opts.output!;
    const partial = `${path}.partial`;
    const file = createWriteStream(partial);
    const opened = new Promise<void>((resolve, reject) => {
      file.once('open', () => resolve());
      file.once('error', reject);
    });
    await opened;
    let rows: number;
    try {
      rows = await write(file);
      if (!file.writableFinished) await new Promise<void>((resolve, reject) => file.end((e?: Error | null) => (e ? reject(e) : resolve())));
      await rename(partial, path);
    } catch (e) {
      file.destroy();
      await rm(partial, { force: true });
      throw e;
    }
    progress.stop();
    stderr.write(`${opts.dataset}: wrote ${formatCounted(rows, 'row')} to ${path} (${format}) in ${formatSeconds(progress.elapsed())}\n`);
    return rows;
  } finally {
    progress.stop();
    reader.close();
  }
}
