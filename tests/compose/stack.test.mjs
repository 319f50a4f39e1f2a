// Checks the stack that scripts/test-compose started from docker-compose.yaml, from the
// host, as a user would: the published ports, the database, the topic and the services'
// containers (restarted through docker-compose itself).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { consumeAll, openClient, waitFor, test } from '../lib/harness.mjs';

const compose = process.env.TICKERFLOW_COMPOSE;
const apiPort = Number(process.env.API_HOST_PORT);
const databaseUrl = process.env.DATABASE_URL;
const topic = 'tickers';
if (!compose || !apiPort || !databaseUrl) {
  console.log('SKIPPED: run scripts/test-compose, which starts the stack');
  process.exit(77);
}

const api = (path) => `http://127.0.0.1:${apiPort}${path}`;
const sql = (query) => execFileSync('psql', [databaseUrl, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', query], { encoding: 'utf8' }).trim();
const runCompose = (...args) => execFileSync(compose, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const healthOf = (service) => execFileSync('docker', ['inspect', '-f', '{{.State.Health.Status}}', runCompose('ps', '-q', service).trim()], { encoding: 'utf8' }).trim();

test('the dashboard and its assets are served on the published port', async () => {
  const page = await fetch(api('/'));
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /<title>[^<]*tickerflow/i);
  const chart = await fetch(api('/vendor/uPlot.esm.js'));
  assert.equal(chart.status, 200, 'the charting library comes from the image, not a CDN');
});

test('GET /api/tickers lists the 100 tickers with their latest values', async () => {
  const body = await waitFor('100 tickers in /api/tickers', async () => {
    const answer = await (await fetch(api('/api/tickers'))).json();
    return answer.tickers.length === 100 ? answer : null;
  }, { timeoutMs: 30000, intervalMs: 500 });
  assert.deepEqual(body.tickers.map((t) => t.name), Array.from({ length: 100 }, (_, i) => `ticker_${String(i).padStart(2, '0')}`));
  for (const ticker of body.tickers) assert.equal(typeof ticker.value, 'number');
});

test('records grows by about 100 rows a second', async () => {
  const before = Number(sql('SELECT count(*) FROM records'));
  await sleep(3000);
  const after = Number(sql('SELECT count(*) FROM records'));
  assert.ok(after - before >= 200, `records grew by ${after - before} rows in 3 s`);
});

test('a WebSocket client receives live values of the ticker it watches, and no other', async () => {
  const client = await openClient(apiPort);
  try {
    client.send({ op: 'subscribe', ticker: 'ticker_42' });
    await client.next((m) => m.type === 'subscribed', 'the subscription');
    const start = Date.now();
    await waitFor('two live ticks', () => client.ticks().filter((m) => Date.parse(m.time) > start - 500).length >= 2,
      { timeoutMs: 10000 });
    assert.ok(client.ticks().every((m) => m.name === 'ticker_42'));
  } finally {
    client.close();
  }
});

test('the aggregator writes every ticker\'s closed minutes to candles_1m, as records say, served by /candles', async () => {
  // The first minute closes about two seconds after it ends: up to a minute and a bit.
  await waitFor('a closed minute of all 100 tickers', () =>
    Number(sql('SELECT count(*) FROM candles_1m GROUP BY ts_start ORDER BY 1 DESC LIMIT 1') || 0) === 100,
  { timeoutMs: 100000, intervalMs: 1000 });
  const minute = sql("SELECT min(ts_start) FROM candles_1m WHERE name = 'ticker_42'");
  const candle = sql(`SELECT open, high, low, close, up_moves, down_moves, ticks FROM candles_1m
    WHERE name = 'ticker_42' AND ts_start = '${minute}'`);
  const fromRecords = sql(`WITH r AS (SELECT time, value, lag(value) OVER (ORDER BY time, id) AS prev
      FROM records WHERE name = 'ticker_42')
    SELECT (array_agg(value ORDER BY time))[1], max(value), min(value), (array_agg(value ORDER BY time DESC))[1],
      count(*) FILTER (WHERE value > prev), count(*) FILTER (WHERE value < prev), count(*)
    FROM r WHERE time >= '${minute}' AND time < timestamptz '${minute}' + interval '1 minute'`);
  assert.equal(candle, fromRecords, 'the candle of the first minute equals what records hold');
  const answer = await (await fetch(api('/api/tickers/ticker_42/candles?interval=1m'))).json();
  assert.ok(answer.candles.length >= 1);
  const first = answer.candles[0];
  assert.equal([first.open, first.high, first.low, first.close, first.up_moves, first.down_moves, first.ticks].join('|'),
    candle);
  assert.equal(healthOf('aggregator'), 'healthy');
});

test('each daemon runs with its own role (init-db made them): the API\'s can read and write nothing', () => {
  const connections = sql(`SELECT DISTINCT usename FROM pg_stat_activity WHERE application_name LIKE 'tickerflow-%'
    ORDER BY 1`).split('\n');
  for (const role of ['tickerflow_aggregator', 'tickerflow_api', 'tickerflow_bridge']) {
    assert.ok(connections.includes(role), `a connection of ${role} (got ${connections.join(', ')})`);
  }
  assert.ok(!connections.includes('tickerflow'), 'no daemon connects as the owner');
  const apiUrl = new URL(databaseUrl);
  apiUrl.username = 'tickerflow_api';
  apiUrl.password = 'tickerflow_api';
  const insert = spawnSync('psql', [apiUrl.toString(), '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c',
    "INSERT INTO records (name, time, value) VALUES ('x', now(), 1)"], { encoding: 'utf8' });
  assert.notEqual(insert.status, 0);
  assert.match(insert.stderr, /permission denied for table records/);
});

test('restarting the bridge container, gracefully or by kill -9, loses and duplicates no row', async () => {
  runCompose('restart', 'bridge');
  await sleep(2000);
  runCompose('kill', '-s', 'SIGKILL', 'bridge');
  await sleep(2000); // the producer goes on: these messages wait in Kafka
  runCompose('start', 'bridge');
  await waitFor('the bridge to be healthy again', () => healthOf('bridge') === 'healthy', { timeoutMs: 90000, intervalMs: 1000 });
  await sleep(2000);

  // The producer flushes on stop: then the topic holds every message there will be.
  runCompose('stop', 'producer');
  const published = consumeAll(topic, { max: 10_000_000 });
  assert.ok(published.length > 1000, `only ${published.length} messages in the topic`);
  await waitFor(`records to hold all ${published.length} messages`,
    () => Number(sql('SELECT count(*) FROM records')) >= published.length, { timeoutMs: 60000, intervalMs: 500 });

  const stored = sql(`SELECT name || ' ' || value || ' ' || to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') FROM records`)
    .split('\n');
  const expected = published.map((line) => {
    const message = JSON.parse(line);
    return `${message.name} ${message.value} ${message.time}`;
  });
  assert.equal(new Set(stored).size, stored.length, 'no row is stored twice');
  assert.deepEqual([...stored].sort(), [...expected].sort(), 'records holds exactly the messages in the topic');
  runCompose('start', 'producer');
});

test('the trades profile: the replayed sample is stored in trades, its closed minutes in candlesticks and volumes', async () => {
  await waitFor('trades of four pairs stored', () => Number(sql('SELECT count(DISTINCT currency_pair) FROM trades')) === 4,
    { timeoutMs: 60000, intervalMs: 1000 });
  // The first whole minute closes about two seconds after it ends.
  await waitFor('a closed minute of every pair', () =>
    Number(sql(`SELECT count(*) FROM candlesticks WHERE ts_start > (SELECT min(time) FROM trades)
      GROUP BY ts_start ORDER BY ts_start LIMIT 1`) || 0) === 4, { timeoutMs: 130000, intervalMs: 1000 });
  const minute = sql('SELECT min(ts_start) FROM candlesticks WHERE ts_start > (SELECT min(time) FROM trades)');
  const stored = sql(`SELECT c.currency_pair, price_open, price_close, trim_scale(price_max), trim_scale(price_min),
      c.trades, volume_buy, volume_sell FROM candlesticks c JOIN volumes v USING (ts_start, ts_end, currency_pair)
    WHERE ts_start = '${minute}' ORDER BY 1`);
  const recomputed = sql(`SELECT currency_pair, (array_agg(price ORDER BY time, id))[1],
      (array_agg(price ORDER BY time DESC, id DESC))[1], trim_scale(max(price)), trim_scale(min(price)), count(*),
      coalesce(sum(volume) FILTER (WHERE direction = 'buy'), 0), coalesce(sum(volume) FILTER (WHERE direction = 'sell'), 0)
    FROM trades WHERE time >= '${minute}' AND time < timestamptz '${minute}' + interval '1 minute' GROUP BY 1 ORDER BY 1`);
  assert.equal(stored, recomputed, 'the minute equals SQL over trades, digit for digit');
  for (const service of ['trade-producer', 'trade-bridge', 'trade-aggregator']) assert.equal(healthOf(service), 'healthy');
});
