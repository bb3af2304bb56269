/**
 * Typed column builders for one record batch: each takes loosely typed values (text from CSV,
 * JSON values, JS numbers, bigints, Dates), converts them to the column's Arrow type, and hands
 * back the finished Data. Fixed capacity, typed arrays, no per-value allocation beyond parsing.
 */
import {
  Bool,
  DataType,
  DateDay,
  Float32,
  Float64,
  Int32,
  Int64,
  Precision,
  TimeUnit,
  Utf8,
  makeData,
  type Data,
  type Field,
} from 'apache-arrow';
import { ValueError } from './input-error.js';
import { describeValue, nsToUnit, timeValueNs, type EpochUnit } from './time-values.js';

export interface ColumnBuilder {
  /** Stores row `i`'s value; throws ValueError saying why it cannot. */
  set(i: number, value: unknown): void;
  /** The column's first `length` values. The builder is spent afterwards. */
  finish(length: number): Data;
}

export interface CoerceOptions {
  epochUnit: EpochUnit;
}

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPECIAL_FLOATS: Record<string, number> = {
  nan: NaN,
  inf: Infinity,
  '+inf': Infinity,
  '-inf': -Infinity,
  infinity: Infinity,
  '+infinity': Infinity,
  '-infinity': -Infinity,
};
const TRUE_WORDS = new Set(['true', 't', 'yes', 'y', '1']);
const FALSE_WORDS = new Set(['false', 'f', 'no', 'n', '0']);
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const MS_PER_DAY = 86_400_000;

/** Missing values: null, undefined, and the empty string in any column but a string column. */
function isMissing(value: unknown, stringColumn: boolean): boolean {
  return value === null || value === undefined || (!stringColumn && value === '');
}

/** Validity bitmap and null count shared by every builder. */
class Validity {
  readonly bits: Uint8Array;
  nulls = 0;

  constructor(capacity: number) {
    this.bits = new Uint8Array(Math.ceil(capacity / 8) || 1).fill(0xff);
  }

  setNull(i: number): void {
    this.bits[i >> 3]! &= ~(1 << (i & 7));
    this.nulls++;
  }

  props(): { nullCount: number; nullBitmap: Uint8Array | null } {
    return { nullCount: this.nulls, nullBitmap: this.nulls === 0 ? null : this.bits };
  }
}

function refuse(value: unknown, type: string, hint = ''): never {
  throw new ValueError(`cannot read ${describeValue(value)} as ${type}${hint}`);
}

function nullCheck(field: Field, validity: Validity, i: number): void {
  if (!field.nullable) throw new ValueError('is empty, but the column does not allow nulls');
  validity.setNull(i);
}

export function toFloat(value: unknown, type: string): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const text = value.trim();
    if (DECIMAL.test(text)) return Number(text);
    const special = SPECIAL_FLOATS[text.toLowerCase()];
    if (special !== undefined) return special;
    return refuse(value, type);
  }
  if (typeof value === 'bigint') return Number(value);
  return refuse(value, type);
}

export function toInt64(value: unknown): bigint {
  let v: bigint;
  if (typeof value === 'bigint') v = value;
  else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) refuse(value, 'int64', Number.isInteger(value) ? ' exactly (beyond 2^53; send it as text or bigint)' : ' (not an integer)');
    v = BigInt(value);
  } else if (typeof value === 'string' && INTEGER.test(value.trim())) v = BigInt(value.trim());
  else return refuse(value, 'int64');
  if (v < INT64_MIN || v > INT64_MAX) refuse(value, 'int64', ' (out of range)');
  return v;
}

export function toInt32(value: unknown): number {
  let v: number;
  if (typeof value === 'number') v = value;
  else if (typeof value === 'bigint') v = Number(value);
  else if (typeof value === 'string' && INTEGER.test(value.trim())) v = Number(value.trim());
  else return refuse(value, 'int32');
  if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) refuse(value, 'int32', Number.isInteger(v) ? ' (out of range)' : ' (not an integer)');
  return v;
}

export function toBool(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number' && (value === 0 || value === 1)) return value === 1;
  if (typeof value === 'string') {
    const word = value.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
  }
  return refuse(value, 'bool');
}

export function toDays(value: unknown): number {
  if (value instanceof Date) return Math.floor(value.getTime() / MS_PER_DAY);
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string') {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value.trim());
    if (m) {
      const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
      if (new Date(ms).getUTCDate() === Number(m[3])) return ms / MS_PER_DAY;
    }
  }
  return refuse(value, 'date32', ' (expected YYYY-MM-DD)');
}

export function toText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return value.toISOString();
  return refuse(value, 'utf8');
}

