// The tickerflow dashboard: pick a ticker, see its recent history, then its live moves.
//
// Data flow: GET /api/tickers fills the chooser; choosing a ticker subscribes over the
// WebSocket /ws first (buffering live ticks), then loads history from
// GET /api/tickers/{name}/history and merges the buffered ticks newer than it, so the
// hand-over from history to live has no hole. The chart keeps a sliding time window.
import uPlot from './vendor/uPlot.esm.js';

const MAX_POINTS = 10000;          // also the history request limit
const RECONNECT_DELAYS_MS = [500, 1000, 2000, 5000];

const elements = {
  ticker: document.getElementById('ticker'),
  window: document.getElementById('window'),
  connection: document.getElementById('connection'),
  name: document.getElementById('ticker-name'),
  value: document.getElementById('last-value'),
  time: document.getElementById('last-time'),
  chart: document.getElementById('chart'),
  message: document.getElementById('message'),
};

const state = {
  ticker: null,          // the ticker on screen
  selection: 0,          // bumps on every switch; stale answers compare and drop out
  times: [],             // seconds since the epoch (float, microsecond precision)
  values: [],
  pending: null,         // live ticks that arrived before the history answer, or null
  socket: null,
  reconnectAttempt: 0,
  drawQueued: false,
};

function showMessage(text) {
  elements.message.hidden = !text;
  elements.message.textContent = text || '';
}

function setConnection(status) {
  elements.connection.dataset.state = status;
  elements.connection.textContent = status;
}

// ---- chart ------------------------------------------------------------------------

function chartSize() {
  return { width: Math.max(320, elements.chart.clientWidth), height: 360 };
}

const chart = new uPlot({
  ...chartSize(),
  scales: { x: { time: true } },
  series: [
    {},
    { label: 'value', stroke: getComputedStyle(document.documentElement).getPropertyValue('--line').trim() || '#1f6feb', width: 2 },
  ],
  axes: [{}, {}],
  legend: { live: true },
}, [[], []], elements.chart);

window.addEventListener('resize', () => chart.setSize(chartSize()));

function windowSeconds() {
  return Number(elements.window.value);
}

// Drops points older than the window, then redraws at most once per animation frame.
function scheduleDraw() {
  if (state.drawQueued) return;
  state.drawQueued = true;
  requestAnimationFrame(() => {
    state.drawQueued = false;
    const oldest = Date.now() / 1000 - windowSeconds();
    let drop = 0;
    while (drop < state.times.length - 1 && state.times[drop] < oldest) drop++;
    if (state.times.length - drop > MAX_POINTS) drop = state.times.length - MAX_POINTS;
    if (drop > 0) {
      state.times.splice(0, drop);
      state.values.splice(0, drop);
    }
    chart.setData([state.times, state.values]);
    showLatest();
  });
}

function showLatest() {
  const last = state.values.length - 1;
  elements.name.textContent = state.ticker ?? '–';
  elements.value.textContent = last >= 0 ? String(state.values[last]) : '–';
  elements.time.textContent = last >= 0 ? new Date(state.times[last] * 1000).toISOString() : 'no data yet';
}

function toSeconds(isoTime) {
  // Date keeps milliseconds; the microseconds are added back so close ticks stay ordered.
  const match = /\.(\d{3})(\d{0,3})/.exec(isoTime);
  const extra = match && match[2] ? Number(match[2].padEnd(3, '0')) / 1e6 : 0;
  return Date.parse(isoTime) / 1000 + extra;
}

function appendPoint(time, value) {
  const last = state.times.length - 1;
  if (last >= 0 && time <= state.times[last]) return; // already shown (history overlap)
  state.times.push(time);
  state.values.push(value);
  scheduleDraw();
}

// ---- live updates -------------------------------------------------------------------

function send(message) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(message));
}

function onSocketMessage(event) {
  let message;
  try { message = JSON.parse(event.data); } catch { return; }
  if (message.type === 'error') {
    console.warn('server rejected a message:', message.error);
    return;
  }
  if (message.type !== 'tick' || message.name !== state.ticker) return; // never another ticker's data
  const time = toSeconds(message.time);
  if (state.pending) state.pending.push([time, message.value]);
  else appendPoint(time, message.value);
}

function connect() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(`${scheme}//${location.host}/ws`);
  state.socket = socket;
  socket.addEventListener('open', () => {
    state.reconnectAttempt = 0;
    setConnection('live');
    // After a reconnect, reload so values missed while away are filled from history.
    if (state.ticker) selectTicker(state.ticker);
  });
  socket.addEventListener('message', onSocketMessage);
  socket.addEventListener('close', () => {
    if (state.socket !== socket) return;
    const delay = RECONNECT_DELAYS_MS[Math.min(state.reconnectAttempt, RECONNECT_DELAYS_MS.length - 1)];
    state.reconnectAttempt++;
    setConnection(state.reconnectAttempt > RECONNECT_DELAYS_MS.length ? 'offline' : 'reconnecting');
    setTimeout(connect, delay);
  });
}

// ---- selection ------------------------------------------------------------------------

async function fetchJson(url) {
  const response = await fetch(url, { cache: 'no-store' });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

async function selectTicker(name) {
  const selection = ++state.selection;
  if (state.ticker && state.ticker !== name) send({ op: 'unsubscribe', ticker: state.ticker });
  state.ticker = name;
  state.times = [];
  state.values = [];
  state.pending = [];
  scheduleDraw();
  history.replaceState(null, '', `#${name}`);
  send({ op: 'subscribe', ticker: name });

  const from = new Date(Date.now() - windowSeconds() * 1000).toISOString();
  try {
    const answer = await fetchJson(`/api/tickers/${encodeURIComponent(name)}/history?from=${from}&limit=${MAX_POINTS}`);
    if (selection !== state.selection) return; // the user switched meanwhile
    state.times = answer.points.map((point) => toSeconds(point.time));
    state.values = answer.points.map((point) => point.value);
    showMessage('');
  } catch (error) {
    if (selection !== state.selection) return;
    showMessage(`Could not load history: ${error.message}`);
  }
  const buffered = state.pending;
  state.pending = null;
  for (const [time, value] of buffered) appendPoint(time, value);
  scheduleDraw();
}

async function loadTickers() {
  try {
    const { tickers } = await fetchJson('/api/tickers');
    if (tickers.length === 0) {
      showMessage('No ticker history yet: waiting for the first values…');
      setTimeout(loadTickers, 2000);
      return;
    }
    showMessage('');
    elements.ticker.replaceChildren(...tickers.map(({ name }) => new Option(name, name)));
    elements.ticker.disabled = false;
    const wanted = decodeURIComponent(location.hash.slice(1));
    const initial = tickers.some((t) => t.name === wanted) ? wanted : tickers[0].name;
    elements.ticker.value = initial;
    selectTicker(initial);
  } catch (error) {
    showMessage(`Could not load tickers: ${error.message}; retrying…`);
    setTimeout(loadTickers, 2000);
  }
}

elements.ticker.addEventListener('change', () => selectTicker(elements.ticker.value));
elements.window.addEventListener('change', () => state.ticker && selectTicker(state.ticker));

// For tests and debugging: the chart's own data, not a copy.
window.tickerflow = { state, chart };

connect();
loadTickers();
