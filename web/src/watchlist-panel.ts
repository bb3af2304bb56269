/**
 * Watchlists from the user service: pick or create a user (remembered in this browser), create and
 * delete watchlists, add and remove symbols. Each row shows the symbol's latest close in the
 * chosen dataset and its change from the previous day's close; clicking a row charts it. Rows
 * follow live bars. When the user service or market data is down the panel says which, in words.
 */
import { el } from './dom.js';
import { formatChange, formatPrice } from './format.js';
import type { GraphQLClient } from './graphql.js';
import type { LiveUpdates } from './live-updates.js';
import { previousCloses } from './market-data.js';
import { messageOf, type Notices } from './notices.js';
import { rememberUserId, rememberedUserId } from './page-state.js';
import {
  addToWatchlist,
  createUser,
  createWatchlist,
  deleteWatchlist,
  listUsers,
  loadWatchlists,
  removeFromWatchlist,
  type UserWatchlists,
} from './user-data.js';

const LIVE_REFRESH_MS = 300;

export interface WatchlistEvents {
  chart(symbol: string): void;
  /** The symbol the chart shows, offered as a one-click add. */
  chartedSymbol(): string | undefined;
}

export class WatchlistPanel {
  private readonly userSelect = el('select', { attrs: { id: 'user-select', 'aria-label': 'user' } });
  private readonly lists = el('div', { className: 'watchlists', attrs: { id: 'watchlist-list' } });
  private readonly message = el('p', { className: 'panel-message', attrs: { id: 'watchlist-message' } });
  private readonly newWatchlist: HTMLFormElement;
  private dataset: string | undefined;
  private userId: string | undefined = rememberedUserId();
  private loaded = 0;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly root: HTMLElement,
    private readonly client: GraphQLClient,
    private readonly notices: Notices,
    private readonly live: LiveUpdates,
    private readonly events: WatchlistEvents,
  ) {
    this.userSelect.addEventListener('change', () => this.selectUser(this.userSelect.value || undefined));
    const name = el('input', { attrs: { id: 'new-user-name', placeholder: 'name', required: '', autocomplete: 'off' } });
    const email = el('input', { attrs: { id: 'new-user-email', placeholder: 'email', type: 'email', required: '', autocomplete: 'off' } });
    const newUser = el('form', { className: 'inline-form', attrs: { id: 'new-user' } }, name, email, el('button', { text: 'Create user', attrs: { type: 'submit' } }));
    newUser.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.act('could not create the user', async () => {
        const user = await createUser(this.client, name.value.trim(), email.value.trim());
        name.value = '';
        email.value = '';
        this.userId = user.id;
        rememberUserId(user.id);
        await this.refreshUsers();
      });
    });
    const listName = el('input', { attrs: { id: 'new-watchlist-name', placeholder: 'new watchlist', required: '', autocomplete: 'off' } });
    this.newWatchlist = el('form', { className: 'inline-form', attrs: { id: 'new-watchlist' } }, listName, el('button', { text: 'Create watchlist', attrs: { type: 'submit' } }));
    this.newWatchlist.addEventListener('submit', (event) => {
      event.preventDefault();
      const userId = this.userId;
      if (userId === undefined) return;
      void this.act('could not create the watchlist', async () => {
        await createWatchlist(this.client, userId, listName.value.trim());
        listName.value = '';
        await this.refreshWatchlists();
      });
    });
    root.replaceChildren(
      el('h2', { text: 'Watchlists' }),
      el('label', { className: 'field' }, 'User ', this.userSelect),
      el('details', { className: 'new-user' }, el('summary', { text: 'New user' }), newUser),
      this.newWatchlist,
      this.message,
      this.lists,
    );
  }

  /** Quotes follow the chart's dataset. */
  setDataset(dataset: string | undefined): void {
    if (dataset === this.dataset) return;
    this.dataset = dataset;
    if (this.userId !== undefined) void this.refreshWatchlists();
  }

  /** Loads the users (and the remembered user's watchlists). */
  async refreshUsers(): Promise<void> {
    let users;
    try {
      users = await listUsers(this.client);
    } catch (err) {
      this.fail(`could not load users: ${messageOf(err)}`);
      return;
    }
    this.notices.clear('watchlists');
    if (this.userId !== undefined && !users.some((u) => u.id === this.userId)) {
      this.userId = undefined;
      rememberUserId(undefined);
    }
    this.userSelect.replaceChildren(
      el('option', { text: users.length === 0 ? '— no users yet: create one —' : '— choose a user —', attrs: { value: '' } }),
      ...users.map((u) => el('option', { text: `${u.name} <${u.email}>`, attrs: { value: u.id } })),
    );
    this.userSelect.value = this.userId ?? '';
    await this.refreshWatchlists();
  }

  private selectUser(id: string | undefined): void {
    this.userId = id;
    rememberUserId(id);
    void this.refreshWatchlists();
  }

  private async refreshWatchlists(): Promise<void> {
    const asked = ++this.loaded;
    const userId = this.userId;
    this.newWatchlist.hidden = userId === undefined;
    if (userId === undefined) {
      this.lists.replaceChildren();
      this.setMessage('Choose or create a user to see watchlists.');
      this.live.watch('watchlists', this.dataset, [], () => undefined);
      return;
    }
    const dataset = this.dataset;
    let loaded: UserWatchlists | null;
    try {
      loaded = await loadWatchlists(this.client, userId, dataset);
    } catch (err) {
      if (asked === this.loaded) this.fail(`could not load watchlists: ${messageOf(err)}`);
      return;
    }
    if (asked !== this.loaded) return;
    if (loaded === null) {
      this.userId = undefined;
      rememberUserId(undefined);
      await this.refreshUsers();
      return;
    }
    this.notices.clear('watchlists');
    if (loaded.quotesFault !== undefined) this.notices.show('quotes', 'error', `could not load watchlist quotes: ${loaded.quotesFault}`);
    else this.notices.clear('quotes');
    this.setMessage(loaded.watchlists.length === 0 ? `${loaded.user.name} has no watchlists yet.` : '');
    const quotes = loaded.watchlists.flatMap((w) =>
      [...(w.latest ?? new Map())].flatMap(([symbol, q]) => (q === null ? [] : [{ symbol, latestMs: Date.parse(q.ts) }])),
    );
    let previous = new Map<string, number | null>();
    if (quotes.length > 0) {
      try {
        previous = await previousCloses(this.client, dataset, [...new Map(quotes.map((q) => [q.symbol, q])).values()]);
      } catch (err) {
        this.notices.show('quotes', 'error', `could not load previous closes: ${messageOf(err)}`);
      }
    }
    if (asked !== this.loaded) return;
    this.lists.replaceChildren(...loaded.watchlists.map((w) => this.renderWatchlist(w, previous)));
    this.live.watch('watchlists', dataset, loaded.watchlists.flatMap((w) => w.symbols), () => {
      clearTimeout(this.refreshTimer);
      this.refreshTimer = setTimeout(() => void this.refreshWatchlists(), LIVE_REFRESH_MS);
    });
  }

  private renderWatchlist(w: UserWatchlists['watchlists'][number], previous: Map<string, number | null>): HTMLElement {
    const rows = w.symbols.map((symbol) => {
      const quote = w.latest?.get(symbol);
      const close = quote === undefined ? 'unavailable' : quote === null ? 'no data' : formatPrice(quote.close);
      const change = formatChange(quote?.close, previous.get(symbol));
      const row = el(
        'tr',
        { className: 'watch-row', title: `chart ${symbol}`, attrs: { 'data-symbol': symbol, ...(quote?.close != null ? { 'data-close': String(quote.close) } : {}) } },
        el('td', { className: 'symbol', text: symbol }),
        el('td', { className: 'close', text: close }),
        el('td', { className: `change ${change.sign > 0 ? 'up' : change.sign < 0 ? 'down' : ''}`, text: change.text }),
        el(
          'td',
          {},
          el('button', {
            className: 'remove',
            text: '×',
            title: `remove ${symbol} from ${w.name}`,
            attrs: { type: 'button', 'aria-label': `remove ${symbol}` },
            on: {
              click: (event) => {
                event.stopPropagation();
                void this.act(`could not remove ${symbol}`, async () => {
                  await removeFromWatchlist(this.client, w.id, symbol);
                  await this.refreshWatchlists();
                });
              },
            },
          }),
        ),
      );
      row.addEventListener('click', () => this.events.chart(symbol));
      return row;
    });
    const symbolInput = el('input', { attrs: { placeholder: 'symbol', autocomplete: 'off', 'aria-label': `add a symbol to ${w.name}` } });
    const add = el('form', { className: 'inline-form add-symbol' }, symbolInput, el('button', { text: 'Add', attrs: { type: 'submit' } }));
    add.addEventListener('submit', (event) => {
      event.preventDefault();
      const symbol = symbolInput.value.trim().toUpperCase() || this.events.chartedSymbol();
      if (symbol === undefined) return;
      void this.act(`could not add ${symbol}`, async () => {
        await addToWatchlist(this.client, w.id, symbol);
        symbolInput.value = '';
        await this.refreshWatchlists();
      });
    });
    symbolInput.addEventListener('focus', () => {
      symbolInput.placeholder = this.events.chartedSymbol() ?? 'symbol';
    });
    const remove = el('button', {
      className: 'delete-watchlist',
      text: 'Delete',
      title: `delete the watchlist ${w.name}`,
      attrs: { type: 'button' },
      on: {
        click: () =>
          void this.act(`could not delete ${w.name}`, async () => {
            await deleteWatchlist(this.client, w.id);
            await this.refreshWatchlists();
          }),
      },
    });
    return el(
      'article',
      { className: 'watchlist', attrs: { 'data-watchlist-id': w.id, 'data-name': w.name } },
      el('header', {}, el('h3', { text: w.name }), remove),
      w.symbols.length === 0
        ? el('p', { className: 'panel-message', text: 'No symbols yet: add one below (empty adds the charted symbol).' })
        : el('table', {}, el('tbody', {}, ...rows)),
      add,
    );
  }

  private async act(what: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
      this.notices.clear('watchlists');
    } catch (err) {
      this.notices.show('watchlists', 'error', `${what}: ${messageOf(err)}`);
    }
  }

  private fail(text: string): void {
    this.notices.show('watchlists', 'error', text);
    this.setMessage('Watchlists unavailable.');
    this.lists.replaceChildren();
  }

  private setMessage(text: string): void {
    this.message.textContent = text;
    this.message.hidden = text === '';
  }
}
