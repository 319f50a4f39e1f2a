// The dashboard in a real browser: Debian's chromium, headless, driven by playwright-core,
// against the real stack (producer, Kafka, bridge, PostgreSQL, API server).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { requireServices, startStack, buildDir, waitFor } from '../lib/harness.mjs';

requireServices();

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const screenshotDir = join(buildDir, 'screenshots');
let stack;
let browser;

before(async () => {
  stack = await startStack('browser', { tickers: 12, intervalMs: 250 });
  await waitFor('history for every ticker', () => stack.db.count('SELECT count(DISTINCT name) FROM records') === 12);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync', '--disable-quic'],
  });
});

after(async () => {
  await browser?.close();
  if (stack) assert.deepEqual(await stack.stop(), { bridge: 0, api: 0, producer: 0 });
});

test('pick a ticker, see its history, then watch the chart\'s last value change', async () => {
  const page = await browser.newPage({ viewport: { width: 1200, height: 720 } });
  const errors = [];
  const foreignRequests = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (!['127.0.0.1', 'localhost'].includes(url.hostname)) foreignRequests.push(request.url());
  });

  await page.goto(stack.baseUrl);
  await page.waitForFunction(() => document.querySelectorAll('#ticker option').length === 12);
  await page.waitForFunction(() => document.getElementById('connection').dataset.state === 'live');
  await page.selectOption('#ticker', 'ticker_07');

  // The chart's own data (uPlot's), not a copy: history first.
  const chartData = () => page.evaluate(() => {
    const [times, values] = window.tickerflow.chart.data;
    return { ticker: window.tickerflow.state.ticker, times: [...times], values: [...values] };
  });
  await waitFor('history on the chart', async () => (await chartData()).values.length >= 3);
  const first = await chartData();
  assert.equal(first.ticker, 'ticker_07');

  // The history shown is the stored history of ticker_07.
  const stored = stack.db.query(`SELECT value FROM records WHERE name = 'ticker_07' ORDER BY time, id`).map(([v]) => Number(v));
  const shownPrefix = first.values.slice(0, Math.min(3, first.values.length));
  const storedText = stored.join(',');
  assert.ok(storedText.includes(shownPrefix.join(',')), `chart values ${shownPrefix} come from records`);

  // Then live: the chart's last value changes (each move is one step up or down).
  const changed = await waitFor('the last value to change', async () => {
    const now = await chartData();
    return now.times.at(-1) > first.times.at(-1) && now.values.at(-1) !== first.values.at(-1) ? now : null;
  }, { timeoutMs: 15000 });
  const values = changed.values;
  for (let i = 1; i < values.length; i++) assert.equal(Math.abs(values[i] - values[i - 1]), 1, 'consecutive points differ by 1');
  await waitFor('the headline value to show the last point', async () =>
    (await page.textContent('#last-value')) === String((await chartData()).values.at(-1)));

  // Switching tickers never shows the old ticker's values.
  await page.selectOption('#ticker', 'ticker_03');
  await waitFor('ticker_03 on the chart', async () => {
    const now = await chartData();
    return now.ticker === 'ticker_03' && now.values.length >= 2;
  });
  assert.equal(new URL(page.url()).hash, '#ticker_03');

  mkdirSync(screenshotDir, { recursive: true });
  const screenshot = join(screenshotDir, 'dashboard.png');
  await page.screenshot({ path: screenshot });
  console.log(`screenshot: ${screenshot}`);

  assert.deepEqual(errors, [], 'no errors in the page');
  assert.deepEqual(foreignRequests, [], 'no request leaves localhost');
  await page.close();
});
