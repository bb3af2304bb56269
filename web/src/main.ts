/**
 * The explorer page: wires the dataset picker and symbol search, the chart, the interval buttons,
 * the watchlists and the live feed together. With no input it opens the first instrument of the
 * default dataset; `?dataset=&symbol=&interval=` opens that chart. Anything that fails is said in
 * words on the page.
 */
import './style.css';

performance.mark('explorer:script-start');
import { ChartPanel } from './chart-panel.js';
import { ChartView } from './chart-view.js';
import { byId } from './dom.js';
import { GraphQLClient } from './graphql.js';
import { IntervalPicker } from './interval-picker.js';
import type { Interval } from './intervals.js';
import { Legend } from './legend.js';
import { LiveUpdates } from './live-updates.js';
import { firstInstrument, listDatasets, type InstrumentBounds } from './market-data.js';
import { Notices, messageOf } from './notices.js';
import { readSelection, writeSelection } from './page-state.js';
import { SymbolSearch } from './symbol-search.js';
import { WatchlistPanel } from './watchlist-panel.js';

const notices = new Notices(byId('notices'));
window.addEventListener('error', (event) => notices.show('page', 'error', `the page hit an error: ${event.message}`));
window.addEventListener('unhandledrejection', (event) => notices.show('page', 'error', `the page hit an error: ${messageOf(event.reason)}`));

const graphqlUrl = new URL('/graphql', window.location.href);
const client = new GraphQLClient(graphqlUrl.href);
const liveBadge = byId('live-status');
const live = new LiveUpdates(graphqlUrl.href.replace(/^http/, 'ws'), {
  connected: () => {
    notices.clear('live');
    liveBadge.textContent = 'live';
    liveBadge.dataset.state = 'connected';
  },
  unavailable: (message) => {
    notices.show('live', 'warning', `live updates unavailable: ${message}`);
    liveBadge.textContent = 'live updates off';
    liveBadge.dataset.state = 'unavailable';
  },
});

const legend = new Legend(byId('legend'));
const view = new ChartView(byId('chart'), legend, { nearLeftEdge: () => void panel.loadOlder() });
const panel = new ChartPanel(client, view, byId('chart-area'), byId('chart-message'), notices, live);
const intervals = new IntervalPicker(byId('intervals'), (interval) => {
  const symbol = panel.current?.symbol ?? readSelection().symbol;
  if (symbol !== undefined) void openChart(search.dataset, symbol, interval);
});
const search = new SymbolSearch(client, byId('dataset'), byId('symbol'), byId('suggestions'), notices, {
  datasetChanged: (dataset) => void openFirst(dataset),
  symbolPicked: (symbol) => void openChart(search.dataset, symbol, panel.current?.interval),
});
const watchlists = new WatchlistPanel(byId('watchlist-panel'), client, notices, live, {
  chart: (symbol) => void openChart(search.dataset, symbol, panel.current?.interval),
  chartedSymbol: () => panel.current?.symbol,
});

async function openChart(dataset: string | undefined, symbol: string, interval: Interval | undefined, known?: InstrumentBounds | null): Promise<void> {
  search.showSymbol(symbol);
  intervals.show(interval);
  writeSelection({ dataset, symbol, interval });
  watchlists.setDataset(dataset);
  const opened = await panel.open(dataset, symbol, interval, known);
  if (opened !== undefined) {
    intervals.show(opened.interval);
    writeSelection(opened);
  }
}

/** Opens the dataset's first instrument (its own fitting interval unless one is given). */
async function openFirst(dataset: string | undefined, interval?: Interval): Promise<void> {
  const where = dataset ?? 'the default dataset';
  let first: Awaited<ReturnType<typeof firstInstrument>>;
  try {
    first = await firstInstrument(client, dataset);
  } catch (err) {
    panel.fail(`could not load the instruments of ${where}: ${messageOf(err)}`);
    return;
  }
  if (first === undefined) {
    panel.fail(`${where} holds no instruments to chart`);
    return;
  }
  await openChart(dataset, first.symbol, interval, first.bounds);
}

const start = readSelection();
search.setDatasets([], start.dataset);
watchlists.setDataset(start.dataset);
const chartOpened = start.symbol !== undefined ? openChart(start.dataset, start.symbol, start.interval) : openFirst(start.dataset, start.interval);
// The chart's requests go first; the dataset list and the watchlists follow once it is drawn (or
// after a short while, should it be slow), so they do not compete with it for the first paint.
let restStarted = false;
const loadRest = () => {
  if (restStarted) return;
  restStarted = true;
  void listDatasets(client).then(
    (datasets) => {
      notices.clear('datasets');
      search.setDatasets(datasets, search.dataset);
    },
    (err: unknown) => notices.show('datasets', 'error', `could not load the list of datasets: ${messageOf(err)}`),
  );
  void watchlists.refreshUsers();
};
void chartOpened.finally(loadRest);
setTimeout(loadRest, 400);
