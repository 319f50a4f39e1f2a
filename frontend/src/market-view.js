// One currency pair (#/market/BASE/QUOTE): its candlesticks with bought and sold volumes
// below, and its latest trades. Closed minutes come from GET /api/markets/{pair}/candles
// (the aggregator's candlesticks and volumes, rolled up by the server); the minutes not
// stored yet are built here from the pair's trades since the newest stored minute: those
// stored (GET .../trades) and those streamed over the WebSocket, which continues from the
// answer's last_offset, so every trade is counted once and the newest bucket moves as each
// comes. A trade whose `prev` is not the last one shown (a reconnect the server could not
// bridge, a gap) reloads over HTTP. The stored minutes are read again every ten seconds.
import uPlot from './vendor/uPlot.esm.js';
import { DOWN, INTERVALS, UP, drawCandles } from './candle-view.js';
import { fetchMarketCandles, fetchMarketTrades } from './lib/api.js';

const COUNT = 120;              // buckets shown
const REFRESH_MS = 10000;      // the aggregator closes a minute a few seconds after its end
const RECENT_TRADES = 15;       // rows of the trades table
const LIVE_TRADES_MAX = 1000;   // trades of the minutes not stored yet, per refresh

export class MarketView {
  constructor(elements, live) {
    this.elements = elements;
    this.live = live;
    this.streamed = [];     // trades from the WebSocket, by offset, not necessarily stored yet
    this.position = null;   // the offset of the newest trade shown: where the stream goes on
    this.watching = false;  // the stream was asked for
    this.pair = null;
    this.interval = '1m';
    this.stored = [];       // buckets from the server, oldest first; prices and volumes as text
    this.liveTrades = [];   // trades after the newest stored minute, oldest first
    this.recent = [];       // the newest trades, oldest first
    this.generation = 0;
    this.timer = null;

    const sync = { key: 'tickerflow-market' };
    const x = { time: true, range: (u, min, max) => [min - INTERVALS[this.interval] / 2, max + INTERVALS[this.interval] / 2] };
    this.chart = new uPlot({
      ...this.size(0.62),
      scales: { x },
      series: [{ label: 'time' },
        ...['open', 'high', 'low', 'close'].map((label) => ({ label, paths: () => null, points: { show: false } }))],
      axes: [{}, { size: 80 }],
      cursor: { sync, drag: { x: false, y: false } },
      hooks: { draw: [(u) => drawCandles(u, INTERVALS[this.interval])] },
    }, [[], [], [], [], []], elements.candles);
    this.volume = new uPlot({
      ...this.size(0.3),
      scales: { x },
      series: [{ label: 'time' },
        { label: 'bought', stroke: UP, fill: `${UP}b0`, paths: uPlot.paths.bars({ size: [0.7, 60] }), points: { show: false } },
        { label: 'sold', stroke: DOWN, fill: `${DOWN}b0`, paths: uPlot.paths.bars({ size: [0.7, 60] }), points: { show: false } }],
      axes: [{}, { size: 80, values: (u, ticks) => ticks.map((v) => Math.abs(v)) }],
      cursor: { sync, drag: { x: false, y: false } },
    }, [[], [], []], elements.volume);
    window.addEventListener('resize', () => this.resize());
    elements.interval.addEventListener('change', () => this.setInterval(elements.interval.value));
  }

  size(share) {
    return { width: Math.max(300, this.elements.candles.clientWidth), height: Math.round(360 * share) + 60 };
  }

  resize() {
    this.chart.setSize(this.size(0.62));
    this.volume.setSize(this.size(0.3));
  }

