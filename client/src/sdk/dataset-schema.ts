/**
 * Dataset schemas on the client side: the contract's field lists (`describe_dataset`,
 * `create_dataset`, the CLI's `col:type,...` spelling) to and from Arrow schemas, and the wire
 * form a writer sends, in which every string column is plain utf8 and every timestamp says UTC.
 */
import { DataType, Field, Int32, Int64, Float32, Schema, Timestamp, TimeUnit, Utf8, Precision, type Dictionary } from 'apache-arrow';
import { describeType, typeFromString, typeToString } from '@flightdeck/contract';
import type { FieldSpec } from '@flightdeck/contract';
import { InputError } from './input-error.js';

/** A column as the contract spells it. */
export type { FieldSpec };

/** Which columns form the primary key; they may not hold nulls. */
export interface DatasetRoles {
  timeColumn: string;
  keyColumns: readonly string[];
}

function isRole(name: string, roles: DatasetRoles | undefined): boolean {
  return roles !== undefined && (name === roles.timeColumn || roles.keyColumns.includes(name));
}

/** Splits `a:int64,ts:timestamp[ns, UTC]` on the commas outside brackets. */
function splitTopLevel(text: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '[' || ch === '<' || ch === '(') depth++;
    else if (ch === ']' || ch === '>' || ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      items.push(text.slice(start, i));
      start = i + 1;
    }
  }
  items.push(text.slice(start));
  return items.map((s) => s.trim()).filter((s) => s !== '');
}

/**
 * Parses a `name:type,...` field list (types as the contract spells them, pyarrow spellings
 * tolerated). Time and key columns are not nullable, the others are.
 */
export function parseFieldList(text: string, roles?: DatasetRoles): FieldSpec[] {
  const fields: FieldSpec[] = [];
  for (const item of splitTopLevel(text)) {
    const colon = item.indexOf(':');
    if (colon <= 0) throw new InputError(`field "${item}": expected name:type, e.g. close:float64`);
    const name = item.slice(0, colon).trim();
    const typeText = item.slice(colon + 1).trim();
    let type: DataType;
    try {
      type = typeFromString(typeText);
    } catch (err) {
      throw new InputError(`field "${name}": ${(err as Error).message}`);
    }
    if (fields.some((f) => f.name === name)) throw new InputError(`field "${name}" is listed twice`);
    fields.push({ name, type: typeToString(type), nullable: !isRole(name, roles) });
  }
  if (fields.length === 0) throw new InputError('the field list is empty; expected name:type,...');
  return fields;
}

/** The wire form of a contract type: plain utf8 for strings, time zone `UTC` on timestamps. */
export function wireType(type: DataType): DataType {
  if (DataType.isDictionary(type) || DataType.isLargeUtf8(type) || DataType.isUtf8View(type)) return new Utf8();
  if (DataType.isTimestamp(type)) return new Timestamp(type.unit as TimeUnit, 'UTC');
  return type;
}

export function wireSchema(schema: Schema): Schema {
  return new Schema(schema.fields.map((f) => new Field(f.name, wireType(f.type), f.nullable)));
}

/**
 * The Arrow schema of a contract field list, in wire form. With `roles`, only the time and key
 * columns are non-nullable: the contract ignores nullability flags and checks nulls in those alone.
 */
export function schemaFromFieldSpecs(fields: readonly FieldSpec[], roles?: DatasetRoles): Schema {
  return new Schema(fields.map((f) => new Field(f.name, wireType(typeFromString(f.type)), roles === undefined ? f.nullable : !isRole(f.name, roles))));
}

export function fieldSpecsOf(schema: Schema): FieldSpec[] {
  return schema.fields.map((f) => ({ name: f.name, type: typeToString(f.type), nullable: f.nullable }));
}

/**
 * The contract type an Arrow column read from a file becomes when it fixes a new dataset's
 * schema: narrow ints widen, large and view strings become utf8, any timestamp becomes UTC
 * (Arrow stores instants in UTC; a zone-less timestamp is taken as UTC). Null when there is none.
 */
export function contractTypeFor(type: DataType): DataType | null {
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type) || DataType.isUtf8View(type)) return new Utf8();
  if (DataType.isDictionary(type)) {
    const values = (type as Dictionary).dictionary;
    return DataType.isUtf8(values) || DataType.isLargeUtf8(values) ? new Utf8() : null;
  }
  if (DataType.isBool(type)) return type;
  if (DataType.isInt(type)) {
    if (type.bitWidth < 32 || (type.bitWidth === 32 && type.isSigned)) return new Int32();
    return new Int64();
  }
  if (DataType.isFloat(type)) return type.precision === Precision.DOUBLE ? type : new Float32();
  if (DataType.isTimestamp(type)) return new Timestamp(type.unit as TimeUnit, 'UTC');
  if (DataType.isDate(type)) return typeFromString(type.unit === 0 ? 'date32' : 'timestamp[ms, UTC]');
  return null;
}

/**
 * The dataset schema a file's Arrow schema fixes: contract types for every column, the time
 * column a UTC timestamp (nanoseconds when the file holds text or numbers), and `overrides`
 * (from `--schema`) taking precedence. Throws naming a column that has no contract type.
 */
export function schemaForSource(source: Schema, roles: DatasetRoles, overrides: ReadonlyMap<string, DataType>, where: string): Schema {
  const fields = source.fields.map((f) => {
    const override = overrides.get(f.name);
    let type: DataType | null = override ?? contractTypeFor(f.type);
    if (f.name === roles.timeColumn && (type === null || !DataType.isTimestamp(type))) {
      type = new Timestamp(TimeUnit.NANOSECOND, 'UTC');
    }
    if (type === null) {
      throw new InputError(`${where}: column "${f.name}" has type ${describeType(f.type)}, which a dataset cannot hold; give it a type with --schema or convert it`);
    }
    return new Field(f.name, wireType(type), !isRole(f.name, roles));
  });
  checkRoles(new Schema(fields), roles, where);
  return new Schema(fields);
}

/** Throws unless the schema holds the time column and every key column. */
export function checkRoles(schema: Schema, roles: DatasetRoles, where: string): void {
  const names = schema.fields.map((f) => f.name);
  for (const col of [roles.timeColumn, ...roles.keyColumns]) {
    if (!names.includes(col)) {
      const role = col === roles.timeColumn ? 'time column' : 'key column';
      throw new InputError(`${where}: no ${role} "${col}" (columns: ${names.join(', ')})`, { column: col });
    }
  }
}

/** Whether `a` and `b` are exactly one wire type, so data of one can be sent as the other. */
export function sameWireType(a: DataType, b: DataType): boolean {
  if (DataType.isTimestamp(a) && DataType.isTimestamp(b)) return a.unit === b.unit;
  if (DataType.isUtf8(a) || DataType.isUtf8(b)) return DataType.isUtf8(a) && DataType.isUtf8(b);
  if (DataType.isInt(a) && DataType.isInt(b)) return a.bitWidth === b.bitWidth && a.isSigned === b.isSigned;
  if (DataType.isFloat(a) && DataType.isFloat(b)) return a.precision === b.precision;
  if (DataType.isDate(a) && DataType.isDate(b)) return a.unit === b.unit;
  if (DataType.isBool(a) && DataType.isBool(b)) return true;
  return false;
}

