/**
 * @flightdeck/client: writing to flightdeck from code. DatasetWriter batches rows or
 * record batches and commits them in chunks with retries; the helpers below are what it and the
 * `flightdeck` CLI share (schemas, row conversion, time values).
 */
export { DatasetWriter, parsePutMetadata, type DatasetWriterOptions, type Row, type WriteResult, type WriterProgress } from './dataset-writer.js';
export {
  createDataset,
  describeDataset,
  resolveDataset,
  type CreateDatasetSpec,
  type DatasetDescription,
  type DatasetTarget,
  type PartitionScheme,
} from './dataset-info.js';
export { parseFieldList, schemaFromFieldSpecs, fieldSpecsOf, wireSchema, schemaForSource, type DatasetRoles, type FieldSpec } from './dataset-schema.js';
export { BatchConformer, type ConformOptions } from './batch-conformer.js';
export { rowsToBatch, type RowsToBatchOptions } from './rows-to-batch.js';
export { inferSchema, inferType } from './schema-inference.js';
export { InputError, formatLocation, locatedError, type InputLocation } from './input-error.js';
export { isTransientError } from './transient-error.js';
export { backoffDelay, type BackoffOptions } from './backoff.js';
export { EPOCH_UNITS, timeValueNs, type EpochUnit } from './time-values.js';
