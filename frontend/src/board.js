// The market board: every ticker's latest value, its change over a chosen period and a
// sparkline, updated live, filterable and sortable. Live ticks only mark rows dirty; the
// DOM and the sparklines are updated once per animation frame.
import uPlot from './vendor/uPlot.esm.js';
import { fetchHistory, fetchTickers, forEachLimited } from './lib/api.js';
import { describeSeconds, isoSecondsAgo, toSeconds } from './lib/time.js';

const SPARK_POINTS = 120;          // per ticker and period: the sparkline's resolution
const RESORT_INTERVAL_MS = 1000;   // rows move at most once a second: readable while live
const REFRESH_INTERVAL_MS = 60000; // period starts move on: reload references this often

export function lineColor() {
  return getComputedStyle(document.documentElement).getPropertyValue('--line').trim() || '#1f6feb';
}

export class Board {
  constructor(elements, live, { onOpen }) {
    this.elements = elements;
    this.live = live;
    this.onOpen = onOpen;
    this.rows = new Map();    // name -> row (see addRow)
    this.dirty = new Set();
    this.frameQueued = false;
    this.sort = { key: 'name', descending: false };
    this.lastSortMs = 0;
    this.generation = 0;      // bumps on every (re)load: stale answers drop out
    this.active = false;

    elements.filter.addEventListener('input', () => this.applyFilter());
    elements.period.addEventListener('change', () => this.loadPeriod());
    for (const button of elements.sortButtons) {
      button.addEventListener('click', () => this.sortBy(button.dataset.sort));
    }
  }

  get periodSeconds() { return Number(this.elements.period.value); }

  async show(period) {
    if (period && [...this.elements.period.options].some((o) => o.value === period)) this.elements.period.value = period;
    this.active = true;
    this.elements.section.hidden = false;
    this.live.watch({ all: true });
    clearInterval(this.refreshTimer);
    this.refreshTimer = setInterval(() => this.loadPeriod(), REFRESH_INTERVAL_MS);
    await this.loadTickers();
  }

  hide() {
    this.active = false;
    this.generation++;
    clearInterval(this.refreshTimer);
    this.elements.section.hidden = true;
  }

  async loadTickers() {
    const generation = ++this.generation;
    try {
      const { tickers } = await fetchTickers();
      if (generation !== this.generation) return;
      for (const ticker of tickers) {
        const row = this.rows.get(ticker.name) ?? this.addRow(ticker.name);
        this.update(row, toSeconds(ticker.time), ticker.value);
      }
      this.elements.status.textContent = tickers.length ? '' : 'No ticker history yet: waiting for the first values…';
      this.applyFilter();
      this.resort(true);
      await this.loadPeriod();
    } catch (error) {
      this.elements.status.textContent = `Could not load tickers: ${error.message}; retrying…`;
      setTimeout(() => this.active && generation === this.generation && this.loadTickers(), 2000);
    }
  }

  // Each ticker's value at the period's start (the reference of "change") and its sparkline.
  async loadPeriod() {
    const generation = ++this.generation;
    const period = this.periodSeconds;
    this.elements.changeHeader.textContent = `Change (${describeSeconds(period)})`;
    const from = isoSecondsAgo(period);
    await forEachLimited([...this.rows.values()], 4, async (row) => {
      const [before, spark] = await Promise.all([
        fetchHistory(row.name, { to: from, limit: 1 }),
        fetchHistory(row.name, { from, max_points: SPARK_POINTS }),
      ]);
      if (generation !== this.generation) return;
      // No value before the period: the ticker started within it, from its first value.
      row.reference = before.points.length ? before.points[0].value : spark.buckets[0]?.last ?? row.value;
      row.sparkTimes = spark.buckets.map((bucket) => toSeconds(bucket.time));
      row.sparkValues = spark.buckets.map((bucket) => bucket.last);
      this.markDirty(row);
    });
    if (generation === this.generation) this.resort(true);
  }

