import { describe, expect, it } from 'vitest';
import { FIRST_IPC_BATCH_ROWS, ipcBatchBounds } from './data-file-writer.js';

describe('ipcBatchBounds', () => {
  it('starts a tier file with small batches, doubling up to the batch size, and covers every row once', () => {
    const bounds = ipcBatchBounds(143_000, 65_536);
    expect(bounds.map(([a, b]) => b - a)).toEqual([4096, 8192, 16_384, 32_768, 65_536, 143_000 - 126_976]);
    expect(bounds[0]![0]).toBe(0);
    for (let i = 1; i < bounds.length; i++) expect(bounds[i]![0]).toBe(bounds[i - 1]![1]);
    expect(bounds.at(-1)![1]).toBe(143_000);
  });

  it('keeps small files and small batch sizes as they were', () => {
    expect(ipcBatchBounds(10, 65_536)).toEqual([[0, 10]]);
    expect(ipcBatchBounds(0, 65_536)).toEqual([]);
    expect(ipcBatchBounds(25, 10)).toEqual([
      [0, 10],
      [10, 20],
      [20, 25],
    ]);
    expect(ipcBatchBounds(FIRST_IPC_BATCH_ROWS * 3, FIRST_IPC_BATCH_ROWS)).toHaveLength(3);
  });
});