class NumericBuilder<A extends Float64Array | Float32Array | Int32Array | BigInt64Array> implements ColumnBuilder {
  readonly #validity: Validity;

  constructor(
    private readonly field: Field,
    private readonly type: DataType,
    private readonly values: A,
    private readonly convert: (value: unknown) => A[number],
    private readonly stringColumn = false,
  ) {
    this.#validity = new Validity(values.length);
  }

  set(i: number, value: unknown): void {
    if (isMissing(value, this.stringColumn)) nullCheck(this.field, this.#validity, i);
    else this.values[i] = this.convert(value);
  }

  finish(length: number): Data {
    return makeData({ type: this.type, length, data: this.values.subarray(0, length), ...this.#validity.props() } as never);
  }
}

class BoolBuilder implements ColumnBuilder {
  readonly #validity: Validity;
  readonly #bits: Uint8Array;

  constructor(private readonly field: Field, capacity: number) {
    this.#validity = new Validity(capacity);
    this.#bits = new Uint8Array(Math.ceil(capacity / 8) || 1);
  }

  set(i: number, value: unknown): void {
    if (isMissing(value, false)) nullCheck(this.field, this.#validity, i);
    else if (toBool(value)) this.#bits[i >> 3]! |= 1 << (i & 7);
  }

  finish(length: number): Data {
    return makeData({ type: new Bool(), length, data: this.#bits, ...this.#validity.props() });
  }
}

class Utf8Builder implements ColumnBuilder {
  readonly #validity: Validity;
  readonly #offsets: Int32Array;
  #bytes: Buffer;
  #end = 0;
  #next = 0;

  constructor(private readonly field: Field, capacity: number) {
    this.#validity = new Validity(capacity);
    this.#offsets = new Int32Array(capacity + 1);
    this.#bytes = Buffer.allocUnsafe(Math.max(1024, capacity * 16));
  }

  set(i: number, value: unknown): void {
    // Rows arrive in order; a gap (never in practice) would leave zero-length strings.
    while (this.#next < i) this.#offsets[++this.#next] = this.#end;
    if (isMissing(value, true)) {
      nullCheck(this.field, this.#validity, i);
    } else {
      const text = toText(value);
      const need = this.#end + text.length * 3;
      if (need > this.#bytes.length) {
        const grown = Buffer.allocUnsafe(Math.max(need, this.#bytes.length * 2));
        this.#bytes.copy(grown, 0, 0, this.#end);
        this.#bytes = grown;
      }
      this.#end += this.#bytes.write(text, this.#end, 'utf8');
      if (this.#end > 0x7fffffff) throw new ValueError('string data of one batch exceeds 2 GiB; use smaller batches');
    }
    this.#offsets[i + 1] = this.#end;
    this.#next = i + 1;
  }

  finish(length: number): Data {
    while (this.#next < length) this.#offsets[++this.#next] = this.#end;
    const data = new Uint8Array(this.#bytes.buffer, this.#bytes.byteOffset, this.#end);
    return makeData({ type: new Utf8(), length, valueOffsets: this.#offsets.subarray(0, length + 1), data, ...this.#validity.props() });
  }
}

/**
 * The builder for a column of `field.type`, one of the contract types in its wire form (see
 * `wireSchema`): string columns are built as plain utf8.
 */
export function createColumnBuilder(field: Field, capacity: number, opts: CoerceOptions): ColumnBuilder {
  const t = field.type;
  if (DataType.isUtf8(t) || DataType.isDictionary(t)) return new Utf8Builder(field, capacity);
  if (DataType.isBool(t)) return new BoolBuilder(field, capacity);
  if (DataType.isFloat(t)) {
    return t.precision === Precision.SINGLE
      ? new NumericBuilder(field, new Float32(), new Float32Array(capacity), (v) => toFloat(v, 'float32'))
      : new NumericBuilder(field, new Float64(), new Float64Array(capacity), (v) => toFloat(v, 'float64'));
  }
  if (DataType.isInt(t) && t.isSigned && t.bitWidth === 64) return new NumericBuilder(field, new Int64(), new BigInt64Array(capacity), toInt64);
  if (DataType.isInt(t) && t.isSigned && t.bitWidth === 32) return new NumericBuilder(field, new Int32(), new Int32Array(capacity), toInt32);
  if (DataType.isTimestamp(t)) {
    const unit = t.unit as TimeUnit;
    return new NumericBuilder(field, t, new BigInt64Array(capacity), (v) =>
      nsToUnit(timeValueNs(v, opts.epochUnit), unit, () => describeValue(v)),
    );
  }
  if (DataType.isDate(t)) return new NumericBuilder(field, new DateDay(), new Int32Array(capacity), toDays);
  throw new ValueError(`column type ${String(t)} is not supported`);
}
