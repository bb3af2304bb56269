import { describe, expect, it } from 'vitest';
import { CandleHistory, PAGE_BARS } from './candle-history.js';
import { INTERVAL_MS, bucketStartMs, type Interval } from './intervals.js';
import type { Candle } from './market-data.js';

const MINUTE = 60_000;
const DAY = 86_400_000;

/** Bars resampled on the fly from raw rows, answering [from, to) as the facade's `series` does. */
function source(rawTimes: number[], interval: Interval) {
  const calls: [number, number | undefined][] = [];
  const fetch = async (fromMs: number, toMs: number | undefined): Promise<Candle[]> => {
    calls.push([fromMs, toMs]);
    const buckets = new Map<number, Candle>();
    for (const t of rawTimes) {
      if (t < fromMs || (toMs !== undefined && t >= toMs)) continue;
      const b = bucketStartMs(t, interval);
      const price = t / MINUTE;
      const c = buckets.get(b);
      if (c === undefined) buckets.set(b, { time: b, open: price, high: price, low: price, close: price, volume: 1 });
      else Object.assign(c, { high: Math.max(c.high!, price), low: Math.min(c.low!, price), close: price, volume: c.volume! + 1 });
    }
    return [...buckets.values()].sort((a, b) => a.time - b.time);
  };
  return { fetch, calls };
}

function bounds(times: number[]) {
  return { firstMs: times[0]!, latestMs: times.at(-1)!, spacingMs: times[1]! - times[0]! };
}

/** Minute rows of trading sessions 14:30-21:00 on the given UTC days. */
function sessions(days: string[]): number[] {
  return days.flatMap((d) => Array.from({ length: 390 }, (_, i) => Date.parse(`${d}T14:30:00Z`) + i * MINUTE));
}

describe('CandleHistory', () => {
  it('loads the newest page first, then older pages until the first row, each bar once and in order', async () => {
    const times = sessions(['2024-01-02', '2024-01-03', '2024-01-04', '2024-01-05', '2024-01-08']);
    const { fetch } = source(times, '1m');
    const history = new CandleHistory('1m', bounds(times), fetch);
    const first = await history.loadLatest();
    expect(first.length).toBe(390); // the last session: the page before it is the night's gap
    expect(first[0]!.time).toBe(Date.parse('2024-01-08T14:30:00Z'));
    expect(history.complete).toBe(false);
    let rounds = 0;
    while (!history.complete && rounds < 20) {
      await history.loadOlder();
      rounds += 1;
    }
    expect(history.complete).toBe(true);
    expect(history.candles.map((c) => c.time)).toEqual(times);
    expect(await history.loadOlder()).toBe(0);
  });

  it('widens pages across a long gap, in a bounded number of requests', async () => {
    const times = [...sessions(['2023-01-03']), ...sessions(['2024-01-08'])];
    const { fetch, calls } = source(times, '1m');
    const history = new CandleHistory('1m', bounds(times), fetch);
    await history.loadLatest();
    expect(history.candles).toHaveLength(390);
    const before = calls.length;
    const added = await history.loadOlder();
    expect(added).toBe(390);
    expect(calls.length - before).toBeLessThanOrEqual(24);
    expect(history.candles.map((c) => c.time)).toEqual(times);
    for (const [from, to] of calls) expect(((to ?? from) - from) / MINUTE).toBeLessThanOrEqual(50_000);
  });

  it('asks for bucket-aligned ranges, weeks from Monday', async () => {
    const times = Array.from({ length: 400 }, (_, i) => Date.parse('2020-01-01T00:00:00Z') + i * DAY);
    const { fetch, calls } = source(times, '1w');
    const history = new CandleHistory('1w', bounds(times), fetch);
    await history.loadLatest();
    for (const [from, to] of calls) {
      expect(bucketStartMs(from, '1w')).toBe(from);
      expect(new Date(from).getUTCDay() === 1 || from === bucketStartMs(times[0]!, '1w')).toBe(true);
      if (to !== undefined) expect(bucketStartMs(to, '1w')).toBe(to);
    }
    expect(history.complete).toBe(true);
    expect(history.candles).toHaveLength(new Set(times.map((t) => bucketStartMs(t, '1w'))).size);
    expect(PAGE_BARS * INTERVAL_MS['1w']).toBeGreaterThan(400 * DAY);
  });

  it('reads a changed bucket again and puts it in place, appending a new one', async () => {
    const times = sessions(['2024-01-08']);
    const { fetch } = source(times, '5m');
    const history = new CandleHistory('5m', bounds(times), fetch);
    await history.loadLatest();
    const count = history.candles.length;
    const last = history.candles.at(-1)!;
    times.push(Date.parse('2024-01-08T21:00:00Z'), Date.parse('2024-01-08T21:02:00Z'));
    const fresh = await history.refreshBucket(Date.parse('2024-01-08T21:02:30Z'));
    expect(fresh).toMatchObject({ time: Date.parse('2024-01-08T21:00:00Z'), volume: 2 });
    expect(history.candles).toHaveLength(count + 1);
    expect(history.candles.at(-2)).toBe(last);
    history.upsert({ ...last, close: 1 });
    expect(history.candles).toHaveLength(count + 1);
    expect(history.candles.at(-2)!.close).toBe(1);
    expect(await history.refreshBucket(Date.parse('2024-01-09T00:00:00Z'))).toBeUndefined();
  });
});
