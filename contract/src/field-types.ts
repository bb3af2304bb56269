/**
 * Column types as the contract spells them (`utf8`, `dictionary<utf8>`, `bool`, `int32`, `int64`,
 * `float32`, `float64`, `timestamp[s|ms|us|ns, UTC]`, `date32`), their Arrow counterparts, and the
 * schema compatibility rule of DoPut: same names, same order, compatible types; Utf8 and
 * Dictionary<Utf8> count as one type; nullability and metadata are ignored.
 */
import {
  Bool,
  DataType,
  DateDay,
  DateUnit,
  Dictionary,
  Float32,
  Float64,
  Int32,
  Int64,
  Precision,
  TimeUnit,
  Timestamp,
  Type,
  Utf8,
  type Field,
  type Schema,
} from 'apache-arrow';
import { invalidArgument } from './errors.js';
import { timeUnitFromName, timeUnitName } from './time-units.js';

export const FIELD_TYPE_NAMES = [
  'utf8',
  'dictionary<utf8>',
  'bool',
  'int32',
  'int64',
  'float32',
  'float64',
  'timestamp[s, UTC]',
  'timestamp[ms, UTC]',
  'timestamp[us, UTC]',
  'timestamp[ns, UTC]',
  'date32',
] as const;

const UTC_ALIASES = new Set(['utc', 'etc/utc', 'z', '+00:00', '+0000', 'zulu', 'etc/zulu', 'universal', 'etc/universal']);

/** Whether an Arrow timestamp time zone string denotes UTC (`UTC`, `Etc/UTC`, `Z`, `+00:00`, ...). */
export function isUtcTimezone(tz: string | null | undefined): boolean {
  return tz != null && UTC_ALIASES.has(tz.trim().toLowerCase());
}

function isIntegerType(t: DataType): boolean {
  return t.typeId === Type.Int;
}

/**
 * The contract string of a supported Arrow type. Throws INVALID_ARGUMENT for anything else
 * (LargeUtf8, unsigned or narrow ints, Float16, Date64, timestamps not in UTC, nested types, ...).
 */
export function typeToString(t: DataType): string {
  const s = contractName(t);
  if (s === null) {
    throw invalidArgument(`unsupported column type ${describeType(t)}; supported: ${FIELD_TYPE_NAMES.join(', ')}`);
  }
  return s;
}

function contractName(t: DataType): string | null {
  if (DataType.isUtf8(t)) return 'utf8';
  if (DataType.isDictionary(t)) {
    const d = t as Dictionary;
    return DataType.isUtf8(d.dictionary) && isIntegerType(d.indices) ? 'dictionary<utf8>' : null;
  }
  if (DataType.isBool(t)) return 'bool';
  if (DataType.isInt(t)) {
    if (!t.isSigned) return null;
    if (t.bitWidth === 32) return 'int32';
    if (t.bitWidth === 64) return 'int64';
    return null;
  }
  if (DataType.isFloat(t)) {
    if (t.precision === Precision.SINGLE) return 'float32';
    if (t.precision === Precision.DOUBLE) return 'float64';
    return null;
  }
  if (DataType.isTimestamp(t)) {
    return isUtcTimezone(t.timezone) ? `timestamp[${timeUnitName(t.unit as TimeUnit)}, UTC]` : null;
  }
  if (DataType.isDate(t)) return t.unit === DateUnit.DAY ? 'date32' : null;
  return null;
}

/**
 * A readable name for any Arrow type, for messages: the contract string when there is one, else a
 * pyarrow-like spelling (`timestamp[ms]`, `timestamp[ms, America/New_York]`, `large_utf8`, ...).
 */
export function describeType(t: DataType): string {
  const s = contractName(t);
  if (s !== null) return s;
  if (DataType.isTimestamp(t)) {
    const unit = timeUnitName(t.unit as TimeUnit);
    return t.timezone ? `timestamp[${unit}, ${t.timezone}]` : `timestamp[${unit}] (no time zone)`;
  }
  if (DataType.isLargeUtf8(t)) return 'large_utf8';
  if (DataType.isInt(t)) return `${t.isSigned ? 'int' : 'uint'}${t.bitWidth}`;
  if (DataType.isFloat(t) && t.precision === Precision.HALF) return 'float16';
  if (DataType.isDate(t)) return 'date64';
  if (DataType.isDictionary(t)) return `dictionary<${describeType((t as Dictionary).dictionary)}>`;
  return String(t);
}

const TIMESTAMP_RE = /^timestamp\s*\[\s*(s|ms|us|ns)\s*(?:,\s*(?:tz\s*=\s*)?([^\]]*?)\s*)?\]$/i;

