/**
 * @flightdeck/contract: the public contract as code. Imports nothing of ours and no gRPC, so the
 * server, the clients and the GraphQL subgraphs share one definition of every value it fixes.
 */
export { ACTION_BODIES, type ActionBody, type ActionInput, type ActionName } from './action-bodies.js';
export { DATASET_NAME, fieldSpecSchema, type DatasetDescription, type FieldSpec, type ListedFile, type PartitionDescription } from './dataset-description.js';
export { ContractError, ERROR_CODES, invalidArgument, isErrorCode, type ErrorCode } from './errors.js';
export {
  describeSchemaMismatch,
  describeType,
  FIELD_TYPE_NAMES,
  isUtcTimezone,
  typeFromString,
  typesCompatible,
  typeToString,
  type SchemaMismatchOptions,
} from './field-types.js';
export { bucketStartNs, INTERVAL_NS, INTERVALS, isInterval, type Interval } from './intervals.js';
export { explainIsoFault, formatIsoMs, formatIsoNs, isIsoDate, isIsoDateTime, parseIsoNs } from './iso-time.js';
export { describeZodError, parseJsonText, parseWith, quoteTimeIntegers, TIME_FIELDS } from './json-body.js';
export { isPartitionScheme, PARTITION_SCHEMES, type PartitionScheme } from './partition-schemes.js';
export {
  DEFAULT_SCRYPT_PARAMS,
  hashPassword,
  looksLikePasswordHash,
  parsePasswordHash,
  verifyPassword,
  type PasswordHash,
  type ScryptParams,
} from './password-hash.js';
export { parseQuery, queryFromJson, queryToJson, serializeQuery, wholeDataset, type QueryJson, type ReadQuery } from './query.js';
export { checkRetention, parseRetention, RETENTION_PATTERN, retentionCutoffNs, type Retention } from './retention.js';
export { parseTimeValue } from './time-value.js';
export {
  floorDiv,
  MAX_TIME_NS,
  MIN_TIME_NS,
  NS_PER_MS,
  NS_PER_UNIT,
  NS_PER_UNIT_NAME,
  timeUnitFromName,
  timeUnitName,
  type TimeUnitName,
} from './time-units.js';
