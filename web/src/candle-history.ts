/**
 * The bars of one chart (dataset, symbol, interval) loaded so far, and how more are fetched:
 * the newest page first, older pages as the view moves left of the loaded range (a page that
 * comes back empty, a gap in the data, widens the next one), single buckets again when a live
 * update lands in them (the server's resampling stays the one truth, so an upsert is never
 * counted twice). Every loop is bounded.
 */
import { INTERVAL_MS, bucketStartMs, type Interval } from './intervals.js';
import type { Candle, InstrumentBounds } from './market-data.js';

/** Bars asked for per page. */
export const PAGE_BARS = 1000;
/** A page never spans more bars than this (the facade's row limit is 100 000), counting the data's own spacing. */
const MAX_PAGE_BARS = 50_000;
/** How many requests one "load more" makes across empty ranges before it gives up for now (the next scroll goes on). */
const MAX_TRIES = 24;
/** The first view wants at least this many bars when the data has them. */
const MIN_FIRST_BARS = 120;

export type CandleFetch = (fromMs: number, toMs: number | undefined) => Promise<Candle[]>;

export class CandleHistory {
  private rows: Candle[] = [];
  private fromMs: number;
  private spanBars = PAGE_BARS;

  constructor(
    readonly interval: Interval,
    readonly bounds: InstrumentBounds,
    private readonly fetchRange: CandleFetch,
  ) {
    this.fromMs = bucketStartMs(bounds.latestMs, interval) + INTERVAL_MS[interval];
  }

  get candles(): readonly Candle[] {
    return this.rows;
  }

  /** Start of the loaded range (inclusive). */
  get loadedFromMs(): number {
    return this.fromMs;
  }

  /** Nothing older than the loaded range exists. */
  get complete(): boolean {
    return this.fromMs <= this.bounds.firstMs;
  }

  /** Loads the newest page (widening until it has a screenful or the data ends); resolves with the candles. */
  async loadLatest(): Promise<readonly Candle[]> {
    for (let tries = 0; tries < MAX_TRIES && !this.complete && this.rows.length < MIN_FIRST_BARS; tries += 1) await this.loadOlder();
    return this.rows;
  }

  /** Loads the page before the loaded range; resolves with how many bars it added (0: none, or none yet). */
  async loadOlder(): Promise<number> {
    // A bar of the chart covers at least one interval and at least the data's own spacing (daily rows
    // charted at 1m are one bar a day), so a span of N such widths holds at most about N rows.
    const width = Math.max(INTERVAL_MS[this.interval], this.bounds.spacingMs ?? 0);
    for (let tries = 0; tries < MAX_TRIES && !this.complete; tries += 1) {
      const to = this.fromMs;
      const from = bucketStartMs(Math.max(to - this.spanBars * width, this.bounds.firstMs), this.interval);
      const page = await this.fetchRange(from, to);
      this.fromMs = from;
      const first = this.rows[0]?.time ?? Number.POSITIVE_INFINITY;
      const older = page.filter((c) => c.time < first);
      if (older.length < PAGE_BARS / 4) this.spanBars = Math.min(this.spanBars * 2, MAX_PAGE_BARS);
      if (older.length > 0) {
        this.rows = [...older, ...this.rows];
        return older.length;
      }
    }
    return 0;
  }

  /** Loads the bucket holding `timeMs` again and puts it in place; resolves with it (undefined: the bucket is empty). */
  async refreshBucket(timeMs: number): Promise<Candle | undefined> {
    const start = bucketStartMs(timeMs, this.interval);
    const [candle] = await this.fetchRange(start, start + INTERVAL_MS[this.interval]);
    if (candle !== undefined) this.upsert(candle);
    return candle;
  }

  /** Puts a candle in time order, replacing one with the same time. */
  upsert(candle: Candle): void {
    const rows = this.rows;
    let lo = 0;
    let hi = rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (rows[mid]!.time < candle.time) lo = mid + 1;
      else hi = mid;
    }
    if (rows[lo]?.time === candle.time) rows[lo] = candle;
    else rows.splice(lo, 0, candle);
  }
}