  addRow(name) {
    const tr = document.createElement('tr');
    tr.dataset.name = name;
    tr.innerHTML = `<th scope="row"><a></a></th><td class="value"></td><td class="change"></td><td class="spark"></td>`;
    const link = tr.querySelector('a');
    link.textContent = name;
    link.href = `#/ticker/${encodeURIComponent(name)}`;
    tr.addEventListener('click', (event) => { if (event.target !== link) this.onOpen(name); });
    const row = { name, tr, value: null, time: 0, reference: null, sparkTimes: [], sparkValues: [], spark: null };
    row.spark = new uPlot({
      width: 120, height: 32, legend: { show: false }, cursor: { show: false }, select: { show: false },
      scales: { x: { time: false } }, axes: [{ show: false }, { show: false }],
      series: [{}, { stroke: lineColor(), width: 1.5, points: { show: false } }],
    }, [[], []], tr.querySelector('.spark'));
    this.rows.set(name, row);
    this.elements.body.append(tr);
    return row;
  }

  // A live value for the board (from the WebSocket).
  onTick(message) {
    if (!this.active) return;
    const row = this.rows.get(message.name) ?? this.addRow(message.name);
    this.update(row, toSeconds(message.time), message.value);
  }

  update(row, time, value) {
    if (time < row.time) return;
    row.time = time;
    row.value = value;
    // The sparkline keeps SPARK_POINTS steps over the period: a new point per step, else
    // the newest point moves (bounded however fast ticks come).
    const step = this.periodSeconds / SPARK_POINTS;
    const last = row.sparkTimes.length - 1;
    if (last >= 0 && time - row.sparkTimes[last] < step) row.sparkValues[last] = value;
    else { row.sparkTimes.push(time); row.sparkValues.push(value); }
    const oldest = Date.now() / 1000 - this.periodSeconds;
    while (row.sparkTimes.length > 1 && row.sparkTimes[0] < oldest) { row.sparkTimes.shift(); row.sparkValues.shift(); }
    this.markDirty(row);
  }

  markDirty(row) {
    this.dirty.add(row);
    if (this.frameQueued) return;
    this.frameQueued = true;
    requestAnimationFrame(() => this.draw());
  }

  draw() {
    this.frameQueued = false;
    for (const row of this.dirty) {
      const cells = row.tr.children;
      cells[1].textContent = row.value ?? '–';
      const change = row.reference === null || row.value === null ? null : row.value - row.reference;
      cells[2].textContent = change === null ? '–' : change > 0 ? `+${change}` : String(change);
      cells[2].dataset.direction = change > 0 ? 'up' : change < 0 ? 'down' : 'flat';
      if (!row.tr.hidden) row.spark.setData([row.sparkTimes, row.sparkValues]);
    }
    this.dirty.clear();
    this.resort(false);
  }

  change(row) { return row.reference === null || row.value === null ? -Infinity : row.value - row.reference; }

  sortBy(key) {
    this.sort = { key, descending: this.sort.key === key ? !this.sort.descending : key !== 'name' };
    for (const button of this.elements.sortButtons) {
      const th = button.closest('th');
      th.setAttribute('aria-sort', button.dataset.sort === key ? (this.sort.descending ? 'descending' : 'ascending') : 'none');
    }
    this.resort(true);
  }

  resort(now) {
    if (!now && (this.sort.key === 'name' || Date.now() - this.lastSortMs < RESORT_INTERVAL_MS)) return;
    this.lastSortMs = Date.now();
    const { key, descending } = this.sort;
    const value = key === 'name' ? (row) => row.name : key === 'value' ? (row) => row.value ?? -Infinity : (row) => this.change(row);
    const rows = [...this.rows.values()].sort((a, b) => {
      const [x, y] = [value(a), value(b)];
      const order = x < y ? -1 : x > y ? 1 : a.name < b.name ? -1 : 1;
      return descending ? -order : order;
    });
    // Moving only rows that are out of place keeps the DOM work small.
    rows.forEach((row, index) => {
      if (this.elements.body.children[index] !== row.tr) this.elements.body.insertBefore(row.tr, this.elements.body.children[index]);
    });
  }

  applyFilter() {
    const text = this.elements.filter.value.trim().toLowerCase();
    let shown = 0;
    for (const row of this.rows.values()) {
      row.tr.hidden = text !== '' && !row.name.toLowerCase().includes(text);
      if (!row.tr.hidden) { shown++; this.markDirty(row); }
    }
    this.elements.count.textContent = `${shown} of ${this.rows.size} tickers`;
  }
}
