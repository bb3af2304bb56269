/**
 * What a dataset is: its name, time column, key columns, partition scheme and fields, and the
 * checks that keep those consistent (the contract's Datasets section).
 */
import { DataType, Dictionary, Field, Schema, type Timestamp } from 'apache-arrow';
import {
  DATASET_NAME,
  isPartitionScheme,
  isUtcTimezone,
  PARTITION_SCHEMES,
  typeFromString,
  typeToString,
  type FieldSpec,
  type PartitionScheme,
} from '@flightdeck/contract';
import { StorageError } from './errors.js';
import type { Manifest } from './manifest.js';

export function checkDatasetName(name: unknown): string {
  if (typeof name !== 'string' || !DATASET_NAME.test(name)) {
    throw new StorageError('INVALID_ARGUMENT', `dataset name ${JSON.stringify(name)} must match ${DATASET_NAME.source}`);
  }
  return name;
}

export interface DatasetSpec {
  name: string;
  timeColumn: string;
  keyColumns: string[];
  partition: PartitionScheme;
  fields: FieldSpec[] | null;
  /** `"400d"`, `"26w"`, `"10y"`; null or absent: keep everything. */
  retention?: string | null;
}

export function checkPartitionScheme(value: string): PartitionScheme {
  if (!isPartitionScheme(value)) {
    throw new StorageError('INVALID_ARGUMENT', `partition "${value}" must be one of ${PARTITION_SCHEMES.join(', ')}`);
  }
  return value;
}

function isUtcTimestamp(type: DataType): boolean {
  return DataType.isTimestamp(type) && isUtcTimezone((type as Timestamp).timezone);
}

function isKeyType(type: DataType): boolean {
  return DataType.isUtf8(type) || (DataType.isDictionary(type) && DataType.isUtf8(type.dictionary)) || DataType.isInt(type);
}

/** Checks that a schema can hold a dataset with these time and key columns. */
export function checkSchemaRoles(schema: Schema, timeColumn: string, keyColumns: string[], where: string): void {
  const names = schema.fields.map((f) => f.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new StorageError('INVALID_ARGUMENT', `${where}: column "${dup}" appears twice`);
  const time = schema.fields.find((f) => f.name === timeColumn);
  if (!time) throw new StorageError('INVALID_ARGUMENT', `${where}: time column "${timeColumn}" is missing`);
  if (!isUtcTimestamp(time.type)) {
    throw new StorageError('INVALID_ARGUMENT', `${where}: time column "${timeColumn}" must be a timestamp with time zone UTC, not ${String(time.type)}`);
  }
  for (const key of keyColumns) {
    const field = schema.fields.find((f) => f.name === key);
    if (!field) throw new StorageError('INVALID_ARGUMENT', `${where}: key column "${key}" is missing`);
    if (!isKeyType(field.type)) {
      throw new StorageError('INVALID_ARGUMENT', `${where}: key column "${key}" must be utf8, dictionary<utf8> or an integer, not ${String(field.type)}`);
    }
  }
}

export function checkDatasetSpec(spec: DatasetSpec): void {
  checkDatasetName(spec.name);
  if (spec.keyColumns.includes(spec.timeColumn)) {
    throw new StorageError('INVALID_ARGUMENT', `time column "${spec.timeColumn}" cannot also be a key column`);
  }
  if (new Set(spec.keyColumns).size !== spec.keyColumns.length) {
    throw new StorageError('INVALID_ARGUMENT', 'field "key_columns" names a column twice');
  }
  if (spec.fields) checkSchemaRoles(schemaFromFields(spec.fields, spec), spec.timeColumn, spec.keyColumns, 'fields');
}

/** The Arrow schema of a field list; time and key columns are never nullable. */
export function schemaFromFields(fields: FieldSpec[], roles: { timeColumn: string; keyColumns: string[] }): Schema {
  // Dictionary ids 0, 1, ... in field order, as Parquet readers number them, so Arrow IPC read
  // from a file can be forwarded under this schema unchanged.
  let dictionaryId = 0;
  return new Schema(
    fields.map((f) => {
      const required = f.name === roles.timeColumn || roles.keyColumns.includes(f.name);
      let type = typeFromString(f.type);
      if (DataType.isDictionary(type)) type = new Dictionary(type.dictionary, type.indices, dictionaryId++);
      return new Field(f.name, type, required ? false : f.nullable);
    }),
  );
}

export function fieldsFromSchema(schema: Schema, roles: { timeColumn: string; keyColumns: string[] }): FieldSpec[] {
  return schema.fields.map((f) => {
    const required = f.name === roles.timeColumn || roles.keyColumns.includes(f.name);
    return { name: f.name, type: typeToString(f.type), nullable: required ? false : true };
  });
}

export function manifestSchemaOf(m: Manifest): Schema {
  return m.fields ? schemaFromFields(m.fields, m) : new Schema([]);
}
