/** What a writer needs to know of a dataset, from `describe_dataset` (and `create_dataset`). */
import type { DatasetDescription } from '@flightdeck/contract';
import { FlightError, type FlightClient } from '@flightdeck/proto';
import type { Schema } from 'apache-arrow';
import { schemaFromFieldSpecs, type FieldSpec } from './dataset-schema.js';

export type PartitionScheme = 'hour' | 'day' | 'month' | 'year';

export type { DatasetDescription } from '@flightdeck/contract';

export interface CreateDatasetSpec {
  timeColumn: string;
  keyColumns?: string[];
  partition?: PartitionScheme;
  /** Fixes the schema at creation; otherwise the first DoPut does. */
  fields?: FieldSpec[];
}

export interface DatasetTarget {
  description: DatasetDescription;
  /** The dataset's schema in wire form, or null while the first DoPut has yet to fix it. */
  schema: Schema | null;
  /** True when this call created the dataset. */
  created: boolean;
}

export function describeDataset(client: FlightClient, name: string): Promise<DatasetDescription> {
  return client.doActionJson<DatasetDescription>('describe_dataset', { name });
}

export function createDataset(client: FlightClient, name: string, spec: CreateDatasetSpec): Promise<DatasetDescription> {
  return client.doActionJson<DatasetDescription>('create_dataset', {
    name,
    time_column: spec.timeColumn,
    key_columns: spec.keyColumns ?? [],
    partition: spec.partition ?? 'day',
    ...(spec.fields === undefined ? {} : { fields: spec.fields }),
  });
}

/**
 * Describes `name`, creating it first when it does not exist and `create` is given (a concurrent
 * creator winning the race is fine).
 */
export async function resolveDataset(client: FlightClient, name: string, create?: CreateDatasetSpec): Promise<DatasetTarget> {
  let created = false;
  let description: DatasetDescription;
  try {
    description = await describeDataset(client, name);
  } catch (err) {
    if (!(err instanceof FlightError) || err.code !== 'NOT_FOUND' || create === undefined) throw err;
    try {
      description = await createDataset(client, name, create);
      created = true;
    } catch (e) {
      if (!(e instanceof FlightError) || e.code !== 'ALREADY_EXISTS') throw e;
      description = await describeDataset(client, name);
    }
  }
  const roles = { timeColumn: description.time_column, keyColumns: description.key_columns };
  const schema = description.schema.length === 0 ? null : schemaFromFieldSpecs(description.schema, roles);
  return { description, schema, created };
}
