// The dashboard in a real browser: Debian's chromium, headless, driven by playwright-core,
// against the real stack (producer, Kafka, bridge, PostgreSQL, API server).
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser } from '../lib/browser.mjs';
import { requireServices, startStack, buildDir, waitFor, test } from '../lib/harness.mjs';

requireServices();

const TICKERS = 100; // as many as the real stack: the board must carry them all
const screenshotDir = join(buildDir, 'screenshots');
let stack;
let browser;

before(async () => {
  stack = await startStack('browser', { tickers: TICKERS, intervalMs: 250 });
  await waitFor('history for every ticker', () => stack.db.count('SELECT count(DISTINCT name) FROM records') === TICKERS);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (stack) assert.deepEqual(await stack.stop(), { bridge: 0, api: 0, producer: 0 });
});

// A page that records its errors and every request leaving localhost; check() asserts
// there were none.
async function openPage(path = '/', viewport = { width: 1200, height: 800 }) {
  const page = await browser.newPage({ viewport });
  const errors = [];
  const foreignRequests = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (!['127.0.0.1', 'localhost'].includes(url.hostname)) foreignRequests.push(request.url());
  });
  // What the page and the server say over the WebSocket, parsed.
  page.wsSent = [];
  page.wsReceived = [];
  page.on('websocket', (socket) => {
    socket.on('framesent', (frame) => page.wsSent.push(JSON.parse(frame.payload)));
    socket.on('framereceived', (frame) => page.wsReceived.push(JSON.parse(frame.payload)));
  });
  await page.goto(`${stack.baseUrl}${path}`);
  // allowed: errors expected in this test (a refused connection while the server is down).
  page.check = ({ allowed = null } = {}) => {
    assert.deepEqual(errors.filter((error) => !allowed?.test(error)), [], 'no errors in the page');
    assert.deepEqual(foreignRequests, [], 'no request leaves localhost');
  };
  return page;
}

async function screenshot(page, name) {
  mkdirSync(screenshotDir, { recursive: true });
  const path = join(screenshotDir, name);
  await page.screenshot({ path });
  console.log(`screenshot: ${path}`);
}

// The ticker view's chart data (uPlot's own arrays) and whose it is.
function chartData(page) {
  return page.evaluate(() => {
    const { tickerView, chart } = window.tickerflow;
    const [times, values] = chart.data;
    return { ticker: tickerView.ticker, chartTicker: tickerView.chartTicker, times: [...times], values: [...values] };
  });
}

// Stored rows of a ticker, {us, value}, oldest first.
function storedRows(name, where = 'true') {
  return stack.db.query(`SELECT (extract(epoch FROM time) * 1000000)::bigint, value FROM records
                         WHERE name = '${name}' AND ${where} ORDER BY time, id`)
    .map(([us, value]) => ({ us: Number(us), value: Number(value) }));
}

const toUs = (seconds) => Math.round(seconds * 1e6);

// Stored rows of a ticker once the bridge has stored everything up to lastUs. The
// WebSocket can deliver a value a moment before the bridge commits it, so a chart's
// newest point may not be in records yet when it is drawn.
function storedRowsThrough(name, lastUs) {
  return waitFor(`the bridge to store ${name} up to the last point shown`, async () => {
    const rows = storedRows(name);
    return rows.length > 0 && rows.at(-1).us >= lastUs - 1 ? rows : null;
  }, { timeoutMs: 10000 });
}

