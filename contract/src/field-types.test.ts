import {
  Bool,
  DateDay,
  DateMillisecond,
  Dictionary,
  Field,
  Float16,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  LargeUtf8,
  Schema,
  TimeUnit,
  Timestamp,
  Uint32,
  Uint8,
  Utf8,
  type DataType,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { ContractError } from './errors.js';
import {
  FIELD_TYPE_NAMES,
  describeSchemaMismatch,
  isUtcTimezone,
  typeFromString,
  typeToString,
  typesCompatible,
} from './field-types.js';

function expectContractError(fn: () => unknown, code: string, ...fragments: string[]): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ContractError);
  const err = caught as ContractError;
  expect(err.code).toBe(code);
  for (const f of fragments) expect(err.message).toContain(f);
}

const schema = (...fields: [string, DataType, boolean?][]) =>
  new Schema(fields.map(([name, type, nullable = true]) => new Field(name, type, nullable)));

describe('typeFromString / typeToString', () => {
  it.each(FIELD_TYPE_NAMES)('round-trips %s', (s) => {
    expect(typeToString(typeFromString(s))).toBe(s);
  });

  it('builds the expected Arrow types', () => {
    const d = typeFromString('dictionary<utf8>') as Dictionary;
    expect(d).toBeInstanceOf(Dictionary);
    expect(d.dictionary).toBeInstanceOf(Utf8);
    expect(d.indices).toBeInstanceOf(Int32);
    const ts = typeFromString('timestamp[us, UTC]') as Timestamp;
    expect(ts.unit).toBe(TimeUnit.MICROSECOND);
    expect(ts.timezone).toBe('UTC');
    expect(typeFromString('date32')).toBeInstanceOf(DateDay);
  });

  it('tolerates spacing, case and pyarrow spellings', () => {
    for (const s of ['timestamp[ms,UTC]', ' Timestamp[ MS , utc ] ', 'timestamp[ms, tz=UTC]', 'timestamp[ms, Etc/UTC]', 'timestamp[ms,+00:00]']) {
      expect(typeToString(typeFromString(s))).toBe('timestamp[ms, UTC]');
    }
    expect(typeToString(typeFromString('string'))).toBe('utf8');
    expect(typeToString(typeFromString('double'))).toBe('float64');
    expect(typeToString(typeFromString('Dictionary<UTF8>'))).toBe('dictionary<utf8>');
    expect(typeToString(typeFromString('date32[day]'))).toBe('date32');
  });

  it.each(['int8', 'uint32', 'large_utf8', 'timestamp[ms]', 'timestamp[ms, America/New_York]', 'timestamp[ps, UTC]', '', 'utf-8', 'list<int32>'])(
    'rejects %j naming it',
    (s) => {
      expectContractError(() => typeFromString(s), 'INVALID_ARGUMENT', `"${s}"`);
    },
  );

  it('names dictionaries with any integer index type dictionary<utf8>', () => {
    for (const idx of [new Int8(), new Int16(), new Int32(), new Uint8(), new Uint32()]) {
      expect(typeToString(new Dictionary(new Utf8(), idx))).toBe('dictionary<utf8>');
    }
  });

  it('normalizes UTC aliases and refuses other types', () => {
    expect(typeToString(new Timestamp(TimeUnit.NANOSECOND, 'Etc/UTC'))).toBe('timestamp[ns, UTC]');
    expect(typeToString(new Timestamp(TimeUnit.SECOND, 'Z'))).toBe('timestamp[s, UTC]');
    expectContractError(() => typeToString(new LargeUtf8()), 'INVALID_ARGUMENT', 'large_utf8');
    expectContractError(() => typeToString(new Timestamp(TimeUnit.MILLISECOND, null)), 'INVALID_ARGUMENT', 'timestamp[ms]');
    expectContractError(() => typeToString(new Timestamp(TimeUnit.MILLISECOND, 'Europe/Paris')), 'INVALID_ARGUMENT', 'Europe/Paris');
    expectContractError(() => typeToString(new Uint32()), 'INVALID_ARGUMENT', 'uint32');
    expectContractError(() => typeToString(new Float16()), 'INVALID_ARGUMENT', 'float16');
    expectContractError(() => typeToString(new DateMillisecond()), 'INVALID_ARGUMENT', 'date64');
    expectContractError(() => typeToString(new Dictionary(new Int32(), new Int32())), 'INVALID_ARGUMENT');
  });

  it('recognizes UTC time zones case-insensitively', () => {
    for (const tz of ['UTC', 'utc', 'Etc/UTC', 'etc/utc', 'Z', 'z', '+00:00']) expect(isUtcTimezone(tz)).toBe(true);
    for (const tz of [null, undefined, '', 'America/New_York', '+01:00', 'GMT+1']) expect(isUtcTimezone(tz)).toBe(false);
  });
});

