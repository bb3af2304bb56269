/**
 * The dataset a `put` writes to and the plan its readers follow: describes the dataset (creating
 * it with `--create`), checks `--create`'s roles and `--schema`'s types against what exists.
 */
import { FlightError, type FlightClient } from '@flightdeck/proto';
import type { DataType } from 'apache-arrow';
import { sameWireType, wireType } from '../sdk/dataset-schema.js';
import { parseFieldList, resolveDataset, type DatasetDescription, type EpochUnit, type PartitionScheme } from '../sdk/index.js';
import { typeFromString } from '@flightdeck/contract';
import { UsageError } from './cli-error.js';
import type { PutPlan } from './put-plan.js';

export interface PutTargetOptions {
  dataset: string;
  create?: boolean;
  timeColumn?: string;
  key?: string[];
  partition?: PartitionScheme;
  schema?: string;
  delimiter?: string;
  epochUnit: EpochUnit;
  batchRows: number;
}

/** Usage checks that need no server. */
export function checkPutOptions(opts: PutTargetOptions): void {
  if (opts.create && opts.timeColumn === undefined) throw new UsageError('--create needs --time-column');
  if (opts.delimiter !== undefined && opts.delimiter.length !== 1 && opts.delimiter !== '\\t') throw new UsageError('--delimiter takes one character (or \\t)');
}

async function describeOrCreate(client: FlightClient, opts: PutTargetOptions) {
  try {
    return await resolveDataset(
      client,
      opts.dataset,
      opts.create
        ? { timeColumn: opts.timeColumn!, keyColumns: opts.key ?? [], ...(opts.partition === undefined ? {} : { partition: opts.partition }) }
        : undefined,
    );
  } catch (e) {
    if (e instanceof FlightError && e.code === 'NOT_FOUND' && !opts.create) {
      throw new FlightError('NOT_FOUND', `${e.message}; add --create --time-column COL [--key COLS] to create it`);
    }
    throw e;
  }
}

function checkCreateMatches(d: DatasetDescription, opts: PutTargetOptions): void {
  const differs =
    (opts.timeColumn !== undefined && opts.timeColumn !== d.time_column) ||
    (opts.key !== undefined && opts.key.join(',') !== d.key_columns.join(',')) ||
    (opts.partition !== undefined && opts.partition !== d.partition);
  if (differs) {
    throw new UsageError(
      `dataset "${d.name}" exists with time column "${d.time_column}", keys [${d.key_columns.join(', ')}], partition ${d.partition}; --create asked for something else`,
    );
  }
}

function parseOverrides(text: string | undefined, roles: PutPlan['roles']): Map<string, DataType> {
  if (text === undefined) return new Map();
  try {
    return new Map(parseFieldList(text, roles).map((f) => [f.name, typeFromString(f.type)]));
  } catch (e) {
    throw new UsageError(`--schema: ${(e as Error).message}`);
  }
}

export async function resolvePutTarget(client: FlightClient, opts: PutTargetOptions): Promise<{ description: DatasetDescription; plan: PutPlan }> {
  const target = await describeOrCreate(client, opts);
  const d = target.description;
  if (opts.create && !target.created) checkCreateMatches(d, opts);
  const roles = { timeColumn: d.time_column, keyColumns: d.key_columns };
  const overrides = parseOverrides(opts.schema, roles);
  if (target.schema !== null) {
    for (const [name, type] of overrides) {
      const field = target.schema.fields.find((f) => f.name === name);
      if (field === undefined) throw new UsageError(`--schema: dataset "${d.name}" has no column "${name}"`);
      if (!sameWireType(field.type, wireType(type))) {
        throw new UsageError(`--schema: column "${name}" is ${d.schema.find((f) => f.name === name)!.type} in dataset "${d.name}"`);
      }
    }
  }
  const plan: PutPlan = {
    roles,
    schema: target.schema,
    overrides,
    epochUnit: opts.epochUnit,
    batchRows: opts.batchRows,
    ...(opts.delimiter === undefined ? {} : { delimiter: opts.delimiter === '\\t' ? '\t' : opts.delimiter }),
  };
  return { description: d, plan };
}
