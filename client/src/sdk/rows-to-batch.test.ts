import { Bool, DateDay, Field, Float32, Float64, Int32, Int64, Schema, Timestamp, TimeUnit, Utf8 } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { InputError } from './input-error.js';
import { rowsToBatch } from './rows-to-batch.js';

const schema = new Schema([
  new Field('symbol', new Utf8(), false),
  new Field('ts', new Timestamp(TimeUnit.MICROSECOND, 'UTC'), false),
  new Field('price', new Float64(), true),
  new Field('size', new Float32(), true),
  new Field('volume', new Int64(), true),
  new Field('count', new Int32(), true),
  new Field('halted', new Bool(), true),
  new Field('day', new DateDay(), true),
  new Field('note', new Utf8(), true),
]);

function build(rows: Record<string, unknown>[]) {
  const names = schema.fields.map((f) => f.name);
  return rowsToBatch(schema, rows, {
    epochUnit: 'auto',
    valueOf: (row, c) => row[names[c]!],
    locate: (i) => ({ source: 'src', row: i + 1 }),
  });
}

describe('rowsToBatch', () => {
  it('converts text, numbers, bigints, booleans and nulls to each column type', () => {
    const batch = build([
      { symbol: 'A', ts: '2024-01-02T09:30:00.000001Z', price: '1.5', size: 2, volume: '9007199254740993', count: '7', halted: 'true', day: '2024-01-02', note: '' },
      { symbol: 'B', ts: 1704187800, price: 2, size: '', volume: 3n, count: null, halted: 0, day: null, note: null },
      { symbol: 'ü', ts: new Date(0), price: 'NaN', size: '-inf', volume: 4, count: -1, halted: 'F', day: undefined },
    ]);
    expect(batch.numRows).toBe(3);
    expect(batch.getChild('symbol')!.toArray()).toEqual(['A', 'B', 'ü']);
    expect([...(batch.getChild('ts')!.data[0]!.values as BigInt64Array)]).toEqual([1704187800000001n, 1704187800000000n, 0n]);
    expect(batch.getChild('price')!.get(0)).toBe(1.5);
    expect(batch.getChild('price')!.get(2)).toBeNaN();
    expect(batch.getChild('size')!.get(1)).toBeNull();
    expect(batch.getChild('size')!.get(2)).toBe(-Infinity);
    expect([0, 1, 2].map((i) => batch.getChild('volume')!.get(i))).toEqual([9007199254740993n, 3n, 4n]);
    expect([0, 1, 2].map((i) => batch.getChild('count')!.get(i))).toEqual([7, null, -1]);
    expect([0, 1, 2].map((i) => batch.getChild('halted')!.get(i))).toEqual([true, false, false]);
    expect(batch.getChild('day')!.get(0)).toBe(Date.UTC(2024, 0, 2));
    expect([0, 1, 2].map((i) => batch.getChild('note')!.get(i))).toEqual(['', null, null]);
  });

  it('names the row and column of a value that does not fit', () => {
    const good = { symbol: 'A', ts: '2024-01-02T09:30:00Z' };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...good, price: 'abc' }, /^src: row 2, column "price": cannot read "abc" as float64$/],
      [{ ...good, volume: 1.5 }, /^src: row 2, column "volume": cannot read 1\.5 as int64 \(not an integer\)$/],
      [{ ...good, volume: 2 ** 60 }, /column "volume": cannot read .* as int64 exactly/],
      [{ ...good, count: '3000000000' }, /column "count": cannot read "3000000000" as int32 \(out of range\)$/],
      [{ ...good, halted: 'maybe' }, /column "halted": cannot read "maybe" as bool$/],
      [{ ...good, day: '2024-02-30' }, /column "day": cannot read "2024-02-30" as date32/],
      [{ ...good, ts: '2024-01-02T09:30:00.0000001Z' }, /column "ts": "2024-01-02T09:30:00.0000001Z" is finer than the column's unit \(us\)/],
      [{ ...good, symbol: null }, /column "symbol": is empty, but the column does not allow nulls$/],
      [{ ...good, note: { a: 1 } }, /column "note": cannot read an object as utf8$/],
    ];
    for (const [row, message] of cases) {
      let err: unknown;
      try {
        build([good, row]);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toMatch(message);
    }
  });
});
