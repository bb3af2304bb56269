import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { cachedBatches } from './decoded-ipc.js';

describe('cachedBatches', () => {
  it('decodes the same bytes once, and other bytes (even equal ones) on their own', () => {
    const ipc = tableToIPC(tableFromArrays({ x: Float64Array.from([1, 2, 3]) }), 'stream');
    const first = cachedBatches(ipc);
    expect(first.map((b) => b.numRows)).toEqual([3]);
    expect(first[0]!.getChild('x')!.toArray()).toEqual(Float64Array.from([1, 2, 3]));
    expect(cachedBatches(ipc)).toBe(first);
    const copy = ipc.slice();
    const again = cachedBatches(copy);
    expect(again).not.toBe(first);
    expect(again[0]!.getChild('x')!.toArray()).toEqual(Float64Array.from([1, 2, 3]));
  });
});
