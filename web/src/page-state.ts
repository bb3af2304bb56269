/**
 * What the page shows, kept in the address (`?dataset=bars_1m&symbol=AAPL&interval=5m`) so a
 * reload or a shared link opens the same chart; the chosen user is remembered in localStorage.
 */
import { isInterval, type Interval } from './intervals.js';

export interface ChartSelection {
  /** undefined: the facade's default dataset. */
  dataset: string | undefined;
  symbol: string | undefined;
  interval: Interval | undefined;
}

const USER_KEY = 'flightdeck.explorer.userId';

export function readSelection(location: Location = window.location): ChartSelection {
  const params = new URLSearchParams(location.search);
  const interval = params.get('interval');
  return {
    dataset: params.get('dataset') || undefined,
    symbol: params.get('symbol')?.trim().toUpperCase() || undefined,
    interval: isInterval(interval) ? interval : undefined,
  };
}

export function writeSelection(selection: ChartSelection): void {
  const params = new URLSearchParams();
  if (selection.dataset !== undefined) params.set('dataset', selection.dataset);
  if (selection.symbol !== undefined) params.set('symbol', selection.symbol);
  if (selection.interval !== undefined) params.set('interval', selection.interval);
  const search = params.toString();
  history.replaceState(null, '', `${window.location.pathname}${search ? `?${search}` : ''}`);
}

export function rememberedUserId(): string | undefined {
  try {
    return localStorage.getItem(USER_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

export function rememberUserId(id: string | undefined): void {
  try {
    if (id === undefined) localStorage.removeItem(USER_KEY);
    else localStorage.setItem(USER_KEY, id);
  } catch {
    // Storage refused (private mode): the choice lasts until the reload.
  }
}
