// One ticker's candlesticks and up/down moves, below its line chart.
//
// Closed minutes come from GET /api/tickers/{name}/candles (the aggregator's candles_1m,
// rolled up to the chosen interval by the server); the current minute comes live over the
// WebSocket ("candles": true, docs/api.md) and is merged into the newest bucket until the
// aggregator has stored it: after each minute the view reloads what is stored.
import uPlot from './vendor/uPlot.esm.js';
import { fetchCandles } from './lib/api.js';

export const INTERVALS = { '1m': 60, '5m': 300, '15m': 900, '1h': 3600, '1d': 86400 };
const COUNT = 120;            // buckets shown
const STORED_AFTER_MS = 5000; // a minute is in candles_1m a few seconds after it ends
export const UP = '#1a9850';
export const DOWN = '#d73027';

export class CandleView {
  constructor(elements) {
    this.elements = elements;
    this.ticker = null;
    this.interval = '1m';
    this.selection = 0;
    this.stored = [];             // buckets from the server, oldest first
    this.storedMinutes = new Set(); // starts (ms) of the stored minutes of the newest buckets
    this.liveMinutes = new Map();   // start (ms) -> live candle not yet stored
    this.refreshTimer = null;
    this.drawQueued = false;

    const sync = { key: 'tickerflow-candles' };
    // Each bucket is drawn centred on its start; half a slot of room at either end.
    const x = { time: true, range: (u, min, max) => [min - this.slotSeconds() / 2, max + this.slotSeconds() / 2] };
    this.chart = new uPlot({
      ...this.size(0.62),
      scales: { x },
      series: [{ label: 'time' },
        ...['open', 'high', 'low', 'close'].map((label) => ({ label, paths: () => null, points: { show: false } }))],
      axes: [{}, {}],
      cursor: { sync, drag: { x: false, y: false } },
      hooks: { draw: [(u) => drawCandles(u, INTERVALS[this.interval])] },
    }, [[], [], [], [], []], elements.candles);
    this.volume = new uPlot({
      ...this.size(0.3),
      scales: { x },
      series: [{ label: 'time' },
        { label: 'up moves', stroke: UP, fill: `${UP}b0`, paths: uPlot.paths.bars({ size: [0.7, 60] }), points: { show: false } },
        { label: 'down moves', stroke: DOWN, fill: `${DOWN}b0`, paths: uPlot.paths.bars({ size: [0.7, 60] }), points: { show: false } }],
      axes: [{}, { values: (u, ticks) => ticks.map((v) => Math.abs(v)) }],
      cursor: { sync, drag: { x: false, y: false } },
    }, [[], [], []], elements.volume);
    window.addEventListener('resize', () => this.resize());
    elements.interval.addEventListener('change', () => this.setInterval(elements.interval.value));
  }

  slotSeconds() {
    return INTERVALS[this.interval];
  }

  size(share) {
    return { width: Math.max(300, this.elements.candles.clientWidth), height: Math.round(360 * share) + 60 };
  }

  resize() {
    this.chart.setSize(this.size(0.62));
    this.volume.setSize(this.size(0.3));
  }

  show(ticker) {
    this.ticker = ticker;
    this.elements.section.hidden = false;
    this.resize();
    this.load();
  }

  hide() {
    this.selection++;
    this.ticker = null;
    clearTimeout(this.refreshTimer);
    this.elements.section.hidden = true;
  }

  setInterval(interval) {
    if (!INTERVALS[interval]) return;
    this.interval = interval;
    this.elements.interval.value = interval;
    if (this.ticker) this.load();
  }

  // Reloads the stored buckets, and which minutes of the newest ones are stored (so a live
  // minute is counted once: either stored or live).
  async load() {
    const selection = ++this.selection;
    const ticker = this.ticker;
    const seconds = INTERVALS[this.interval];
    const now = Date.now();
    const bucketMs = seconds * 1000;
    const newestBucket = Math.floor(now / bucketMs) * bucketMs;
    const liveStarts = [...this.liveMinutes.keys()];
    const minutesFrom = Math.min(newestBucket, ...liveStarts);
    try {
      const [history, minutes] = await Promise.all([
        fetchCandles(ticker, { interval: this.interval, from: iso(newestBucket - (COUNT - 1) * bucketMs) }),
        this.interval === '1m' ? null : fetchCandles(ticker, { interval: '1m', from: iso(minutesFrom) }),
      ]);
      if (selection !== this.selection) return;
      this.stored = history.candles.map(toCandle);
      this.storedMinutes = new Set((minutes ?? history).candles.map((c) => Date.parse(c.start)));
      for (const start of this.liveMinutes.keys()) if (this.storedMinutes.has(start)) this.liveMinutes.delete(start);
      this.showStatus(this.stored.length ? '' : 'no closed minute in this range yet');
    } catch (error) {
      if (selection !== this.selection) return;
      this.showStatus(`Could not load candles: ${error.message}`);
    }
    this.scheduleDraw();
  }

