/**
 * The dataset picker and the symbol search: typing asks `instruments(dataset, prefix)` (debounced)
 * and lists the matches; a click or Enter on one opens it. Enter on a symbol that matches nothing
 * opens it anyway, so the chart says plainly that the dataset does not hold it.
 */
import { el } from './dom.js';
import type { GraphQLClient } from './graphql.js';
import { searchInstruments, type DatasetInfo } from './market-data.js';
import { messageOf, type Notices } from './notices.js';

const SUGGESTIONS = 20;
const DEBOUNCE_MS = 150;

export interface SymbolSearchEvents {
  datasetChanged(dataset: string | undefined): void;
  symbolPicked(symbol: string): void;
}

export class SymbolSearch {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private asked = 0;

  constructor(
    private readonly client: GraphQLClient,
    private readonly datasetSelect: HTMLSelectElement,
    private readonly input: HTMLInputElement,
    private readonly list: HTMLElement,
    private readonly notices: Notices,
    private readonly events: SymbolSearchEvents,
  ) {
    datasetSelect.addEventListener('change', () => {
      this.hideList();
      events.datasetChanged(this.dataset);
    });
    input.addEventListener('input', () => this.schedule());
    input.addEventListener('focus', () => this.schedule());
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') this.hideList();
      if (event.key !== 'Enter') return;
      event.preventDefault();
      const first = this.list.querySelector<HTMLButtonElement>('button[data-symbol]');
      const typed = input.value.trim();
      const exact = [...this.list.querySelectorAll<HTMLButtonElement>('button[data-symbol]')].find((b) => b.dataset.symbol?.toUpperCase() === typed.toUpperCase());
      const symbol = exact?.dataset.symbol ?? (typed !== '' ? typed.toUpperCase() : first?.dataset.symbol);
      if (symbol !== undefined) this.pick(symbol);
    });
    document.addEventListener('click', (event) => {
      if (!this.list.contains(event.target as Node) && event.target !== input) this.hideList();
    });
  }

  /** The picked dataset; undefined: the facade's default. */
  get dataset(): string | undefined {
    return this.datasetSelect.value || undefined;
  }

  /** Fills the picker: the default first, then every dataset (those without OHLC columns disabled). */
  setDatasets(datasets: readonly DatasetInfo[], selected: string | undefined): void {
    const options = [el('option', { text: 'default dataset', attrs: { value: '' } })];
    for (const d of datasets) {
      const option = el('option', { text: d.chartable ? `${d.name} (${d.rows.toLocaleString('en-US')} rows)` : `${d.name} (no OHLC columns)`, attrs: { value: d.name } });
      option.disabled = !d.chartable;
      options.push(option);
    }
    if (selected !== undefined && !datasets.some((d) => d.name === selected)) {
      options.push(el('option', { text: `${selected} (not listed)`, attrs: { value: selected } }));
    }
    this.datasetSelect.replaceChildren(...options);
    this.datasetSelect.value = selected ?? '';
  }

  showSymbol(symbol: string): void {
    this.input.value = symbol;
  }

  private pick(symbol: string): void {
    this.hideList();
    this.input.value = symbol;
    this.input.blur();
    this.events.symbolPicked(symbol);
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.search(), DEBOUNCE_MS);
  }

  private async search(): Promise<void> {
    const asked = ++this.asked;
    const typed = this.input.value.trim();
    const dataset = this.dataset;
    try {
      let symbols = await searchInstruments(this.client, dataset, typed, SUGGESTIONS);
      if (symbols.length === 0 && typed !== typed.toUpperCase()) symbols = await searchInstruments(this.client, dataset, typed.toUpperCase(), SUGGESTIONS);
      if (asked !== this.asked) return;
      this.notices.clear('search');
      const where = dataset ?? 'the default dataset';
      this.list.replaceChildren(
        ...(symbols.length === 0
          ? [el('li', { className: 'empty', text: typed === '' ? `${where} holds no instruments` : `no instrument starts with "${typed}" in ${where}` })]
          : symbols.map((symbol) =>
              el('li', {}, el('button', { text: symbol, attrs: { type: 'button', 'data-symbol': symbol }, on: { click: () => this.pick(symbol) } })),
            )),
      );
      this.list.hidden = false;
    } catch (err) {
      if (asked !== this.asked) return;
      this.hideList();
      this.notices.show('search', 'error', `could not search instruments: ${messageOf(err)}`);
    }
  }

  private hideList(): void {
    this.list.hidden = true;
  }
}