test('the board lists every ticker live, with change, filter and sort', async () => {
  const page = await openPage('/');
  await page.waitForFunction((n) => document.querySelectorAll('#board-rows tr').length === n, TICKERS);
  await page.waitForFunction(() => document.getElementById('connection').dataset.state === 'live');
  const values = () => page.$$eval('#board-rows tr', (rows) => Object.fromEntries(
    rows.map((row) => [row.dataset.name, row.querySelector('.value').textContent])));
  const before = await values();
  await waitFor('most values to move', async () => {
    const now = await values();
    return Object.keys(now).filter((name) => now[name] !== before[name]).length >= TICKERS / 2;
  }, { timeoutMs: 10000 });

  // The board asks for conflated batches, and gets them: one frame per 100 ms, each ticker's
  // newest value with the count it stands for. What it shows is stored, value at its time.
  assert.ok(page.wsSent.some((m) => m.op === 'subscribe' && m.tickers === '*' && m.batch_ms === 100 && m.conflate === true),
    `the board's subscription: ${JSON.stringify(page.wsSent)}`);
  const batches = page.wsReceived.filter((m) => m.type === 'ticks');
  assert.ok(batches.length > 0, 'batched frames came');
  assert.equal(page.wsReceived.filter((m) => m.type === 'tick').length, 0, 'no single tick frames');
  assert.ok(batches.every((b) => b.ticks.every((t) => t.count >= 1)), 'each entry says how many values it stands for');
  const shownNow = await page.evaluate(() => [...window.tickerflow.board.rows.values()]
    .map((row) => ({ name: row.name, value: row.value, time: row.time })));
  for (const row of shownNow) {
    const stored = await storedRowsThrough(row.name, toUs(row.time));
    const at = stored.find((r) => Math.abs(r.us - toUs(row.time)) <= 1);
    assert.ok(at, `${row.name}: the value shown is a stored row`);
    assert.equal(row.value, at.value, `${row.name}: the value stored at that time`);
  }

  // Change = value now − value at the period's start, and that reference is a stored value.
  await page.waitForFunction(() => [...document.querySelectorAll('#board-rows .change')].every((c) => c.textContent !== '–'));
  const rows = await page.evaluate(() => [...window.tickerflow.board.rows.values()]
    .map((row) => ({ name: row.name, value: row.value, reference: row.reference, shown: row.tr.querySelector('.change').textContent })));
  for (const row of rows) {
    const stored = storedRows(row.name).map((r) => r.value);
    assert.ok(stored.includes(row.reference), `${row.name}: reference ${row.reference} is a stored value`);
  }
  await page.waitForFunction(() => [...window.tickerflow.board.rows.values()].every((row) => {
    const change = row.value - row.reference;
    return row.tr.querySelector('.change').textContent === (change > 0 ? `+${change}` : String(change));
  }), null, { timeout: 5000 });

  // Filter by name.
  await page.fill('#filter', 'ticker_1');
  const visible = () => page.$$eval('#board-rows tr:not([hidden])', (trs) => trs.map((tr) => tr.dataset.name));
  assert.deepEqual((await visible()).sort(), Array.from({ length: 10 }, (_, i) => `ticker_1${i}`));
  assert.equal(await page.textContent('#board-count'), `10 of ${TICKERS} tickers`);
  await page.fill('#filter', '');
  assert.equal((await visible()).length, TICKERS);

  // Sort: the order shown is the order of the model's values at the moment of the click.
  const sortedBy = (key) => page.evaluate((key) => {
    document.querySelector(`#board thead button[data-sort="${key}"]`).click();
    const board = window.tickerflow.board;
    return [...document.querySelectorAll('#board-rows tr')].map((tr) => {
      const row = board.rows.get(tr.dataset.name);
      return key === 'name' ? row.name : key === 'value' ? row.value : board.change(row);
    });
  }, key);
  const descending = (list) => list.every((x, i) => i === 0 || list[i - 1] >= x);
  const ascending = (list) => list.every((x, i) => i === 0 || list[i - 1] <= x);
  assert.ok(descending(await sortedBy('change')), 'change, largest first');
  assert.ok(ascending(await sortedBy('change')), 'a second click: smallest first');
  assert.ok(descending(await sortedBy('value')), 'value, largest first');
  assert.ok(ascending(await sortedBy('name')), 'by name');
  assert.equal(await page.getAttribute('#board th:first-child', 'aria-sort'), 'ascending');

  await page.selectOption('#period', '300');
  assert.equal(new URL(page.url()).hash, '#/?period=300');
  await page.waitForFunction(() => document.getElementById('change-header').textContent === 'Change (5 min)');
  await page.evaluate(() => document.querySelector('#board thead button[data-sort="change"]').click());
  await sleepFrames(page);
  await screenshot(page, 'board.png');
  const phone = await openPage('/', { width: 390, height: 844 });
  await phone.waitForFunction((n) => document.querySelectorAll('#board-rows tr').length === n, TICKERS);
  await screenshot(phone, 'board-phone.png');
  phone.check();
  await phone.close();
  page.check();
  await page.close();
});

