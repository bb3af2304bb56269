import { describe, expect, it } from 'vitest';
import { Float32, type DataType } from 'apache-arrow';
import { typeFromString, typeToString } from '@flightdeck/contract';
import { parseFieldList } from './dataset-schema.js';
import { inferSchema, inferType } from './schema-inference.js';

const t = (values: unknown[]) => typeToString(inferType(values));

describe('inferType', () => {
  it('picks the narrowest type every sampled value fits', () => {
    expect(t(['1', '-2', ''])).toBe('int64');
    expect(t(['1', '2.5', '1e3'])).toBe('float64');
    expect(t(['true', 'FALSE'])).toBe('bool');
    expect(t(['2024-01-02', '2024-01-03'])).toBe('date32');
    expect(t(['2024-01-02', '2024-01-03T09:30:00Z'])).toBe('timestamp[ns, UTC]');
    expect(t(['1', 'x'])).toBe('utf8');
    expect(t([null, ''])).toBe('utf8');
    expect(t([1, 2n])).toBe('int64');
    expect(t([1, 2.5])).toBe('float64');
    expect(t([true, false])).toBe('bool');
    expect(t([new Date()])).toBe('timestamp[ns, UTC]');
  });

  it('makes the time column a timestamp and keys strings, unless overridden', () => {
    const rows = [['AAPL', '1704187800000', '1'], ['MSFT', '1704187860000', '2']];
    const roles = { timeColumn: 'ts', keyColumns: ['symbol'] };
    const describe = (overrides: Map<string, DataType>) =>
      inferSchema(['symbol', 'ts', 'v'], (c) => rows.map((r) => r[c]), roles, overrides, 'f.csv').fields.map((f) => `${f.name}:${typeToString(f.type)}:${f.nullable}`);
    expect(describe(new Map())).toEqual(['symbol:utf8:false', 'ts:timestamp[ns, UTC]:false', 'v:int64:true']);
    expect(describe(new Map([['v', new Float32()], ['ts', typeFromString('timestamp[ms, UTC]')]]))).toEqual([
      'symbol:utf8:false',
      'ts:timestamp[ms, UTC]:false',
      'v:float32:true',
    ]);
    expect(() => inferSchema(['symbol', 'v'], () => [], roles, new Map(), 'f.csv')).toThrow('f.csv: no time column "ts" (columns: symbol, v)');
  });
});

describe('parseFieldList', () => {
  it('splits on top-level commas and spells types as the contract does', () => {
    expect(parseFieldList('symbol:string, ts:timestamp[ms, tz=UTC],close:double', { timeColumn: 'ts', keyColumns: ['symbol'] })).toEqual([
      { name: 'symbol', type: 'utf8', nullable: false },
      { name: 'ts', type: 'timestamp[ms, UTC]', nullable: false },
      { name: 'close', type: 'float64', nullable: true },
    ]);
    expect(() => parseFieldList('close')).toThrow('field "close": expected name:type');
    expect(() => parseFieldList('a:int64,a:int32')).toThrow('field "a" is listed twice');
    expect(() => parseFieldList('a:decimal')).toThrow(/field "a": unsupported column type "decimal"/);
  });
});
