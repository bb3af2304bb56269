import { describe, expect, it } from 'vitest';
import { ByteSink, writeJson } from './json-bytes.js';

function encoded(value: unknown, sink = new ByteSink(16)): string | undefined {
  sink.reset();
  return writeJson(sink, value) ? sink.bytes().toString('utf8') : undefined;
}

/** A deterministic pseudo-random generator (mulberry32), so a failure repeats. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ODD_STRINGS = ['', 'plain', 'quote " and \\ backslash', 'ctl \u0000\u0001\u001f\n\t', 'é ü ß', '€ 日本', '😀 pair', 'lone \ud800 high', 'lone \udc00 low', '\u2028\u2029'];

function randomValue(next: () => number, depth: number): unknown {
  const pick = Math.floor(next() * (depth > 3 ? 6 : 10));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return next() < 0.5;
    case 2:
      return [0, -0, 1.5, -2.25e-7, 1e21, 123456789012345, NaN, Infinity, -Infinity, Number.MAX_VALUE][Math.floor(next() * 10)];
    case 3:
      return ODD_STRINGS[Math.floor(next() * ODD_STRINGS.length)];
    case 4:
      return undefined;
    case 5:
      return next() * 1000 - 500;
    case 6:
    case 7: {
      // Now and then a long array, of primitives or of flat rows (as GraphQL answers hold).
      if (next() < 0.2) return Array.from({ length: Math.floor(next() * 3000) }, () => randomValue(next, depth < 3 && next() < 0.1 ? 3 : 4));
      return Array.from({ length: Math.floor(next() * 6) }, () => randomValue(next, depth + 1));
    }
    default: {
      const out: Record<string, unknown> = {};
      const n = Math.floor(next() * 6);
      for (let i = 0; i < n; i++) out[ODD_STRINGS[Math.floor(next() * ODD_STRINGS.length)]! + i] = randomValue(next, depth + 1);
      return out;
    }
  }
}

describe('writeJson', () => {
  it('writes exactly what JSON.stringify writes, for random nested values', () => {
    const sink = new ByteSink(16);
    for (let seed = 1; seed <= 300; seed++) {
      const value = randomValue(random(seed), 0);
      expect(encoded(value, sink), `seed ${seed}`).toBe(JSON.stringify(value));
    }
  });

  it('writes a series-shaped answer (long arrays of doubles) and a bars-shaped one (many flat rows)', () => {
    const next = random(7);
    const column = () => Array.from({ length: 10_080 }, () => (next() < 0.01 ? null : 100 + next()));
    const series = { data: { instrument: { series: { symbol: 'ABC', ts: column(), open: column(), high: column(), volume: column() } } } };
    expect(encoded(series)).toBe(JSON.stringify(series));
    const bars = {
      errors: [{ message: 'one bad', locations: [{ line: 1, column: 2 }], path: ['bars', 3], extensions: { code: 'X' } }],
      data: { bars: Array.from({ length: 1440 }, (_, i) => ({ symbol: 'ABC', ts: String(i), open: next(), high: null, volume: i })) },
    };
    expect(encoded(bars)).toBe(JSON.stringify(bars));
  });

  it('follows toJSON, class instances, holes, functions, symbols and dropped keys as JSON.stringify does', () => {
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
    }
    const holes = [1, , 3]; // eslint-disable-line no-sparse-arrays
    const value = {
      date: new Date(0),
      point: new Point(1, 2),
      map: new Map([[1, 2]]),
      custom: { toJSON: (key: string) => `key ${key}` },
      gone: { toJSON: () => undefined },
      fn: () => 1,
      sym: Symbol('s'),
      nothing: undefined,
      holes,
      mixed: [() => 1, Symbol('t'), undefined, { toJSON: () => undefined }, { a: [1, { b: 2 }] }],
      nullProto: Object.assign(Object.create(null) as object, { z: 1 }),
      tail: 'end',
    };
    expect(encoded(value)).toBe(JSON.stringify(value));
    expect(encoded({ toJSON: () => undefined })).toBeUndefined();
    expect(encoded(undefined)).toBeUndefined();
  });

  it('walks a deep value no further than its bound and still writes it exactly', () => {
    let deep: unknown = [1, 2, 3];
    for (let i = 0; i < 100; i++) deep = { level: i, next: [deep, i] };
    expect(encoded(deep)).toBe(JSON.stringify(deep));
  });

  it('throws as JSON.stringify does on a cycle or a BigInt', () => {
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = { back: cycle };
    expect(() => encoded(cycle)).toThrow(TypeError);
    expect(() => encoded({ list: [1, 2n] })).toThrow(TypeError);
  });

  it('grows its buffer as needed and reuses it after reset', () => {
    const sink = new ByteSink(8);
    const big = { text: 'x'.repeat(100_000), list: Array.from({ length: 5000 }, (_, i) => i) };
    expect(encoded(big, sink)).toBe(JSON.stringify(big));
    const grown = sink.capacity;
    expect(grown).toBeGreaterThan(100_000);
    expect(encoded({ small: true }, sink)).toBe('{"small":true}');
    expect(sink.capacity).toBe(grown);
  });
});

describe('writeJson and toJSON keys', () => {
  it('calls toJSON with the key or index it has in its parent, bigint included', () => {
    const seen = { toJSON: (key: string) => `at ${key}` };
    const proto = BigInt.prototype as unknown as { toJSON?: (this: bigint, key: string) => string };
    proto.toJSON = function (key: string) {
      return `${this.toString()}n at ${key}`;
    };
    try {
      const value = { one: seen, list: [1, seen, 2n, { deeper: [seen] }], big: 3n };
      expect(encoded(value)).toBe(JSON.stringify(value));
      expect(encoded(seen)).toBe(JSON.stringify(seen));
    } finally {
      delete proto.toJSON;
    }
  });
});
