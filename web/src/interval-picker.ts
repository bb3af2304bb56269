/** The interval buttons (1m … 1w); the pressed one is the chart's. */
import { el } from './dom.js';
import { INTERVALS, type Interval } from './intervals.js';

export class IntervalPicker {
  private readonly buttons = new Map<Interval, HTMLButtonElement>();

  constructor(host: HTMLElement, onPick: (interval: Interval) => void) {
    for (const interval of INTERVALS) {
      const button = el('button', { text: interval, attrs: { type: 'button', 'data-interval': interval, 'aria-pressed': 'false' }, on: { click: () => onPick(interval) } });
      this.buttons.set(interval, button);
      host.append(button);
    }
  }

  show(interval: Interval | undefined): void {
    for (const [value, button] of this.buttons) button.setAttribute('aria-pressed', String(value === interval));
  }
}