async function sleepFrames(page) {
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
}

test('a ticker opens from the board: history, then live; the URL keeps the view and back works', async () => {
  const page = await openPage('/');
  await page.waitForFunction((n) => document.querySelectorAll('#board-rows tr').length === n, TICKERS);
  await page.click('#board-rows tr[data-name="ticker_07"] a');
  await page.waitForFunction(() => location.hash === '#/ticker/ticker_07');
  await waitFor('history on the chart', async () => (await chartData(page)).values.length >= 3);
  const first = await chartData(page);
  assert.equal(first.ticker, 'ticker_07');
  assert.equal(first.chartTicker, 'ticker_07');

  // The history shown is the stored history of ticker_07, value for value.
  const stored = await storedRowsThrough('ticker_07', toUs(first.times.at(-1)));
  const start = stored.findIndex((row) => Math.abs(row.us - toUs(first.times[0])) <= 1);
  assert.ok(start >= 0, 'the first point shown is a stored row');
  assert.deepEqual(first.values, stored.slice(start, start + first.values.length).map((row) => row.value));

  // Then live: new points, each one step from the previous.
  const changed = await waitFor('live points', async () => {
    const now = await chartData(page);
    return now.times.at(-1) > first.times.at(-1) && now.values.length > first.values.length + 3 ? now : null;
  }, { timeoutMs: 15000 });
  for (let i = 1; i < changed.values.length; i++) assert.equal(Math.abs(changed.values[i] - changed.values[i - 1]), 1);
  // Live in batches of 100 ms, every value (not conflated).
  const asked = page.wsSent.filter((m) => m.op === 'subscribe' && m.tickers?.[0] === 'ticker_07');
  assert.ok(asked.length > 0 && asked.every((m) => m.batch_ms === 100 && !m.conflate), JSON.stringify(asked));
  // (The board's conflated frames came before: from the view's own subscription on.)
  const subscribed = page.wsReceived.findIndex((m) => m.type === 'subscribed' && m.tickers?.[0] === 'ticker_07');
  assert.ok(subscribed >= 0, 'the view subscribed to ticker_07');
  const viewTicks = page.wsReceived.slice(subscribed).filter((m) => m.type === 'ticks').flatMap((m) => m.ticks)
    .filter((t) => t.type === 'tick' && t.name === 'ticker_07');
  assert.ok(viewTicks.length >= 3 && viewTicks.every((t) => t.count === undefined), 'ticker_07 came in batches');
  await waitFor('the headline value to show the last point', async () =>
    (await page.textContent('#last-value')) === String((await chartData(page)).values.at(-1)));
  // The crosshair: the exact time and value of the point under the cursor.
  const plot = await page.locator('#chart .u-over').boundingBox();
  await page.mouse.move(plot.x + plot.width * 0.6, plot.y + plot.height / 2);
  const [timeText, valueText] = await page.$$eval('#chart .u-legend .u-value', (cells) => cells.map((c) => c.textContent));
  const shown = await chartData(page);
  const index = shown.times.findIndex((time) => Math.abs(toUs(time) - Date.parse(timeText) * 1000 - Number(timeText.slice(23, 26))) <= 1);
  assert.ok(index >= 0, `the crosshair's time ${timeText} is a point of the chart`);
  assert.equal(valueText, String(shown.values[index]), 'and its value is that point\'s');
  await screenshot(page, 'ticker.png');

  // Back to the board, forward to the ticker again.
  await page.goBack();
  await page.waitForFunction(() => !document.getElementById('board').hidden && document.getElementById('ticker-view').hidden);
  await page.goForward();
  await page.waitForFunction(() => location.hash === '#/ticker/ticker_07' && !document.getElementById('ticker-view').hidden);
  await waitFor('ticker_07 again', async () => (await chartData(page)).chartTicker === 'ticker_07');

  // A bookmarked view opens as it was.
  const bookmarked = await openPage('/#/ticker/ticker_05?range=1h');
  await waitFor('ticker_05 over an hour', async () => (await chartData(bookmarked)).chartTicker === 'ticker_05');
  assert.equal(await bookmarked.inputValue('#range'), '1h');
  bookmarked.check();
  await bookmarked.close();
  page.check();
  await page.close();
});

