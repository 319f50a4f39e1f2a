// One ticker: its history over a chosen range, then its live values on a sliding window.
//
// The history answer's "position" says where it ends; the live subscription continues from
// there, so the chart has every value once (docs/api.md). Ranges up to 5 minutes load raw
// points; longer ones are downsampled by the server (the last value of each bucket is
// drawn). A custom range with an end is a fixed view: no live values.
import uPlot from './vendor/uPlot.esm.js';
import { fetchHistory } from './lib/api.js';
import { isoSecondsAgo, toSeconds } from './lib/time.js';
import { lineColor } from './board.js';

const MAX_POINTS = 10000;         // raw points per view, and the bound of the live buffer
const DOWNSAMPLED_POINTS = 2000;  // buckets asked for on long ranges

export const RANGES = { '5m': 300, '1h': 3600, '1d': 86400, all: null };

export class TickerView {
  constructor(elements, live) {
    this.elements = elements;
    this.live = live;
    this.ticker = null;
    this.range = '5m';
    this.custom = null;       // { from, to } (RFC 3339) for a custom range
    this.selection = 0;       // bumps on every load; stale answers drop out
    this.times = [];
    this.values = [];
    this.position = undefined; // undefined: loading; null: nothing stored; else where to resume
    this.paused = false;
    this.drawQueued = false;
    this.chartTicker = null;   // whose values the chart holds

    this.chart = new uPlot({
      ...this.chartSize(),
      scales: { x: { time: true } },
      // The crosshair's legend: the exact value and time (to the microsecond) under the cursor.
      series: [{ label: 'time', value: (u, seconds) => (seconds == null ? '–' : exactTime(seconds)) },
        { label: 'value', stroke: lineColor(), width: 2 }],
      axes: [{}, {}],
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
    }, [[], []], elements.chart);
    window.addEventListener('resize', () => this.chart.setSize(this.chartSize()));
    elements.pause.addEventListener('click', () => this.setPaused(!this.paused));
  }

  chartSize() {
    return { width: Math.max(300, this.elements.chart.clientWidth), height: Math.min(360, Math.max(220, window.innerHeight - 320)) };
  }

  get windowSeconds() { return RANGES[this.range] ?? null; }
  get followsLive() { return !this.custom?.to; }

  async show(ticker, { range = '5m', from, to } = {}) {
    this.elements.section.hidden = false;
    this.chart.setSize(this.chartSize());
    this.ticker = ticker;
    this.range = from || to ? 'custom' : RANGES[range] !== undefined ? range : '5m';
    this.custom = this.range === 'custom' ? { from, to } : null;
    this.elements.name.textContent = ticker;
    this.elements.range.value = this.range;
    this.elements.customForm.hidden = this.range !== 'custom';
    if (this.custom) {
      this.elements.from.value = toLocalInput(from);
      this.elements.to.value = toLocalInput(to);
    }
    this.setPaused(false);
    await this.load();
  }

  hide() {
    this.selection++;
    this.ticker = null;
    this.elements.section.hidden = true;
  }

  async load() {
    const selection = ++this.selection;
    const ticker = this.ticker;
    this.times = [];
    this.values = [];
    this.position = undefined; // live values wait for the history's position
    this.elements.chart.classList.add('hidden-chart'); // now, not at the next frame
    this.live.watch(null);
    this.scheduleDraw();
    const seconds = this.windowSeconds;
    const query = this.custom ? { from: this.custom.from, to: this.custom.to, max_points: DOWNSAMPLED_POINTS }
      : seconds !== null && seconds <= 300 ? { from: isoSecondsAgo(seconds), limit: MAX_POINTS }
        : { from: seconds === null ? undefined : isoSecondsAgo(seconds), max_points: DOWNSAMPLED_POINTS };
    try {
      const answer = await fetchHistory(ticker, query);
      if (selection !== this.selection) return; // switched meanwhile
      const points = answer.points ?? answer.buckets.map((bucket) => ({ time: bucket.time, value: bucket.last }));
      this.times = points.map((point) => toSeconds(point.time));
      this.values = points.map((point) => point.value);
      this.position = answer.position;
      this.showMessage('');
    } catch (error) {
      if (selection !== this.selection) return;
      this.position = null;
      this.showMessage(`Could not load history: ${error.message}`);
    }
    if (this.followsLive) this.live.watch({ ticker, position: this.position });
    this.scheduleDraw();
  }

  onMessage(message) {
    if (message.name !== this.ticker || !this.followsLive) return; // never another ticker's data
    if (message.type === 'gap') {
      this.load(); // the server left values out (this tab fell behind): reload them
      return;
    }
    if (message.type !== 'tick' || this.position === undefined) return; // history still loading
    const time = toSeconds(message.time);
    if (this.times.length && time <= this.times.at(-1)) return; // shown already
    this.times.push(time);
    this.values.push(message.value);
    this.position = message.time;
    this.live.advance(this.ticker, this.position);
    this.scheduleDraw();
  }

  setPaused(paused) {
    this.paused = paused;
    this.elements.pause.textContent = paused ? 'Resume' : 'Pause';
    this.elements.pause.setAttribute('aria-pressed', String(paused));
    this.elements.pause.disabled = !this.followsLive;
    if (!paused) this.scheduleDraw();
  }

  // Drops points older than the window, then redraws at most once per animation frame.
  // Paused, values keep arriving (nothing is lost) but the chart stays as it is. While the
  // history loads, or when the range holds nothing, the chart is hidden rather than shown
  // empty or with the previous ticker's values; chartTicker says whose values it holds.
  scheduleDraw() {
    if (this.drawQueued) return;
    this.drawQueued = true;
    requestAnimationFrame(() => {
      this.drawQueued = false;
      const seconds = this.windowSeconds;
      let drop = 0;
      if (seconds !== null && this.followsLive) {
        const oldest = Date.now() / 1000 - seconds;
        while (drop < this.times.length - 1 && this.times[drop] < oldest) drop++;
      }
      drop = Math.max(drop, this.times.length - MAX_POINTS);
      if (drop > 0) {
        this.times.splice(0, drop);
        this.values.splice(0, drop);
      }
      const showing = this.position !== undefined && this.times.length > 0;
      if (showing && (!this.paused || this.chartTicker !== this.ticker)) {
        this.chart.setData([this.times, this.values]);
        this.chartTicker = this.ticker;
      }
      this.elements.chart.classList.toggle('hidden-chart', !showing);
      this.showLatest();
    });
  }

  showLatest() {
    const last = this.values.length - 1;
    this.elements.value.textContent = last >= 0 ? String(this.values[last]) : '–';
    this.elements.time.textContent = last >= 0 ? exactTime(this.times[last])
      : this.position === undefined ? 'loading…' : 'no data in this range';
  }

  showMessage(text) {
    this.elements.message.hidden = !text;
    this.elements.message.textContent = text || '';
  }
}

// Seconds (with microseconds) as RFC 3339 with 6 fractional digits.
function exactTime(seconds) {
  const microseconds = Math.round(seconds * 1e6);
  const text = new Date(Math.floor(microseconds / 1000)).toISOString();
  return `${text.slice(0, 23)}${String(microseconds % 1000).padStart(3, '0')}Z`;
}

// An RFC 3339 time as a datetime-local input value (local time, minutes).
function toLocalInput(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return new Date(date.getTime() - date.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}
