// The ticker view's candlesticks in a real browser (Debian's chromium, playwright-core),
// against the real stack with the aggregator: half an hour of preloaded ticks become stored
// candles, the producer's live ticks the live minute.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser } from '../lib/browser.mjs';
import {
  requireServices, startStack, startDaemon, buildDir, produceLines, uniqueName, waitFor,
  test, waitForValue, bridgeProgress
} from '../lib/harness.mjs';

requireServices();

const MINUTE = 60000;
const PRELOADED_MINUTES = 30;
const TICKERS = ['ticker_00', 'ticker_01', 'ticker_02'];
let stack;
let aggregator;
let browser;

before(async () => {
  stack = await startStack('candles', { producer: false });
  // Half an hour, 40 minutes ago, one move a second per ticker: stored history and, once
  // the aggregator sees live ticks after it, closed candles.
  const t0 = Math.floor((Date.now() - 40 * MINUTE) / (5 * MINUTE)) * 5 * MINUTE;
  const values = new Map(TICKERS.map((name) => [name, 0]));
  const lines = [];
  for (let s = 0; s < PRELOADED_MINUTES * 60; s++) {
    for (const name of TICKERS) {
      values.set(name, values.get(name) + (Math.random() < 0.5 ? 1 : -1));
      lines.push(`${name}\t${JSON.stringify({ name, value: values.get(name), time: new Date(t0 + s * 1000).toISOString() })}`);
    }
  }
  await produceLines(stack.topic, lines);
  aggregator = startDaemon('aggregator', ['--group-id', uniqueName('group'), '--checkpoint-interval-ms', '200'],
    { env: stack.env, label: 'candles-aggregator' });
  await waitForValue('the preloaded ticks stored', () => stack.db.count('SELECT count(*) FROM records'), lines.length, { explain: () => bridgeProgress(stack.db, stack.topic), timeoutMs: 30000 });
  // The producer continues each ticker from its stored value; its ticks close the preloaded minutes.
  stack.daemons.producer = startDaemon('producer', ['--tickers', '3', '--interval-ms', '250'],
    { env: stack.env, label: 'candles-producer' });
  await waitFor('the preloaded minutes closed', () =>
    stack.db.count('SELECT count(*) FROM candles_1m') >= TICKERS.length * PRELOADED_MINUTES, { timeoutMs: 30000 });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (aggregator) assert.equal(await aggregator.stop(), 0);
  if (stack) assert.deepEqual(await stack.stop(), { bridge: 0, api: 0, producer: 0 });
});

async function openTicker(name) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 1100 } });
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
  await page.goto(`${stack.baseUrl}/#/ticker/${name}`);
  page.errors = errors;
  return page;
}

async function apiCandles(name, interval) {
  const from = new Date(Date.now() - 120 * 5 * MINUTE).toISOString();
  const response = await fetch(`${stack.baseUrl}/api/tickers/${name}/candles?interval=${interval}&from=${from}`);
  assert.equal(response.status, 200);
  return (await response.json()).candles;
}

// The page's buckets, as the API writes them.
function pageCandles(page) {
  return page.evaluate(() => window.tickerflow.candleView.candles().map((c) => ({ ...c, start: new Date(c.start).toISOString() })));
}

const key = (c) => [c.open, c.high, c.low, c.close, c.up_moves ?? c.up, c.down_moves ?? c.down, c.ticks].join(' ');

test('the ticker view draws the stored candles and moves, then the live minute', async () => {
  const page = await openTicker('ticker_00');
  await waitFor('the stored candles on the page', async () => (await pageCandles(page)).length >= PRELOADED_MINUTES,
    { timeoutMs: 15000 });
  const stored = await apiCandles('ticker_00', '1m');
  assert.ok(stored.length >= PRELOADED_MINUTES);
  const shown = new Map((await pageCandles(page)).map((c) => [c.start.replace('Z', '000Z'), c]));
  for (const candle of stored) {
    const onPage = shown.get(candle.start);
    assert.ok(onPage, `${candle.start} is drawn`);
    assert.equal(key(onPage), key(candle), `${candle.start}: the page's candle is the API's`);
  }

  // The live minute: merged in, its close the newest value of the line chart.
  await waitFor('the live minute, its close the last value shown', () => page.evaluate(() => {
    const last = window.tickerflow.candleView.candles().at(-1);
    return last?.live && last.ticks >= 3 && last.close === window.tickerflow.tickerView.values.at(-1);
  }), { timeoutMs: 15000 });

  // The volume chart holds each bucket's up moves and its down moves below the axis.
  const [candles, volume] = await page.evaluate(() => [window.tickerflow.candleView.candles(),
    window.tickerflow.candleView.volume.data]);
  assert.deepEqual(volume[1].slice(0, candles.length - 1), candles.slice(0, -1).map((c) => c.up));
  assert.deepEqual(volume[2].slice(0, candles.length - 1), candles.slice(0, -1).map((c) => -c.down));
  mkdirSync(join(buildDir, 'screenshots'), { recursive: true });
  await page.locator('#candles').screenshot({ path: join(buildDir, 'screenshots', 'candles.png') });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('other intervals are the API\'s buckets, the newest one with the live minute added', async () => {
  const page = await openTicker('ticker_01');
  await waitFor('1m candles', async () => (await pageCandles(page)).length >= PRELOADED_MINUTES, { timeoutMs: 15000 });
  await page.selectOption('#candle-interval', '5m');
  await waitFor('5-minute buckets', async () => {
    const candles = await pageCandles(page);
    return candles.length > 0 && candles.every((c) => Date.parse(c.start) % (5 * MINUTE) === 0);
  }, { timeoutMs: 15000 });
  const stored = await apiCandles('ticker_01', '5m');
  const shown = await pageCandles(page);
  const byStart = new Map(shown.map((c) => [c.start.replace('Z', '000Z'), c]));
  const preloaded = stored.filter((c) => Date.parse(c.start) < Date.now() - 15 * MINUTE);
  assert.ok(preloaded.length >= PRELOADED_MINUTES / 5, `${preloaded.length} preloaded buckets`);
  for (const candle of preloaded) assert.equal(key(byStart.get(candle.start)), key(candle), candle.start);
  // The live bucket: every stored minute of it plus the live minute, counted once.
  await waitFor('the live bucket adds up', async () => {
    const minutes = await apiCandles('ticker_01', '1m');
    const state = await page.evaluate(() => {
      const view = window.tickerflow.candleView;
      const last = view.candles().at(-1);
      const live = [...view.liveMinutes.values()].filter((m) => !view.storedMinutes.has(m.start));
      return { last, liveTicks: live.reduce((sum, m) => sum + m.ticks, 0) };
    });
    if (!state.last?.live) return false;
    const inBucket = minutes.filter((m) => Date.parse(m.start) >= state.last.start
      && Date.parse(m.start) < state.last.start + 5 * MINUTE);
    return state.last.ticks === inBucket.reduce((sum, m) => sum + m.ticks, 0) + state.liveTicks;
  }, { timeoutMs: 15000 });
  assert.deepEqual(page.errors, []);
  await page.close();
});
