import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { writeWithBackpressure, type BackpressuredCall } from './stream-write.js';

/** A call whose reader never reads: every write reports a full buffer and no 'drain' ever comes. */
function stalledCall(deadline: number): BackpressuredCall & { writes: number } {
  const events = new EventEmitter();
  const call = {
    writes: 0,
    cancelled: false,
    destroyed: false,
    getDeadline: () => deadline,
    write: () => {
      call.writes++;
      return false;
    },
    on: (name: string, fn: () => void) => (events.on(name, fn), call),
    off: (name: string, fn: () => void) => (events.off(name, fn), call),
  };
  return call as unknown as BackpressuredCall & { writes: number };
}

describe('writeWithBackpressure', () => {
  it('gives up on a stalled reader once the deadline passes', async () => {
    const call = stalledCall(Date.now() + 50);
    expect(await writeWithBackpressure(call, ['a', 'b', 'c'])).toBe(false);
    expect(call.writes).toBe(1);
    expect(Date.now()).toBeGreaterThanOrEqual(call.getDeadline!() as number);
  });

  it('still gives up when its timer fires before Date.now() reaches the deadline', async () => {
    // Timers run on the monotonic clock, deadlines on the wall clock; the two drift apart by a
    // millisecond of rounding, or more when the wall clock is slewed. Model a wall clock running at
    // half speed: the deadline timer then always fires early, and the writer must not hang.
    const wallStart = Date.now();
    const monoStart = performance.now();
    const slowWall = vi.spyOn(Date, 'now').mockImplementation(() => Math.floor(wallStart + (performance.now() - monoStart) / 2));
    try {
      const call = stalledCall(wallStart + 40);
      const outcome = await Promise.race([
        writeWithBackpressure(call, ['a', 'b']),
        new Promise<string>((r) => setTimeout(() => r('still waiting'), 2000).unref()),
      ]);
      expect(outcome).toBe(false);
      expect(call.writes).toBe(1);
      expect(Date.now()).toBeGreaterThanOrEqual(wallStart + 40);
    } finally {
      slowWall.mockRestore();
    }
  });

  it('writes everything when the reader keeps up', async () => {
    const call = stalledCall(Infinity);
    call.write = () => (call.writes++, true);
    expect(await writeWithBackpressure(call, ['a', 'b', 'c'])).toBe(true);
    expect(call.writes).toBe(3);
  });
});