  show(pair, { interval } = {}) {
    this.pair = pair;
    this.stored = [];
    this.liveTrades = [];
    this.recent = [];
    this.streamed = [];
    this.position = null;
    this.watching = false;
    this.live.watch(null); // until the first answer says where the stream begins
    if (interval && INTERVALS[interval]) this.interval = interval;
    this.elements.interval.value = this.interval;
    this.elements.section.hidden = false;
    this.elements.name.textContent = pair;
    this.elements.price.textContent = '–';
    this.elements.time.textContent = '';
    this.resize();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.load(), REFRESH_MS);
    return this.load();
  }

  hide() {
    this.generation++;
    this.pair = null;
    this.live.watch(null);
    clearInterval(this.timer);
    this.elements.section.hidden = true;
  }

  setInterval(interval) {
    if (!INTERVALS[interval]) return;
    this.interval = interval;
    if (this.pair) this.load();
  }

  async load() {
    const generation = ++this.generation;
    const pair = this.pair;
    const bucketMs = INTERVALS[this.interval] * 1000;
    const newestBucket = Math.floor(Date.now() / bucketMs) * bucketMs;
    try {
      // The newest stored minute says where the live trades begin.
      const [history, minutes, recent] = await Promise.all([
        fetchMarketCandles(pair, { interval: this.interval, from: iso(newestBucket - (COUNT - 1) * bucketMs) }),
        fetchMarketCandles(pair, { interval: '1m', from: iso(Date.now() - 3 * 3600e3) }),
        fetchMarketTrades(pair, { limit: RECENT_TRADES }),
      ]);
      const storedUntil = minutes.candles.length ? minutes.candles[minutes.candles.length - 1].end : null;
      const live = storedUntil === null ? { trades: [] }
        : await fetchMarketTrades(pair, { from: storedUntil, limit: LIVE_TRADES_MAX });
      if (generation !== this.generation) return;
      this.stored = history.candles;
      this.storedUntilMs = storedUntil === null ? null : Date.parse(storedUntil);
      // The stored trades, and the streamed ones the database does not hold yet.
      const storedOffset = Math.max(recent.last_offset ?? -1, live.last_offset ?? -1);
      this.streamed = this.streamed.filter((t) => t.offset > storedOffset);
      this.liveTrades = mergeByOffset(live.trades, this.streamed).filter((t) => Date.parse(t.time) >= this.storedUntilMs);
      this.recent = mergeByOffset(recent.trades, this.streamed).slice(-RECENT_TRADES);
      if (!this.watching) {
        // The first answer: the stream goes on from its newest trade.
        this.position = storedOffset >= 0 ? storedOffset : null;
        this.watching = true;
        this.live.watch({ pair, position: this.position });
      }
      this.elements.status.textContent = this.stored.length || this.liveTrades.length ? '' : 'no closed minute yet';
    } catch (error) {
      if (generation !== this.generation) return;
      this.elements.status.textContent = `Could not load ${pair}: ${error.message}`;
    }
    this.render();
  }

  // A message of the WebSocket: a trade of this pair goes on from the last one shown, or (its
  // prev is another: something was missed) the view is loaded again over HTTP.
  onMessage(message) {
    if (message.pair !== this.pair || this.pair === null) return; // never another pair's data
    if (message.type === 'gap' || (message.type === 'trade' && this.position !== null && message.prev !== this.position)) {
      this.streamed = [];
      this.position = null;
      this.watching = false; // the next answer says where the stream begins again
      this.load();
      return;
    }
    if (message.type !== 'trade' || !this.watching || (this.position !== null && message.offset <= this.position)) return;
    this.position = message.offset;
    this.live.advance(this.pair, this.position);
    this.streamed.push(message);
    this.lastStreamed = message; // for tests and debugging
    if (this.streamed.length > LIVE_TRADES_MAX) this.streamed.shift();
    this.recent = [...this.recent, message].slice(-RECENT_TRADES);
    if (this.storedUntilMs === undefined || this.storedUntilMs === null || Date.parse(message.time) >= this.storedUntilMs) {
      this.liveTrades.push(message);
    }
    this.render();
  }

  // The buckets to draw, oldest first: the stored ones (exact text), with the trades of the
  // minutes not stored yet merged in (numbers, marked live).
  candles() {
    const bucketMs = INTERVALS[this.interval] * 1000;
    const buckets = new Map(this.stored.map((c) => [Date.parse(c.start), { ...c, live: false }]));
    for (const t of this.liveTrades) {
      const start = Math.floor(Date.parse(t.time) / bucketMs) * bucketMs;
      const price = Number(t.price), volume = Number(t.volume);
      let bucket = buckets.get(start);
      if (!bucket) {
        bucket = { start: iso(start), end: iso(start + bucketMs), open: price, high: price, low: price, close: price,
          trades: 0, volume_buy: 0, volume_sell: 0 };
        buckets.set(start, bucket);
      }
      bucket.high = Math.max(Number(bucket.high), price);
      bucket.low = Math.min(Number(bucket.low), price);
      bucket.close = price;
      bucket.trades = Number(bucket.trades) + 1;
      if (t.direction === 'buy') bucket.volume_buy = Number(bucket.volume_buy) + volume;
      else bucket.volume_sell = Number(bucket.volume_sell) + volume;
      bucket.live = true;
    }
    return [...buckets.entries()].sort(([a], [b]) => a - b).map(([, c]) => c).slice(-COUNT);
  }

  render() {
    const candles = this.candles();
    const times = candles.map((c) => Date.parse(c.start) / 1000);
    const number = (key) => candles.map((c) => Number(c[key]));
    this.chart.setData([times, number('open'), number('high'), number('low'), number('close')]);
    this.volume.setData([times, number('volume_buy'), candles.map((c) => -Number(c.volume_sell))]);
    this.elements.candles.classList.toggle('hidden-chart', candles.length === 0);
    this.elements.volume.classList.toggle('hidden-chart', candles.length === 0);
    const last = this.recent[this.recent.length - 1];
    if (last) {
      this.elements.price.textContent = last.price;
      this.elements.time.textContent = new Date(last.time).toLocaleTimeString();
    }
    const rows = [...this.recent].reverse().map((t) => {
      const row = document.createElement('tr');
      for (const [i, text] of [new Date(t.time).toLocaleTimeString(), t.direction, t.price, t.volume, t.exchange].entries()) {
        const cell = document.createElement('td');
        cell.textContent = text;
        if (i === 1) {
          cell.className = 'change';
          cell.dataset.direction = t.direction === 'buy' ? 'up' : 'down';
        }
        row.append(cell);
      }
      return row;
    });
    this.elements.trades.replaceChildren(...rows);
  }
}

// Trades of both lists, once each (by offset; a trade stored before version 5 has none),
// in the order they happened.
function mergeByOffset(stored, streamed) {
  const seen = new Set(stored.map((t) => t.offset).filter((o) => o !== null && o !== undefined));
  const merged = [...stored, ...streamed.filter((t) => !seen.has(t.offset))];
  return merged.sort((a, b) => Date.parse(a.time) - Date.parse(b.time) || (a.offset ?? 0) - (b.offset ?? 0));
}

function iso(ms) {
  return new Date(ms).toISOString();
}
