// The tickerflow dashboard: the market board (#/) and one ticker's view (#/ticker/NAME);
// the markets of real trades (#/markets) and one currency pair's view (#/market/BASE/QUOTE).
//
// The URL holds the whole state (view, ticker, period or range), so a view can be
// bookmarked and shared and the browser's back button works: every change of view is a
// new hash, and the hash alone decides what is shown (route()).
import { Board } from './board.js';
import { CandleView } from './candle-view.js';
import { TickerView } from './ticker-view.js';
import { LiveConnection } from './live.js';
import { MarketsBoard } from './markets.js';
import { MarketView } from './market-view.js';

const $ = (id) => document.getElementById(id);
const connection = $('connection');

const live = new LiveConnection({
  onState(state) {
    connection.dataset.state = state;
    connection.textContent = state;
  },
  onMessage(message) {
    if (message.type === 'tick') board.onTick(message);
    tickerView.onMessage(message);
    candleView.onMessage(message);
    marketView.onMessage(message);
    marketsBoard.onMessage(message);
  },
});

const board = new Board({
  section: $('board'), body: $('board-rows'), filter: $('filter'), period: $('period'), count: $('board-count'),
  status: $('board-status'), changeHeader: $('change-header'),
  sortButtons: [...document.querySelectorAll('#board thead button[data-sort]')],
}, live, { onOpen: (name) => { location.hash = tickerHash(name, {}); } });

const tickerView = new TickerView({
  section: $('ticker-view'), name: $('ticker-name'), value: $('last-value'), time: $('last-time'),
  chart: $('chart'), message: $('message'), range: $('range'), pause: $('pause'),
  customForm: $('custom-range'), from: $('from'), to: $('to'),
}, live);

const candleView = new CandleView({
  section: $('candles'), interval: $('candle-interval'), status: $('candle-status'), candles: $('candle-chart'),
  volume: $('volume-chart'),
});

const marketsBoard = new MarketsBoard({
  section: $('markets'), body: $('markets-rows'), count: $('markets-count'), status: $('markets-status'),
}, live, { onOpen: (pair) => { location.hash = `#/market/${pair.split('/').map(encodeURIComponent).join('/')}`; } });

const marketView = new MarketView({
  section: $('market-view'), name: $('market-name'), price: $('market-price'), time: $('market-time'),
  interval: $('market-interval'), status: $('market-status'), candles: $('market-candles'), volume: $('market-volume'),
  trades: $('market-trades'),
}, live);

// "#/ticker/NAME?range=1h" or "?from=...&to=..." (colons left readable in times).
function tickerHash(name, query) {
  const parameters = Object.entries(query).filter(([, value]) => value)
    .map(([key, value]) => `${key}=${encodeURIComponent(value).replaceAll('%3A', ':')}`);
  return `#/ticker/${encodeURIComponent(name)}${parameters.length ? `?${parameters.join('&')}` : ''}`;
}

// Reads the hash: { view: 'board', period } or { view: 'ticker', name, range, from, to }.
function parseHash() {
  const hash = location.hash.slice(1);
  const [path, query = ''] = hash.split('?');
  const parameters = Object.fromEntries(new URLSearchParams(query));
  const match = /^\/ticker\/(.+)$/.exec(path);
  if (match) return { view: 'ticker', name: decodeURIComponent(match[1]), ...parameters };
  if (path === '/markets') return { view: 'markets' };
  const market = /^\/market\/([^/]+)\/([^/]+)$/.exec(path);
  if (market) return { view: 'market', pair: `${decodeURIComponent(market[1])}/${decodeURIComponent(market[2])}`, ...parameters };
  if (path && !path.startsWith('/')) return { view: 'ticker', name: decodeURIComponent(path) }; // old #NAME links
  return { view: 'board', ...parameters };
}

function route() {
  const state = parseHash();
  for (const view of [board, tickerView, candleView, marketsBoard, marketView]) if (!view.elements.section.hidden) view.hide();
  $('nav-markets').toggleAttribute('aria-current', state.view === 'markets' || state.view === 'market');
  $('nav-tickers').toggleAttribute('aria-current', state.view === 'board' || state.view === 'ticker');
  if (state.view === 'ticker') {
    document.title = `${state.name} · tickerflow`;
    tickerView.show(state.name, state);
    candleView.show(state.name);
  } else if (state.view === 'markets') {
    document.title = 'markets · tickerflow';
    marketsBoard.show(); // watches every pair's trades live
  } else if (state.view === 'market') {
    document.title = `${state.pair} · tickerflow`;
    marketView.show(state.pair, state); // watches the pair's trades live
  } else {
    document.title = 'tickerflow';
    board.show(state.period);
  }
}

$('period').addEventListener('change', () => history.replaceState(null, '', `#/?period=${$('period').value}`));
$('range').addEventListener('change', () => {
  const range = $('range').value;
  if (range === 'custom') {
    $('custom-range').hidden = false;
    $('from').focus();
  } else {
    location.hash = tickerHash(tickerView.ticker, { range });
  }
});
$('custom-range').addEventListener('submit', (event) => {
  event.preventDefault();
  const iso = (input) => (input.value ? new Date(input.value).toISOString() : '');
  location.hash = tickerHash(tickerView.ticker, { from: iso($('from')), to: iso($('to')) });
});
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && !tickerView.elements.section.hidden) location.hash = '#/';
  if (event.key === 'Escape' && !marketView.elements.section.hidden) location.hash = '#/markets';
});
window.addEventListener('hashchange', route);

// For tests and debugging: the live objects, with the chart's own data.
window.tickerflow = { board, tickerView, candleView, marketsBoard, marketView, live, get chart() { return tickerView.chart; } };

route();
