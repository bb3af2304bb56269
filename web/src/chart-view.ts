/**
 * The chart itself (TradingView lightweight-charts, bundled): candles in the main pane, volume in a
 * pane below, times in UTC, the crosshair feeding the {@link Legend}. It draws what it is given and
 * reports when the view nears the left edge of the loaded bars. The host element carries the
 * state in `data-*` attributes (symbol, interval, bar count, first and last bar time).
 */
import {
  CandlestickSeries,
  ColorType,
  CrosshairMode,
  HistogramSeries,
  createChart,
  type CandlestickData,
  type HistogramData,
  type IChartApi,
  type ISeriesApi,
  type UTCTimestamp,
  type WhitespaceData,
} from 'lightweight-charts';
import type { Interval } from './intervals.js';
import type { Legend } from './legend.js';
import type { Candle } from './market-data.js';

export const UP_COLOR = '#26a69a';
export const DOWN_COLOR = '#ef5350';
/** Logical bars from the left edge at which more history is asked for. */
const NEAR_EDGE_BARS = 10;

const seconds = (ms: number) => (ms / 1000) as UTCTimestamp;

function candleData(c: Candle): CandlestickData | WhitespaceData {
  if (c.open === null || c.high === null || c.low === null || c.close === null) return { time: seconds(c.time) };
  return { time: seconds(c.time), open: c.open, high: c.high, low: c.low, close: c.close };
}

function volumeData(c: Candle): HistogramData | WhitespaceData {
  if (c.volume === null) return { time: seconds(c.time) };
  const up = c.close !== null && c.open !== null && c.close >= c.open;
  return { time: seconds(c.time), value: c.volume, color: up ? 'rgba(38,166,154,0.45)' : 'rgba(239,83,80,0.45)' };
}

export interface ChartViewEvents {
  /** The view shows (or nearly shows) the oldest loaded bar. */
  nearLeftEdge(): void;
}

export class ChartView {
  private readonly chart: IChartApi;
  private readonly candles: ISeriesApi<'Candlestick'>;
  private readonly volume: ISeriesApi<'Histogram'>;
  private rows: readonly Candle[] = [];
  private interval: Interval = '1d';
  private hoveredTime: number | undefined;

  constructor(
    private readonly host: HTMLElement,
    private readonly legend: Legend,
    events: ChartViewEvents,
  ) {
    this.chart = createChart(host, {
      autoSize: true,
      layout: { background: { type: ColorType.Solid, color: '#ffffff' }, textColor: '#1f2933', panes: { separatorColor: '#d9dee3' } },
      grid: { vertLines: { color: '#eef1f4' }, horzLines: { color: '#eef1f4' } },
      crosshair: { mode: CrosshairMode.Normal },
      timeScale: { timeVisible: true, secondsVisible: false, borderColor: '#d9dee3' },
      rightPriceScale: { borderColor: '#d9dee3' },
      localization: { locale: 'en-US' },
    });
    this.candles = this.chart.addSeries(CandlestickSeries, {
      upColor: UP_COLOR,
      downColor: DOWN_COLOR,
      borderUpColor: UP_COLOR,
      borderDownColor: DOWN_COLOR,
      wickUpColor: UP_COLOR,
      wickDownColor: DOWN_COLOR,
    });
    this.volume = this.chart.addSeries(HistogramSeries, { priceFormat: { type: 'volume' }, priceLineVisible: false, lastValueVisible: false }, 1);
    const [main, lower] = this.chart.panes();
    main?.setStretchFactor(3);
    lower?.setStretchFactor(1);

    this.chart.subscribeCrosshairMove((param) => {
      this.hoveredTime = param.time === undefined || param.point === undefined ? undefined : (param.time as number) * 1000;
      this.renderLegend();
    });
    this.chart.timeScale().subscribeVisibleLogicalRangeChange((range) => {
      if (range !== null && this.rows.length > 0 && range.from < NEAR_EDGE_BARS) events.nearLeftEdge();
    });
  }

  /** Draws a new chart: the given bars, the newest at the right edge. */
  show(symbol: string, dataset: string | undefined, interval: Interval, rows: readonly Candle[]): void {
    this.interval = interval;
    this.legend.setTitle(symbol, dataset, interval);
    Object.assign(this.host.dataset, { symbol, dataset: dataset ?? '', interval });
    this.setRows(rows);
    this.chart.timeScale().fitContent();
    const visible = Math.min(rows.length, 150);
    if (rows.length > visible) this.chart.timeScale().setVisibleLogicalRange({ from: rows.length - visible, to: rows.length + 2 });
  }

  /** Replaces the bars (after older ones were loaded or one changed); the view stays where it is. */
  setRows(rows: readonly Candle[]): void {
    this.rows = rows;
    this.candles.setData(rows.map(candleData));
    this.volume.setData(rows.map(volumeData));
    this.describe();
    this.renderLegend();
  }

  /** Draws one new or changed bar. */
  update(rows: readonly Candle[], changed: Candle): void {
    const last = rows[rows.length - 1];
    if (last === undefined || changed.time < last.time) {
      this.setRows(rows);
      return;
    }
    this.rows = rows;
    this.candles.update(candleData(changed));
    this.volume.update(volumeData(changed));
    this.describe();
    this.renderLegend();
  }

  /** Empties the chart (before a new one loads, or when it cannot); `loading` names what comes next in the legend. */
  clear(loading?: { symbol: string; dataset: string | undefined }): void {
    if (loading === undefined) this.legend.clearTitle();
    else this.legend.setTitle(loading.symbol, loading.dataset, undefined);
    this.rows = [];
    this.candles.setData([]);
    this.volume.setData([]);
    this.describe();
    this.legend.show(undefined, undefined, this.interval, false);
  }

  private describe(): void {
    const first = this.rows[0];
    const last = this.rows[this.rows.length - 1];
    this.host.dataset.bars = String(this.rows.length);
    this.host.dataset.firstTs = first === undefined ? '' : new Date(first.time).toISOString();
    this.host.dataset.lastTs = last === undefined ? '' : new Date(last.time).toISOString();
  }

  private renderLegend(): void {
    const rows = this.rows;
    let index = rows.length - 1;
    if (this.hoveredTime !== undefined) {
      const found = rows.findIndex((c) => c.time === this.hoveredTime);
      if (found >= 0) index = found;
    }
    this.legend.show(rows[index], index > 0 ? rows[index - 1] : undefined, this.interval, this.hoveredTime !== undefined && index >= 0);
  }
}