describe('typesCompatible', () => {
  const utf8 = new Utf8();
  const dict8 = new Dictionary(new Utf8(), new Int8());
  const dict32 = new Dictionary(new Utf8(), new Int32());
  const ts = (unit: TimeUnit, tz: string | null) => new Timestamp(unit, tz);

  it('treats utf8 and dictionary<utf8> as one type', () => {
    expect(typesCompatible(utf8, dict8)).toBe(true);
    expect(typesCompatible(dict32, utf8)).toBe(true);
    expect(typesCompatible(dict8, dict32)).toBe(true);
    expect(typesCompatible(utf8, new LargeUtf8())).toBe(false);
  });

  it('requires equal timestamp units and UTC on both sides', () => {
    expect(typesCompatible(ts(TimeUnit.MILLISECOND, 'UTC'), ts(TimeUnit.MILLISECOND, 'Etc/UTC'))).toBe(true);
    expect(typesCompatible(ts(TimeUnit.NANOSECOND, 'utc'), ts(TimeUnit.NANOSECOND, '+00:00'))).toBe(true);
    expect(typesCompatible(ts(TimeUnit.MILLISECOND, 'UTC'), ts(TimeUnit.NANOSECOND, 'UTC'))).toBe(false);
    expect(typesCompatible(ts(TimeUnit.MILLISECOND, 'UTC'), ts(TimeUnit.MILLISECOND, null))).toBe(false);
    expect(typesCompatible(ts(TimeUnit.MILLISECOND, null), ts(TimeUnit.MILLISECOND, null))).toBe(false);
    expect(typesCompatible(ts(TimeUnit.MILLISECOND, 'UTC'), ts(TimeUnit.MILLISECOND, 'Asia/Tokyo'))).toBe(false);
  });

  it('distinguishes numeric widths', () => {
    expect(typesCompatible(new Int32(), new Int32())).toBe(true);
    expect(typesCompatible(new Int32(), new Int64())).toBe(false);
    expect(typesCompatible(new Float32(), new Float64())).toBe(false);
    expect(typesCompatible(new Bool(), new Bool())).toBe(true);
    expect(typesCompatible(new DateDay(), new DateMillisecond())).toBe(false);
    expect(typesCompatible(new Uint32(), new Uint32())).toBe(false);
  });
});

describe('describeSchemaMismatch', () => {
  const base = schema(
    ['symbol', new Utf8(), false],
    ['ts', new Timestamp(TimeUnit.NANOSECOND, 'UTC'), false],
    ['close', new Float64()],
    ['volume', new Int64()],
  );

  it('accepts equal schemas, ignoring nullability, metadata and utf8/dictionary', () => {
    const other = new Schema(
      [
        new Field('symbol', new Dictionary(new Utf8(), new Int16()), true, new Map([['k', 'v']])),
        new Field('ts', new Timestamp(TimeUnit.NANOSECOND, 'Etc/UTC'), true),
        new Field('close', new Float64(), false),
        new Field('volume', new Int64(), true),
      ],
      new Map([['pandas', '{}']]),
    );
    expect(describeSchemaMismatch(base, other, {})).toBeNull();
    expect(describeSchemaMismatch(base, base, {})).toBeNull();
  });

  it('names the field, position and both types on a type mismatch', () => {
    const msg = describeSchemaMismatch(
      base,
      schema(['symbol', new Utf8()], ['ts', new Timestamp(TimeUnit.MILLISECOND, 'UTC')], ['close', new Float64()], ['volume', new Int64()]),
      {},
    );
    expect(msg).toContain('"ts"');
    expect(msg).toContain('position 1');
    expect(msg).toContain('timestamp[ns, UTC]');
    expect(msg).toContain('timestamp[ms, UTC]');

    const msg2 = describeSchemaMismatch(base, schema(['symbol', new Utf8()], ['ts', base.fields[1]!.type], ['close', new Float32()], ['volume', new Int64()]), {});
    expect(msg2).toMatch(/"close".*position 2.*float64.*float32/);
  });

  it('names renamed, reordered, missing and extra fields', () => {
    const [sym, ts, close, vol] = base.fields as [Field, Field, Field, Field];
    const reordered = describeSchemaMismatch(base, new Schema([sym, ts, vol, close]), {});
    expect(reordered).toContain('position 2');
    expect(reordered).toContain('"close"');
    expect(reordered).toContain('"volume"');

    const missing = describeSchemaMismatch(base, new Schema([sym, ts, close]), {});
    expect(missing).toContain('missing field "volume"');

    const extra = describeSchemaMismatch(base, new Schema([sym, ts, close, vol, new Field('vwap', new Float64())]), {});
    expect(extra).toContain('unexpected field "vwap"');
    expect(extra).toContain('position 4');

    const naive = describeSchemaMismatch(base, new Schema([sym, new Field('ts', new Timestamp(TimeUnit.NANOSECOND, null)), close, vol]), {});
    expect(naive).toContain('no time zone');

    const large = describeSchemaMismatch(base, new Schema([new Field('symbol', new LargeUtf8()), ts, close, vol]), {});
    expect(large).toMatch(/"symbol".*position 0.*utf8.*large_utf8/);
  });

  it('lets a DoPut omit columns added by evolve_schema, and only those', () => {
    const evolved = new Schema([...base.fields, new Field('vwap', new Float64(), true), new Field('trades', new Int32(), true)]);
    const optionalTrailing = new Set(['vwap', 'trades']);
    expect(describeSchemaMismatch(evolved, base, { optionalTrailing })).toBeNull();
    expect(describeSchemaMismatch(evolved, new Schema([...base.fields, evolved.fields[4]!]), { optionalTrailing })).toBeNull();
    expect(describeSchemaMismatch(evolved, new Schema([...base.fields, evolved.fields[5]!]), { optionalTrailing })).toBeNull();
    expect(describeSchemaMismatch(evolved, evolved, { optionalTrailing })).toBeNull();
    expect(describeSchemaMismatch(evolved, base, {})).toContain('missing field "vwap"');
    const wrongType = describeSchemaMismatch(evolved, new Schema([...base.fields, new Field('vwap', new Int64())]), { optionalTrailing });
    expect(wrongType).toMatch(/"vwap".*float64.*int64/);
    const [sym, ts, close] = base.fields as [Field, Field, Field];
    expect(describeSchemaMismatch(evolved, new Schema([sym, ts, close]), { optionalTrailing })).toContain('missing field "volume"');
  });
});
