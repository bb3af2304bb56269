import { DataType, Dictionary, Field, Float64, Int16, Int32, Int8, RecordBatch, Schema, Utf8 } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { genBatch, int, ipcRoundTrip, mulberry32, refRows, utf8Data } from '../../../test-support/random-batches.js';
import { conformBatch } from './conform.js';

describe('conformBatch', () => {
  it('converts utf8 <-> dictionary, reorders and fills evolved columns with nulls', () => {
    const rng = mulberry32(2);
    for (let round = 0; round < 20; round++) {
      const batch = genBatch(rng, { n: int(rng, 60), symbolKind: round % 2 ? 'dictionary' : 'utf8', slice: round % 3 !== 0 });
      const ref = refRows(batch);
      const f = (name: string) => batch.schema.fields.find((x) => x.name === name)!;
      const target = new Schema([
        new Field('ts', f('ts').type, false),
        new Field('symbol', round % 2 ? new Utf8() : new Dictionary(new Utf8(), new Int32()), false),
        new Field('d', new Utf8(), true),
        new Field('s', new Dictionary(new Utf8(), round % 4 < 2 ? new Int16() : new Int32()), true),
        f('f64'),
        f('b'),
        new Field('vwap', new Float64(), true),
        new Field('note', new Dictionary(new Utf8(), new Int32()), true),
        new Field('tag', new Utf8(), true),
      ]);
      const out = conformBatch(batch, target);
      expect(out.schema.fields.map((x) => x.name)).toEqual(target.fields.map((x) => x.name));
      out.schema.fields.forEach((x, c) => expect(out.data.children[c]!.type).toBe(x.type));
      expect(out.schema.fields.map((x) => String(x.type))).toEqual(target.fields.map((x) => String(x.type)));
      const expected = ref.map((r) => ({ ts: r['ts']!, symbol: r['symbol']!, d: r['d']!, s: r['s']!, f64: r['f64']!, b: r['b']!, vwap: null, note: null, tag: null }));
      expect(refRows(out)).toEqual(expected);
      expect(ipcRoundTrip(out)).toEqual(expected);
    }
  });

  it('treats utf8 and dictionary<utf8> as the same values both ways', () => {
    const rng = mulberry32(3);
    const batch = genBatch(rng, { n: 100, symbolKind: 'dictionary', slice: true });
    const asUtf8 = conformBatch(batch, new Schema([new Field('d', new Utf8(), true)]));
    const back = conformBatch(asUtf8, new Schema([new Field('d', new Dictionary(new Utf8(), new Int8()), true)]));
    const ref = refRows(batch).map((r) => ({ d: r['d']! }));
    expect(refRows(asUtf8)).toEqual(ref);
    expect(refRows(back)).toEqual(ref);
    expect(DataType.isDictionary(back.schema.fields[0]!.type)).toBe(true);
  });

  it('widens a dictionary index type that cannot address the values, keeping the dictionary id', () => {
    const values = Array.from({ length: 300 }, (_, i) => `v${i}`);
    const batch = new RecordBatch({ v: utf8Data(values) });
    const target = new Dictionary(new Utf8(), new Int8(), 77);
    const out = conformBatch(batch, new Schema([new Field('v', target, true)]));
    const t = out.schema.fields[0]!.type as Dictionary;
    expect(t.id).toBe(77);
    expect(t.indices.bitWidth).toBe(32);
    expect(refRows(out).map((r) => r['v'])).toEqual(values);
  });

  it('refuses an incompatible column', () => {
    const batch = genBatch(mulberry32(4), { n: 3 });
    expect(() => conformBatch(batch, new Schema([new Field('i32', new Float64())]))).toThrow(/"i32".*float64.*int32/);
  });
});
