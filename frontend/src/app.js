// The tickerflow dashboard: pick a ticker, see its recent history, then its live moves.
//
// Data flow: GET /api/tickers fills the chooser; choosing a ticker loads its history from
// GET /api/tickers/{name}/history, whose "position" says where it ends, then subscribes
// over the WebSocket /ws from that position: the server sends exactly the values that
// follow, then live ones (docs/api.md). After a reconnect the dashboard resumes from the
// last value it has, so nothing is missed or shown twice. The chart keeps a sliding window.
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
  position: null,        // time (RFC 3339) of the newest value shown: where to resume
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

function subscribe(name, position) {
  send(position ? { op: 'subscribe', tickers: [name], since: position } : { op: 'subscribe', tickers: [name] });
}

function onSocketMessage(event) {
  let message;
  try { message = JSON.parse(event.data); } catch { return; }
  if (message.type === 'error') {
    console.warn('server rejected a message:', message.code, message.error);
    return;
  }
  if (message.name !== state.ticker) return; // never another ticker's data
  if (message.type === 'gap') {
    // The server left values out (this tab fell behind): reload them from history.
    selectTicker(state.ticker);
    return;
  }
  if (message.type !== 'tick' || state.position === undefined) return; // history still loading
  appendPoint(toSeconds(message.time), message.value);
  state.position = message.time;
}

function connect() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(`${scheme}//${location.host}/ws`);
  state.socket = socket;
  socket.addEventListener('open', () => {
    state.reconnectAttempt = 0;
    setConnection('live');
    // After a reconnect: everything after the last value shown, then live values.
    if (state.ticker && state.position) send({ op: 'resume', positions: { [state.ticker]: state.position } });
    else if (state.ticker && state.position === null) subscribe(state.ticker, null);
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
  if (state.ticker && state.ticker !== name) send({ op: 'unsubscribe', tickers: [state.ticker] });
  state.ticker = name;
  state.times = [];
  state.values = [];
  state.position = undefined; // loading: live values wait for the history's position
  scheduleDraw();
  history.replaceState(null, '', `#${name}`);

  const from = new Date(Date.now() - windowSeconds() * 1000).toISOString();
  try {
    const answer = await fetchJson(`/api/tickers/${encodeURIComponent(name)}/history?from=${from}&limit=${MAX_POINTS}`);
    if (selection !== state.selection) return; // the user switched meanwhile
    state.times = answer.points.map((point) => toSeconds(point.time));
    state.values = answer.points.map((point) => point.value);
    state.position = answer.position; // null: nothing stored in the window yet
    showMessage('');
  } catch (error) {
    if (selection !== state.selection) return;
    state.position = null;
    showMessage(`Could not load history: ${error.message}`);
  }
  subscribe(name, state.position);
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
