// The tickerflow dashboard: the market board (#/) and one ticker's view (#/ticker/NAME).
//
// The URL holds the whole state (view, ticker, period or range), so a view can be
// bookmarked and shared and the browser's back button works: every change of view is a
// new hash, and the hash alone decides what is shown (route()).
import { Board } from './board.js';
import { CandleView } from './candle-view.js';
import { TickerView } from './ticker-view.js';
import { LiveConnection } from './live.js';

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
  if (path && !path.startsWith('/')) return { view: 'ticker', name: decodeURIComponent(path) }; // old #NAME links
  return { view: 'board', ...parameters };
}

function route() {
  const state = parseHash();
  if (state.view === 'ticker') {
    board.hide();
    document.title = `${state.name} · tickerflow`;
    tickerView.show(state.name, state);
    candleView.show(state.name);
  } else {
    tickerView.hide();
    candleView.hide();
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
});
window.addEventListener('hashchange', route);

// For tests and debugging: the live objects, with the chart's own data.
window.tickerflow = { board, tickerView, candleView, live, get chart() { return tickerView.chart; } };

route();
