import { Data, Dictionary, Int32, RecordBatch, TimeUnit, Timestamp, Utf8, Vector, makeData } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { dictData, fixedData, genBatch, int, mulberry32, pick, randomBigInt, refRows, refSort, SYMBOLS, UNITS, utf8Data } from '../../../test-support/random-batches.js';
import { sortPermutation } from './sort.js';
import { takeRows } from './take-filter.js';

describe('sortPermutation', () => {
  it('is the stable (keys, time) order of the reference, for every unit and key kind', () => {
    const rng = mulberry32(9);
    for (let round = 0; round < 40; round++) {
      const unit = UNITS[round % 4]!;
      const wide = round % 5 === 0;
      const batch = genBatch(rng, {
        n: int(rng, 300),
        unit,
        symbolKind: round % 2 ? 'dictionary' : 'utf8',
        slice: round % 3 === 0,
        symbols: SYMBOLS.slice(0, int(rng, SYMBOLS.length) + 1),
        time: wide ? [-(2n ** 63n) + 1n, 2n ** 63n - 1n] : [-5n, int(rng, 3) === 0 ? 3n : 10_000n],
      });
      const ref = refRows(batch);
      const keySets = [['symbol'], [], ['symbol', 'd'], ['i32', 'symbol'], ['b', 's'], ['day'], ['f64'], ['i64'], ['t2', 'symbol']];
      const keys = keySets[round % keySets.length]!;
      expect([...sortPermutation(batch, keys, 'ts')]).toEqual(refSort(ref, keys, 'ts'));
    }
  });

  it('sorts times on a grid (common divisors, trailing zero words) like the reference', () => {
    const rng = mulberry32(16);
    const steps = [1n, 60_000_000_000n, 2n ** 33n, 3n * 2n ** 35n, 86_400_000_000_000n, 7n];
    for (let round = 0; round < 24; round++) {
      const step = steps[round % steps.length]!;
      const base = randomBigInt(rng, -(10n ** 15n), 10n ** 15n);
      const n = int(rng, 400) + 2;
      const raw = BigInt64Array.from({ length: n }, () => base + BigInt(int(rng, 1000)) * step);
      const batch = new RecordBatch({
        symbol: round % 2 ? dictData(rng, Array.from({ length: n }, () => pick(rng, SYMBOLS))) : utf8Data(Array.from({ length: n }, () => pick(rng, SYMBOLS))),
        ts: fixedData(new Timestamp(UNITS[round % 4]!, 'UTC'), raw, Array<boolean>(n).fill(true)),
      });
      const ref = refRows(batch);
      expect([...sortPermutation(batch, ['symbol'], 'ts')]).toEqual(refSort(ref, ['symbol'], 'ts'));
      expect([...sortPermutation(batch, [], 'ts')]).toEqual(refSort(ref, [], 'ts'));
    }
  });

  it('orders strings by code point, not UTF-16 unit', () => {
    const batch = new RecordBatch({
      symbol: utf8Data(['😀', '～', 'z', 'é', '']),
      ts: fixedData(new Timestamp(TimeUnit.SECOND, 'UTC'), new BigInt64Array(5), [true, true, true, true, true]),
    });
    expect([...sortPermutation(batch, ['symbol'], 'ts')]).toEqual([4, 2, 3, 1, 0]);
  });

  it('returns the identity for sorted input and handles time-ordered-per-key input', () => {
    const rng = mulberry32(10);
    const batch = genBatch(rng, { n: 500, symbols: ['A', 'B', 'C', 'D'], time: [0n, 50n], nullRate: 0 });
    const sorted = takeRows(batch, sortPermutation(batch, ['symbol'], 'ts'));
    const perm = sortPermutation(sorted, ['symbol'], 'ts');
    expect([...perm]).toEqual(Array.from({ length: 500 }, (_, i) => i));
    // interleaved keys, time ascending overall (one bar per symbol per minute)
    const interleaved = takeRows(batch, sortPermutation(batch, [], 'ts'));
    expect([...sortPermutation(interleaved, ['symbol'], 'ts')]).toEqual(refSort(refRows(interleaved), ['symbol'], 'ts'));
  });

  it('tells input time-ordered within each key from input that is not, across sign and 32-bit word boundaries', () => {
    const rng = mulberry32(12);
    for (let round = 0; round < 20; round++) {
      const batch = genBatch(rng, { n: 300, symbols: ['A', 'B', 'C'], time: [-(2n ** 40n), 2n ** 40n], nullRate: 0 });
      const byTime = takeRows(batch, sortPermutation(batch, [], 'ts'));
      expect([...sortPermutation(byTime, ['symbol'], 'ts')]).toEqual(refSort(refRows(byTime), ['symbol'], 'ts'));
      const reversed = takeRows(byTime, Uint32Array.from({ length: byTime.numRows }, (_, i) => byTime.numRows - 1 - i));
      expect([...sortPermutation(reversed, ['symbol'], 'ts')]).toEqual(refSort(refRows(reversed), ['symbol'], 'ts'));
    }
  });

  it('sorts a year of 1-minute bars of 500 symbols, in random order, into a stable (symbol, time) permutation', () => {
    const rng = mulberry32(11);
    const n = 50_000;
    const enc = new TextEncoder();
    const symbols = Array.from({ length: 500 }, (_, i) => enc.encode(`SYM${i}`));
    const dictOffsets = new Int32Array(symbols.length + 1);
    symbols.forEach((b, k) => (dictOffsets[k + 1] = dictOffsets[k]! + b.length));
    const dictBytes = new Uint8Array(dictOffsets[symbols.length]!);
    symbols.forEach((b, k) => dictBytes.set(b, dictOffsets[k]!));
    const symIdx = Int32Array.from({ length: n }, () => int(rng, symbols.length));
    const offsets = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i]! + symbols[symIdx[i]!]!.length;
    const bytes = new Uint8Array(offsets[n]!);
    for (let i = 0; i < n; i++) bytes.set(symbols[symIdx[i]!]!, offsets[i]!);
    const start = 1_704_067_200_000_000_000n;
    const ts = new BigInt64Array(n);
    for (let i = 0; i < n; i++) ts[i] = start + BigInt(int(rng, 365 * 24 * 60)) * 60_000_000_000n;
    const time = makeData({ type: new Timestamp(TimeUnit.NANOSECOND, 'UTC'), length: n, data: ts });
    const utf8 = new RecordBatch({ symbol: makeData({ type: new Utf8(), length: n, valueOffsets: offsets, data: bytes }), ts: time });
    const dictionary = new Vector([makeData({ type: new Utf8(), length: symbols.length, valueOffsets: dictOffsets, data: dictBytes })]);
    const dict = new RecordBatch({ symbol: makeData({ type: new Dictionary(new Utf8(), new Int32()), length: n, data: symIdx, dictionary } as never) as Data, ts: time });

    const perm = sortPermutation(utf8, ['symbol'], 'ts');

    // A permutation: every row index exactly once.
    expect(perm.length).toBe(n);
    const seen = new Uint8Array(n);
    for (const i of perm) seen[i] = seen[i]! + 1;
    expect(seen.every((c) => c === 1)).toBe(true);

    // Ordered by symbol bytes, then time, rows of equal (symbol, time) in input order.
    const byBytes = symbols.map((_, k) => k).sort((a, b) => Buffer.compare(symbols[a]!, symbols[b]!));
    const rank = new Int32Array(symbols.length);
    byBytes.forEach((k, r) => (rank[k] = r));
    let misordered = 0;
    for (let p = 1; p < n; p++) {
      const i = perm[p - 1]!;
      const j = perm[p]!;
      const c = rank[symIdx[i]!]! - rank[symIdx[j]!]! || (ts[i]! < ts[j]! ? -1 : ts[i]! > ts[j]! ? 1 : i - j);
      if (c >= 0) misordered++;
    }
    expect(misordered).toBe(0);

    // The same rows dictionary-encoded sort the same way, and sorted rows sort to the identity.
    expect(sortPermutation(dict, ['symbol'], 'ts')).toEqual(perm);
    expect(sortPermutation(takeRows(utf8, perm), ['symbol'], 'ts')).toEqual(Uint32Array.from({ length: n }, (_, i) => i));
  });
});