const ALIASES: Record<string, string> = {
  utf8: 'utf8',
  string: 'utf8',
  'dictionary<utf8>': 'dictionary<utf8>',
  'dictionary<string>': 'dictionary<utf8>',
  'dictionary<values=string,indices=int32>': 'dictionary<utf8>',
  'dictionary<values=string,indices=int32,ordered=0>': 'dictionary<utf8>',
  bool: 'bool',
  boolean: 'bool',
  int32: 'int32',
  int64: 'int64',
  float32: 'float32',
  float: 'float32',
  float64: 'float64',
  double: 'float64',
  date32: 'date32',
  'date32[day]': 'date32',
};

/**
 * The Arrow type for a contract type string. Case and whitespace are tolerated, as are pyarrow's
 * printed spellings (`string`, `double`, `timestamp[ns, tz=UTC]`, `date32[day]`);
 * `dictionary<utf8>` becomes Dictionary<Utf8, Int32>. Anything else is INVALID_ARGUMENT.
 */
export function typeFromString(s: string): DataType {
  if (typeof s !== 'string') {
    throw invalidArgument(`column type must be a string, got ${JSON.stringify(s)}`);
  }
  const text = s.trim();
  const ts = TIMESTAMP_RE.exec(text);
  if (ts) {
    const unit = timeUnitFromName(ts[1]!)!;
    const tz = ts[2] ?? '';
    if (!isUtcTimezone(tz)) {
      throw invalidArgument(`unsupported column type "${s}": timestamps must have time zone UTC, e.g. "timestamp[${timeUnitName(unit)}, UTC]"`);
    }
    return new Timestamp(unit, 'UTC');
  }
  switch (ALIASES[text.toLowerCase().replace(/\s+/g, '')]) {
    case 'utf8':
      return new Utf8();
    case 'dictionary<utf8>':
      return new Dictionary(new Utf8(), new Int32());
    case 'bool':
      return new Bool();
    case 'int32':
      return new Int32();
    case 'int64':
      return new Int64();
    case 'float32':
      return new Float32();
    case 'float64':
      return new Float64();
    case 'date32':
      return new DateDay();
    default:
      throw invalidArgument(`unsupported column type "${s}"; supported: ${FIELD_TYPE_NAMES.join(', ')}`);
  }
}

function compatKey(t: DataType): string | null {
  const s = contractName(t);
  return s === 'dictionary<utf8>' ? 'utf8' : s;
}

/**
 * Whether two Arrow types are the same contract type: utf8 and dictionary<utf8> are one type,
 * timestamp units must match and both time zones must be UTC. Unsupported types are never compatible.
 */
export function typesCompatible(a: DataType, b: DataType): boolean {
  const ka = compatKey(a);
  return ka !== null && ka === compatKey(b);
}

export interface SchemaMismatchOptions {
  /** Columns added by evolve_schema: a DoPut may omit them (they then read as null). */
  optionalTrailing?: ReadonlySet<string>;
}

function fieldDesc(f: Field): string {
  return `"${f.name}" (${describeType(f.type)})`;
}

/**
 * null when `actual` may be written to a dataset whose schema is `expected`; else a message naming
 * the first offending field, its position, and the expected and actual types. Fields listed in
 * `optionalTrailing` may be absent from `actual`; the others must appear by name, in order.
 */
export function describeSchemaMismatch(expected: Schema, actual: Schema, opts: SchemaMismatchOptions = {}): string | null {
  const optional = opts.optionalTrailing ?? new Set<string>();
  const exp = expected.fields;
  const act = actual.fields;
  let j = 0;
  for (let i = 0; i < exp.length; i++) {
    const e = exp[i]!;
    const a = act[j];
    if (a !== undefined && a.name === e.name) {
      if (!typesCompatible(e.type, a.type)) {
        return `field "${e.name}" at position ${j}: expected type ${describeType(e.type)}, got ${describeType(a.type)}`;
      }
      j++;
      continue;
    }
    if (optional.has(e.name)) continue;
    if (a === undefined) {
      return `missing field ${fieldDesc(e)} at position ${j}: the batch has only ${act.length} field(s)`;
    }
    return `field at position ${j}: expected ${fieldDesc(e)}, got ${fieldDesc(a)}`;
  }
  if (j < act.length) {
    return `unexpected field ${fieldDesc(act[j]!)} at position ${j}: the dataset has ${exp.length} field(s) (${exp.map((f) => f.name).join(', ')})`;
  }
  return null;
}
