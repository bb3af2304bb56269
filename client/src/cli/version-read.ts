/**
 * One committed version of a dataset (or a query's rows of it), read endpoint by endpoint: what
 * `backup` and `copy` share. The version is pinned (`as_of`), so every endpoint, and a later run
 * that plans the same query again, reads the same rows however the dataset moves on meanwhile.
 */
import { cmdDescriptor, FlightError, type FlightClient } from '@flightdeck/proto';
import type { FieldSpec } from '@flightdeck/contract';
import type { RecordBatch, Schema } from 'apache-arrow';
import { describeDataset, fieldSpecsOf, type DatasetDescription } from '../sdk/index.js';
import { explainMissingVersion } from './get-command.js';
import { queryJson } from './query-json.js';

export interface VersionReadQuery {
  dataset: string;
  /** The version to read; the current one when absent. */
  asOf?: number;
  symbols?: string[];
  from?: string;
  to?: string;
}

/** What a dataset is, apart from its rows: what `create_dataset` needs to make it again. */
export interface DatasetSpec {
  schema: FieldSpec[];
  time_column: string;
  key_columns: string[];
  partition: string;
  retention?: string;
}

export interface VersionRead {
  description: DatasetDescription;
  version: number;
  /** The dataset's spec with the schema of `version` (columns added later are not in it). */
  spec: DatasetSpec;
  /** The stream schema, as GetFlightInfo answers it. */
  schema: Schema;
  /** The tickets of the endpoints, in order. */
  tickets: Uint8Array[];
  /** The server's row count for the query, -1 when it gave none. */
  totalRecords: number;
}

/**
 * The schema of an older version is the current one cut to the columns the version's stream has
 * (`evolve_schema` only appends nullable columns); `describe_dataset` gives the nullability.
 */
function versionFields(current: readonly FieldSpec[], schema: Schema): FieldSpec[] {
  const byName = new Map(current.map((f) => [f.name, f]));
  const streamed = fieldSpecsOf(schema);
  return streamed.map((f) => byName.get(f.name) ?? f);
}

export async function planVersionRead(client: FlightClient, q: VersionReadQuery): Promise<VersionRead> {
  const description = await describeDataset(client, q.dataset);
  const version = q.asOf ?? description.version;
  if (version > description.version) {
    throw new FlightError('NOT_FOUND', `dataset "${q.dataset}" has no version ${version} (the current one is ${description.version})`);
  }
  const base: Omit<DatasetSpec, 'schema'> = {
    time_column: description.time_column,
    key_columns: description.key_columns,
    partition: description.partition,
    ...(description.retention === undefined ? {} : { retention: description.retention }),
  };
  const query = { dataset: q.dataset, asOf: version, ...(q.symbols ? { symbols: q.symbols } : {}), ...(q.from ? { from: q.from } : {}), ...(q.to ? { to: q.to } : {}) };
  const info = await client.getFlightInfo(cmdDescriptor(queryJson(query))).catch(async (err: unknown) => {
    if (err instanceof FlightError && err.code === 'NOT_FOUND') throw await explainMissingVersion(client, q.dataset, version, err);
    throw err;
  });
  const tickets = info.endpoint.flatMap((e) => (e.ticket === undefined || e.ticket === null ? [] : [e.ticket.ticket]));
  return {
    description,
    version,
    spec: { ...base, schema: versionFields(description.schema, info.schema) },
    schema: info.schema,
    tickets,
    totalRecords: Number(info.totalRecords),
  };
}

/** The batches of one endpoint; `onBatch` counts them. */
export async function* readEndpoint(client: FlightClient, ticket: Uint8Array, onBatch: (batch: RecordBatch) => void = () => undefined): AsyncGenerator<RecordBatch> {
  for await (const batch of client.doGet(ticket)) {
    onBatch(batch);
    yield batch;
  }
}

/** The `create_dataset` body that makes a dataset of `spec` named `name`. */
export function createBody(name: string, spec: DatasetSpec): Record<string, unknown> {
  return {
    name,
    time_column: spec.time_column,
    key_columns: spec.key_columns,
    partition: spec.partition,
    ...(spec.schema.length === 0 ? {} : { fields: spec.schema }),
    ...(spec.retention === undefined ? {} : { retention: spec.retention }),
  };
}

/**
 * How an existing dataset differs from `spec` (time column, keys, partition, column names and
 * types; nullability flags are not compared, as the contract ignores them), or null when it does not.
 * A dataset whose schema is not fixed yet takes any.
 */
export function specDifference(d: DatasetDescription, spec: DatasetSpec): string | null {
  if (d.time_column !== spec.time_column) return `time column "${d.time_column}", not "${spec.time_column}"`;
  if (d.key_columns.join(',') !== spec.key_columns.join(',')) return `keys [${d.key_columns.join(', ')}], not [${spec.key_columns.join(', ')}]`;
  if (d.partition !== spec.partition) return `partition ${d.partition}, not ${spec.partition}`;
  if (d.schema.length === 0 || spec.schema.length === 0) return null;
  // Utf8 and Dictionary<Utf8> count as one type.
  const columns = (fields: readonly FieldSpec[]): string => fields.map((f) => `${f.name}:${f.type === 'dictionary<utf8>' ? 'utf8' : f.type}`).join(', ');
  const have = columns(d.schema);
  const want = columns(spec.schema);
  return have === want ? null : `columns (${have}), not (${want})`;
}
