/**
 * The open chart: finds where the symbol's data lies, loads the newest bars at the chosen (or a
 * fitting) interval, loads older pages as the view reaches the left edge, and re-reads the bucket
 * of every live bar of the symbol. A newer `open` supersedes one still loading. Failures are said in
 * words in the chart area and in the notices, and the page stays usable.
 */
import { CandleHistory } from './candle-history.js';
import type { ChartView } from './chart-view.js';
import type { GraphQLClient } from './graphql.js';
import { bucketStartMs, intervalForSpacing, type Interval } from './intervals.js';
import type { LiveBar, LiveUpdates } from './live-updates.js';
import { instrumentBounds, loadCandles, type InstrumentBounds } from './market-data.js';
import { messageOf, type Notices } from './notices.js';

export interface OpenedChart {
  dataset: string | undefined;
  symbol: string;
  interval: Interval;
}

/** Live bars landing within this many ms are read back together. */
const LIVE_COALESCE_MS = 100;

export class ChartPanel {
  private history: CandleHistory | undefined;
  private opened: OpenedChart | undefined;
  private generation = 0;
  private loadingOlder = false;
  private firstDrawn = false;
  private readonly pendingBuckets = new Set<number>();
  private pendingTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly client: GraphQLClient,
    private readonly view: ChartView,
    private readonly host: HTMLElement,
    private readonly message: HTMLElement,
    private readonly notices: Notices,
    private readonly live: LiveUpdates,
  ) {}

  get current(): OpenedChart | undefined {
    return this.opened;
  }

  /**
   * Opens a chart; resolves with what was opened (the interval filled in), undefined when it could
   * not be. `known` saves a request when the caller already asked where the symbol's rows lie.
   */
  async open(dataset: string | undefined, symbol: string, interval: Interval | undefined, known?: InstrumentBounds | null): Promise<OpenedChart | undefined> {
    const generation = ++this.generation;
    const stale = () => generation !== this.generation;
    this.history = undefined;
    this.pendingBuckets.clear();
    this.setState('loading', `Loading ${symbol}…`);
    this.view.clear({ symbol, dataset });
    const where = dataset ?? 'the default dataset';
    try {
      const bounds = known !== undefined ? known : await instrumentBounds(this.client, dataset, symbol);
      if (stale()) return undefined;
      if (bounds === null) {
        this.fail(`unknown symbol ${symbol}: ${where} holds no bars for it`);
        return undefined;
      }
      const chosen = interval ?? intervalForSpacing(bounds.spacingMs);
      const history = new CandleHistory(chosen, bounds, (fromMs, toMs) => loadCandles(this.client, { dataset, symbol, interval: chosen, fromMs, toMs }));
      const rows = await history.loadLatest();
      if (stale()) return undefined;
      this.history = history;
      this.opened = { dataset, symbol, interval: chosen };
      this.view.show(symbol, dataset, chosen, rows);
      this.setState('ready', rows.length === 0 ? `${symbol} has no bars at ${chosen} in ${where}` : '');
      this.notices.clear('chart');
      this.markFirstDraw();
      this.live.watch('chart', dataset, [symbol], (bar) => this.onLiveBar(generation, bar));
      return this.opened;
    } catch (err) {
      if (!stale()) this.fail(`could not load the chart of ${symbol} (${where}): ${messageOf(err)}`);
      return undefined;
    }
  }

  /** Called as the view reaches the oldest loaded bar. */
  async loadOlder(): Promise<void> {
    const history = this.history;
    if (history === undefined || history.complete || this.loadingOlder) return;
    const generation = this.generation;
    this.loadingOlder = true;
    this.host.dataset.loadingOlder = 'true';
    try {
      const added = await history.loadOlder();
      if (generation === this.generation && added > 0) this.view.setRows(history.candles);
    } catch (err) {
      if (generation === this.generation) this.notices.show('chart', 'error', `could not load older bars: ${messageOf(err)}`);
    } finally {
      this.loadingOlder = false;
      delete this.host.dataset.loadingOlder;
    }
  }

  private onLiveBar(generation: number, bar: LiveBar): void {
    const history = this.history;
    if (generation !== this.generation || history === undefined || bar.symbol !== this.opened?.symbol) return;
    const time = Date.parse(bar.ts);
    if (Number.isNaN(time)) return;
    this.pendingBuckets.add(bucketStartMs(time, history.interval));
    this.pendingTimer ??= setTimeout(() => {
      this.pendingTimer = undefined;
      void this.readBackBuckets(generation, history);
    }, LIVE_COALESCE_MS);
  }

  private async readBackBuckets(generation: number, history: CandleHistory): Promise<void> {
    const buckets = [...this.pendingBuckets].sort((a, b) => a - b);
    this.pendingBuckets.clear();
    try {
      for (const bucket of buckets) {
        const candle = await history.refreshBucket(bucket);
        if (generation !== this.generation) return;
        if (candle !== undefined) this.view.update(history.candles, candle);
      }
    } catch (err) {
      if (generation === this.generation) this.notices.show('chart', 'error', `could not load a live bar: ${messageOf(err)}`);
    }
  }

  /** Says in the chart area (and the notices) why there is no chart. */
  fail(text: string): void {
    this.generation += 1;
    this.history = undefined;
    this.live.watch('chart', undefined, [], () => undefined);
    this.view.clear();
    this.setState('error', text);
    this.notices.show('chart', 'error', text);
  }

  private setState(state: 'loading' | 'ready' | 'error', text: string): void {
    this.host.dataset.state = state;
    this.message.textContent = text;
    this.message.hidden = text === '';
  }

  /** `explorer:first-chart` marks when the first chart with bars was painted (two frames after its data was set). */
  private markFirstDraw(): void {
    if (this.firstDrawn || (this.history?.candles.length ?? 0) === 0) return;
    this.firstDrawn = true;
    requestAnimationFrame(() => requestAnimationFrame(() => performance.mark('explorer:first-chart')));
  }
}