test('switching tickers quickly never shows another ticker\'s values or an empty chart', async () => {
  const page = await openPage('/#/ticker/ticker_00');
  await waitFor('ticker_00', async () => (await chartData(page)).chartTicker === 'ticker_00');
  // Every animation frame, note what a person would see: the heading, and the chart if it
  // is visible (whose data, how much, its newest points).
  await page.evaluate(() => {
    window.samples = [];
    const sample = () => {
      const { tickerView, chart } = window.tickerflow;
      const visible = !document.getElementById('chart').classList.contains('hidden-chart');
      const [times, values] = chart.data;
      window.samples.push({ heading: document.getElementById('ticker-name').textContent, visible,
        chartTicker: tickerView.chartTicker, points: times.length,
        newest: times.slice(-3).map((t, i) => [t, values[values.length - Math.min(3, times.length) + i]]) });
      if (!window.stopSampling) requestAnimationFrame(sample);
    };
    requestAnimationFrame(sample);
  });
  const order = ['ticker_03', 'ticker_08', 'ticker_01', 'ticker_11', 'ticker_03', 'ticker_06', 'ticker_08', 'ticker_02'];
  for (let round = 0; round < 3; round++) {
    for (const [i, name] of order.entries()) {
      await page.evaluate((name) => { location.hash = `#/ticker/${name}`; }, name);
      await page.waitForTimeout(i % 3 === 0 ? 5 : 60);
    }
  }
  await waitFor('ticker_02 settled', async () => {
    const now = await chartData(page);
    return now.chartTicker === 'ticker_02' && now.values.length > 2;
  });
  const samples = await page.evaluate(() => { window.stopSampling = true; return window.samples; });
  const visibleSamples = samples.filter((s) => s.visible);
  assert.ok(samples.length > 30 && visibleSamples.length > 5, `${samples.length} frames sampled`);
  const storedByTicker = new Map();
  for (const sample of visibleSamples) {
    assert.equal(sample.chartTicker, sample.heading, 'a visible chart holds the ticker in the heading');
    assert.ok(sample.points > 0, 'a visible chart is never empty');
    if (!storedByTicker.has(sample.heading)) {
      storedByTicker.set(sample.heading, new Map(storedRows(sample.heading).map((r) => [Math.round(r.us / 1000), r.value])));
    }
    const stored = storedByTicker.get(sample.heading);
    for (const [time, value] of sample.newest) {
      const ms = Math.round(time * 1000);
      if (stored.has(ms)) assert.equal(stored.get(ms), value, `${sample.heading} at ${ms}: its own stored value`);
      else assert.ok(ms > Date.now() - 60000, `${sample.heading} at ${ms}: a time of that ticker`);
    }
  }
  page.check();
  await page.close();
});

