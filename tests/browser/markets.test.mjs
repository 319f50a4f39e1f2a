// The markets pages in a real browser (Debian's chromium, playwright-core) against a real
// stack of kind trades: the board shows the replayed pairs with the API's exact prices and
// volumes, and a new trade's price live; a pair's view draws the stored candlesticks and volumes as /candles gives them,
// and a new trade shows up live, streamed over the WebSocket with its digits: in the price, the
// trades table and the newest bucket.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser } from '../lib/browser.mjs';
import { buildDir, produceLines, requireServices, test, waitFor } from '../lib/harness.mjs';
import { startMarketsStack } from '../lib/markets-stack.mjs';
import { fetchExactJson } from '../lib/exact-json.mjs';

requireServices();

let stack;
let browser;

before(async () => {
  stack = await startMarketsStack('markets_browser');
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (stack) for (const daemon of stack.daemons) assert.equal(await daemon.stop(), 0);
});

async function open(hash) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 1200 } });
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
  await page.goto(`${stack.base}/${hash}`);
  page.errors = errors;
  return page;
}

test('the markets board lists every replayed pair with the API\'s exact price and volumes', async () => {
  const page = await open('#/markets');
  await waitFor('four pairs on the board', async () => (await page.locator('#markets-rows tr').count()) === 4);
  const { markets } = await fetchExactJson(`${stack.base}/api/markets`);
  const rows = await page.locator('#markets-rows tr').evaluateAll((trs) =>
    trs.map((tr) => [...tr.children].map((cell) => cell.textContent)));
  assert.deepEqual(rows.map((r) => [r[0], r[1], r[3], r[4], r[5], r[6]]),
    markets.map((m) => [m.pair, m.price, m.volume_24h, m.volume_buy_24h, m.volume_sell_24h, String(m.trades_24h)]));
  assert.ok(rows.every((r) => /%\)$/.test(r[2])), 'the 24 h change in value and percent');
  // A trade now: its pair's last price moves as it streams in (digits kept), not at the next
  // refresh of the 24 h figures ten seconds later.
  await waitFor('every pair watched live', () => page.evaluate(() => window.tickerflow.live.interest?.allPairs === true));
  const trade = `{"exchange":"binance","base":"xrp","quote":"tether","direction":"sell","price":0.61990,` +
    `"volume":12.50,"timestamp":${Date.now()},"tradeId":2}`;
  await produceLines(stack.topic, [`xrp/tether\t${trade}`]);
  await waitFor('the new last price on the board', async () =>
    (await page.locator('tr[data-pair="xrp/tether"] td').first().textContent()) === '0.61990', { timeoutMs: 8000 });
  const streamed = await page.evaluate(() => window.tickerflow.marketsBoard.lastStreamed);
  assert.deepEqual([streamed?.pair, streamed?.price, streamed?.trade_id], ['xrp/tether', '0.61990', 2],
    'the price came over the WebSocket');
  await page.click('tr[data-pair="xrp/tether"]');
  await page.waitForURL(/#\/market\/xrp\/tether$/);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a pair\'s view draws /candles\' candlesticks and volumes, then a new trade live', async () => {
  const page = await open('#/market/bitcoin/tether');
  await waitFor('the stored candlesticks on the page', () => page.evaluate(() =>
    window.tickerflow.marketView.candles().length >= 60), { timeoutMs: 15000 });
  const from = new Date(Date.now() - 119 * 60000).toISOString();
  const { candles } = await fetchExactJson(`${stack.base}/api/markets/bitcoin/tether/candles?interval=1m&from=${from}`);
  const shown = await page.evaluate(() => window.tickerflow.marketView.candles());
  const key = (c) => [c.start, c.open, c.high, c.low, c.close, String(c.trades), c.volume_buy, c.volume_sell].join(' ');
  assert.deepEqual(shown.filter((c) => !c.live).map(key), candles.map(key), 'every stored minute as the API gives it');
  // The charts hold those numbers: bought volumes up, sold ones below the axis.
  const [chart, volume] = await page.evaluate(() => [window.tickerflow.marketView.chart.data,
    window.tickerflow.marketView.volume.data]);
  assert.deepEqual(chart[1], shown.map((c) => Number(c.open)));
  assert.deepEqual(volume[1], shown.map((c) => Number(c.volume_buy)));
  assert.deepEqual(volume[2], shown.map((c) => -Number(c.volume_sell)));
  assert.ok(volume[1].some((v) => v > 0) && volume[2].some((v) => v < 0), 'volumes visible');

  // A trade now, at a price no sample trade has (a trailing zero a double would drop): the page
  // shows it as it streams in, not at its next HTTP refresh.
  await waitFor('the pair watched live', () => page.evaluate(() => window.tickerflow.live.interest?.pair === 'bitcoin/tether'));
  const now = Date.now();
  const trade = `{"exchange":"binance","base":"bitcoin","quote":"tether","direction":"buy","price":97699.90,` +
    `"volume":0.5000,"timestamp":${now},"tradeId":1}`;
  await produceLines(stack.topic, [`bitcoin/tether\t${trade}`]);
  await waitFor('the new trade shown', async () => (await page.locator('#market-price').textContent()) === '97699.90',
    { timeoutMs: 15000 });
  assert.equal(await page.locator('#market-trades tr').first().locator('td').nth(2).textContent(), '97699.90');
  const streamed = await page.evaluate(() => window.tickerflow.marketView.lastStreamed);
  assert.deepEqual([streamed?.price, streamed?.volume, streamed?.trade_id], ['97699.90', '0.5000', 1],
    'the trade came over the WebSocket, digits kept');
  // In the newest bucket: built live from the trade, or already stored when its minute closed
  // first (a trade a second before a minute's end).
  await waitFor('the newest bucket holds it', () => page.evaluate(() => {
    const last = window.tickerflow.marketView.candles().at(-1);
    return Number(last.close) === 97699.9 && Number(last.high) === 97699.9;
  }), { timeoutMs: 10000 });
  mkdirSync(join(buildDir, 'screenshots'), { recursive: true });
  await page.locator('#market-view').screenshot({ path: join(buildDir, 'screenshots', 'market.png') });
  assert.deepEqual(page.errors, []);
  await page.close();
});
