/**
 * The crosshair legend: symbol, interval, the hovered bar's time and OHLCV and its change from the
 * bar before; the newest bar when nothing is hovered. Each value also sits in a `data-*` attribute
 * (the exact number the server sent), so the text can be rounded for reading without losing it.
 */
import { el } from './dom.js';
import { formatChange, formatPrice, formatTime, formatVolume } from './format.js';
import type { Interval } from './intervals.js';
import type { Candle } from './market-data.js';

const FIELDS = ['open', 'high', 'low', 'close', 'volume'] as const;
const LABELS: Record<(typeof FIELDS)[number], string> = { open: 'O', high: 'H', low: 'L', close: 'C', volume: 'V' };

export class Legend {
  private readonly title = el('span', { className: 'legend-title' });
  private readonly time = el('span', { className: 'legend-time' });
  private readonly values = new Map<(typeof FIELDS)[number], HTMLElement>();
  private readonly change = el('span', { className: 'legend-change' });

  constructor(readonly root: HTMLElement) {
    root.replaceChildren(this.title, this.time);
    for (const field of FIELDS) {
      const value = el('span', { className: 'legend-value', attrs: { 'data-field': field } });
      this.values.set(field, value);
      root.append(el('span', { className: 'legend-item' }, el('span', { className: 'legend-label', text: LABELS[field] }), value));
    }
    root.append(this.change);
  }

  setTitle(symbol: string, dataset: string | undefined, interval: Interval | undefined): void {
    this.title.textContent = [symbol, interval, dataset ?? 'default dataset'].filter((part) => part !== undefined).join(' · ');
  }

  clearTitle(): void {
    this.title.textContent = '';
  }

  /** Shows `candle` (and its change from `previous`); undefined empties the values. */
  show(candle: Candle | undefined, previous: Candle | undefined, interval: Interval, hovered: boolean): void {
    this.root.dataset.hovered = String(hovered);
    if (candle === undefined) {
      delete this.root.dataset.ts;
      this.time.textContent = '';
      for (const value of this.values.values()) {
        value.textContent = '—';
        delete value.dataset.value;
      }
      this.change.textContent = '';
      return;
    }
    this.root.dataset.ts = new Date(candle.time).toISOString();
    this.time.textContent = formatTime(candle.time, interval === '1d' || interval === '1w');
    for (const field of FIELDS) {
      const value = this.values.get(field)!;
      const number = candle[field];
      value.textContent = field === 'volume' ? formatVolume(number) : formatPrice(number);
      if (number === null) delete value.dataset.value;
      else value.dataset.value = String(number);
    }
    const change = formatChange(candle.close, previous?.close);
    this.change.textContent = change.text;
    this.change.className = `legend-change ${change.sign > 0 ? 'up' : change.sign < 0 ? 'down' : ''}`;
  }
}
