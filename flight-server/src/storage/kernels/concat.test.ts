import { Data, DataType, Dictionary, Field, Int32, RecordBatch, Schema, Utf8, Vector, makeData } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { genBatch, int, ipcRoundTrip, mulberry32, refRows, utf8Data } from '../../../test-support/random-batches.js';
import { concatBatches } from './concat.js';

describe('concatBatches', () => {
  it('matches the reference over batches with different dictionaries, index types, slices and nulls', () => {
    const rng = mulberry32(5);
    for (let round = 0; round < 15; round++) {
      const k = int(rng, 5) + 1;
      const batches = Array.from({ length: k }, (_, j) =>
        genBatch(rng, { n: int(rng, 40), symbolKind: (round + j) % 2 ? 'dictionary' : 'utf8', slice: rng() < 0.6 }),
      );
      const first = batches[0]!.schema;
      const schema = new Schema(
        first.fields.map((f) => (f.name === 'symbol' ? new Field('symbol', new Dictionary(new Utf8(), new Int32()), false) : f.name === 'd' ? new Field('d', new Dictionary(new Utf8(), new Int32()), true) : f)),
      );
      const out = concatBatches(schema, batches);
      const expected = batches.flatMap((b) => refRows(b));
      expect(out.numRows).toBe(expected.length);
      expect(refRows(out)).toEqual(expected);
      if (k > 1) {
        for (const d of out.data.children) {
          expect(d.offset).toBe(0);
          if (DataType.isDictionary(d.type)) expect(d.dictionary!.data.length).toBe(1);
        }
      }
      expect(ipcRoundTrip(out)).toEqual(expected);
    }
  });

  it('gives a zero-row batch of the schema for no batches', () => {
    const schema = genBatch(mulberry32(6), { n: 1 }).schema;
    const out = concatBatches(schema, []);
    expect(out.numRows).toBe(0);
    expect(out.schema.fields.map((f) => f.name)).toEqual(schema.fields.map((f) => f.name));
    expect(ipcRoundTrip(out)).toEqual([]);
  });

  it('unifies dictionaries that hold null entries', () => {
    const dict = (entries: (string | null)[], idx: number[]) =>
      makeData({ type: new Dictionary(new Utf8(), new Int32()), length: idx.length, data: Int32Array.from(idx), dictionary: new Vector([utf8Data(entries)]) } as never) as Data;
    const a = new RecordBatch({ v: dict(['x', null, 'y'], [0, 1, 2, 1]) });
    const b = new RecordBatch({ v: dict(['y', 'z'], [1, 0]) });
    const out = concatBatches(a.schema, [a, b]);
    expect(refRows(out).map((r) => r['v'])).toEqual(['x', null, 'y', null, 'z', 'y']);
    expect(out.data.children[0]!.nullCount).toBe(2);
  });
});