  onMessage(message) {
    if (message.type !== 'candle' || message.name !== this.ticker) return;
    const start = Date.parse(message.start);
    const newest = Math.max(-Infinity, ...this.liveMinutes.keys());
    this.liveMinutes.set(start, toCandle(message));
    // Live minutes older than the last minute are kept only until a reload finds them stored.
    if (start > newest && this.liveMinutes.size > 1) {
      clearTimeout(this.refreshTimer);
      this.refreshTimer = setTimeout(() => this.load(), STORED_AFTER_MS);
    }
    this.scheduleDraw();
  }

  // The buckets to draw: the stored ones, with the live minutes not stored yet merged in.
  candles() {
    const bucketMs = INTERVALS[this.interval] * 1000;
    const buckets = new Map(this.stored.map((c) => [c.start, { ...c }]));
    const live = [...this.liveMinutes.entries()].filter(([start]) => !this.storedMinutes.has(start))
      .sort(([a], [b]) => a - b);
    for (const [start, minute] of live) {
      const bucket = Math.floor(start / bucketMs) * bucketMs;
      const into = buckets.get(bucket);
      if (!into) {
        buckets.set(bucket, { ...minute, start: bucket, live: true });
        continue;
      }
      into.high = Math.max(into.high, minute.high);
      into.low = Math.min(into.low, minute.low);
      into.close = minute.close; // live minutes are the newest of their bucket
      into.up += minute.up;
      into.down += minute.down;
      into.ticks += minute.ticks;
      into.live = true;
    }
    return [...buckets.values()].sort((a, b) => a.start - b.start).slice(-COUNT);
  }

  scheduleDraw() {
    if (this.drawQueued) return;
    this.drawQueued = true;
    requestAnimationFrame(() => {
      this.drawQueued = false;
      const candles = this.candles();
      const times = candles.map((c) => c.start / 1000);
      this.chart.setData([times, candles.map((c) => c.open), candles.map((c) => c.high), candles.map((c) => c.low),
        candles.map((c) => c.close)]);
      this.volume.setData([times, candles.map((c) => c.up), candles.map((c) => -c.down)]);
      this.elements.candles.classList.toggle('hidden-chart', candles.length === 0);
      this.elements.volume.classList.toggle('hidden-chart', candles.length === 0);
    });
  }

  showStatus(text) {
    this.elements.status.textContent = text;
  }
}

function toCandle(c) {
  return { start: Date.parse(c.start), open: c.open, high: c.high, low: c.low, close: c.close, up: c.up_moves,
    down: c.down_moves, ticks: c.ticks, live: c.type === 'candle' };
}

function iso(ms) {
  return new Date(ms).toISOString();
}

// Draws each bucket as a wick (low to high) and a body (open to close), green when it
// closed at or above its open, red below; a bucket fills 70% of its slot. The markets view
// draws its candlesticks with it too.
export function drawCandles(u, intervalSeconds) {
  const [times, opens, highs, lows, closes] = u.data;
  if (!times.length) return;
  const { ctx } = u;
  const slot = Math.abs(u.valToPos(times[0] + intervalSeconds, 'x', true) - u.valToPos(times[0], 'x', true));
  const body = Math.max(1, Math.round(slot * 0.7));
  ctx.save();
  ctx.beginPath();
  ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
  ctx.clip();
  for (let i = 0; i < times.length; i++) {
    const x = Math.round(u.valToPos(times[i], 'x', true));
    const [open, high, low, close] = [opens[i], highs[i], lows[i], closes[i]].map((v) => u.valToPos(v, 'y', true));
    ctx.fillStyle = ctx.strokeStyle = closes[i] >= opens[i] ? UP : DOWN;
    ctx.lineWidth = Math.max(1, Math.round(devicePixelRatio));
    ctx.beginPath();
    ctx.moveTo(x, high);
    ctx.lineTo(x, low);
    ctx.stroke();
    const top = Math.min(open, close);
    ctx.fillRect(x - body / 2, top, body, Math.max(1, Math.abs(close - open)));
  }
  ctx.restore();
}