test('the range chooser and a custom range load the right span', async () => {
  const page = await openPage('/#/ticker/ticker_09');
  await waitFor('ticker_09', async () => (await chartData(page)).chartTicker === 'ticker_09');
  await page.selectOption('#range', '1h');
  await page.waitForFunction(() => location.hash === '#/ticker/ticker_09?range=1h');
  await page.selectOption('#range', 'all');
  await page.waitForFunction(() => location.hash === '#/ticker/ticker_09?range=all');
  const all = await waitFor('the whole history', async () => {
    const now = await chartData(page);
    return now.chartTicker === 'ticker_09' && now.values.length > 0 ? now : null;
  });
  const stored = storedRows('ticker_09');
  assert.ok(Math.abs(toUs(all.times[0]) - stored[0].us) <= 1, '"all" starts at the first stored value');

  // A fixed range (as a bookmark carries it): exactly the stored values in it, no live ones.
  const from = stored[10].us, to = stored[30].us;
  const iso = (us) => `${new Date(Math.floor(us / 1000)).toISOString().slice(0, 23)}${String(us % 1000).padStart(3, '0')}Z`;
  await page.evaluate(([from, to]) => { location.hash = `#/ticker/ticker_09?from=${from}&to=${to}`; }, [iso(from), iso(to)]);
  const fixed = await waitFor('the custom range', async () => {
    const now = await chartData(page);
    return now.chartTicker === 'ticker_09' && now.values.length === 21 ? now : null;
  });
  assert.deepEqual(fixed.values, stored.slice(10, 31).map((row) => row.value));
  assert.equal(await page.inputValue('#range'), 'custom');
  assert.equal(await page.isDisabled('#pause'), true, 'a range in the past has no live edge to pause');
  await page.waitForTimeout(1000);
  assert.equal((await chartData(page)).values.length, 21, 'no live values join a fixed range');

  // The form builds such a link from the inputs.
  await page.fill('#from', '2026-01-01T10:00');
  await page.fill('#to', '2026-01-01T11:00');
  await page.click('#custom-range button[type="submit"]');
  await page.waitForFunction(() => /from=2026-01-01T\d\d:00:00\.000Z&to=2026-01-01T\d\d:00:00\.000Z/.test(location.hash));
  page.check();
  await page.close();
});

test('killing and restarting the API server: "reconnecting", then the chart resumes with no gap', async () => {
  const page = await openPage('/#/ticker/ticker_04');
  await page.waitForFunction(() => document.getElementById('connection').dataset.state === 'live');
  await waitFor('live points', async () => (await chartData(page)).values.length > 10);
  await page.click('#pause');
  assert.equal(await page.textContent('#pause'), 'Resume');

  await stack.daemons.api.kill();
  await page.waitForFunction(() => ['reconnecting', 'offline'].includes(document.getElementById('connection').dataset.state));
  await page.waitForTimeout(2000); // values keep being produced and stored meanwhile
  const restartedAt = Date.now();
  await stack.restartApi();
  await page.waitForFunction(() => document.getElementById('connection').dataset.state === 'live', null, { timeout: 20000 });
  await page.click('#pause'); // resume: the chart shows everything that arrived
  const after = await waitFor('values after the restart', async () => {
    const now = await chartData(page);
    return now.times.at(-1) * 1000 > restartedAt + 2000 ? now : null;
  }, { timeoutMs: 20000 });

  // The chart's points are exactly the stored rows over the same span: nothing missing
  // from the outage, nothing twice.
  const firstUs = toUs(after.times[0]), lastUs = toUs(after.times.at(-1));
  const stored = (await storedRowsThrough('ticker_04', lastUs))
    .filter((row) => row.us >= firstUs - 1 && row.us <= lastUs + 1);
  assert.equal(after.values.length, stored.length, 'as many points as stored rows');
  assert.deepEqual(after.values, stored.map((row) => row.value));
  after.times.forEach((time, i) => assert.ok(Math.abs(toUs(time) - stored[i].us) <= 1, `point ${i} at its stored time`));
  page.check({ allowed: /WebSocket connection to .* failed|ERR_CONNECTION_REFUSED/ });
  await page.close();
});
