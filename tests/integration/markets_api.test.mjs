// The market routes of the HTTP API over a real stack of kind trades (bridge, aggregator,
// API server): /api/markets, /api/markets/{base}/{quote}/candles and /trades answer what
// SQL over `trades`, `candlesticks` and `volumes` says, prices and volumes to the last
// digit; bad pairs and parameters get 400, unknown pairs 404.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  requireServices, createDatabase, createTopic, freePort, produceLines, root, startDaemon, test, uniqueName, waitFor,
  waitForValue,
} from '../lib/harness.mjs';

requireServices();

const SAMPLE = join(root, 'services', 'producer', 'samples', 'trades-sample.jsonl');
const NUMBER_FIELDS = /"(price|volume|open|high|low|close|volume_buy|volume_sell|change_24h|change_24h_percent|volume_24h|volume_buy_24h|volume_sell_24h|price_usd)":(-?[0-9][0-9.eE+-]*)/g;

// Fetches JSON keeping every price and volume as the text the server wrote.
async function getJson(url) {
  const response = await fetch(url);
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text.replace(NUMBER_FIELDS, '"$1":"$2"')) };
}

let stack;
async function startMarkets() {
  if (stack) return stack;
  const db = createDatabase('markets_api');
  const topic = createTopic('markets_api', 3);
  // The sample hour, moved so that its last trade was about two minutes ago (inside the 24
  // hours), half a second before a minute's end: the aggregator's idle partitions then close
  // that minute 2.5 s after the last trade, not up to a minute.
  const lines = readFileSync(SAMPLE, 'utf8').split('\n').filter((l) => l !== '');
  const last = JSON.parse(lines[lines.length - 1]).timestamp;
  const shift = Math.floor((Date.now() - 180000) / 60000) * 60000 + 59500 - last;
  await produceLines(topic, lines.map((l) => {
    const t = JSON.parse(l);
    return `${t.base}/${t.quote}\t${l.replace(/"timestamp":(\d+)/, (m, ms) => `"timestamp":${Number(ms) + shift}`)}`;
  }));
  const env = { DATABASE_URL: db.url, KAFKA_TOPIC: topic };
  const port = await freePort();
  const group = uniqueName('group');
  const daemons = [
    startDaemon('bridge', ['--kind', 'trades', '--group-id', `${group}-b`], { env, label: 'markets-bridge' }),
    startDaemon('aggregator', ['--kind', 'trades', '--group-id', `${group}-a`, '--idle-timeout-ms', '1000'],
      { env, label: 'markets-aggregator' }),
    startDaemon('api', ['--port', String(port), '--frontend-dir', join(root, 'frontend', 'dist')],
      { env, label: 'markets-api' }),
  ];
  await waitForValue('every trade stored', () => db.count('SELECT count(*) FROM trades'), lines.length);
  // Every minute up to the last trade's is closed once the aggregator's idle partitions move on.
  await waitFor('every pair\'s last minute aggregated', () => db.count(`SELECT count(*) FROM
    (SELECT currency_pair, date_bin('1 minute', max(time), timestamptz 'epoch') AS m FROM trades GROUP BY 1) l
    WHERE NOT EXISTS (SELECT 1 FROM candlesticks c WHERE c.currency_pair = l.currency_pair AND c.ts_start = l.m)`) === 0,
  { timeoutMs: 90000 });
  await waitFor('the API server to listen', async () => (await fetch(`http://127.0.0.1:${port}/api/markets`)).ok);
  stack = { db, port, daemons, base: `http://127.0.0.1:${port}` };
  return stack;
}

test('GET /api/markets: every pair with its last price, 24 h change and volumes, as SQL says', async () => {
  const { db, base } = await startMarkets();
  const { status, body } = await getJson(`${base}/api/markets`);
  assert.equal(status, 200);
  const expected = db.query(`SELECT currency_pair, base, quote,
      (SELECT price FROM trades t WHERE t.currency_pair = p.currency_pair ORDER BY time DESC, id DESC LIMIT 1)::text,
      sum(volume)::text, coalesce(sum(volume) FILTER (WHERE direction = 'buy'), 0)::text, count(*),
      ((SELECT price FROM trades t WHERE t.currency_pair = p.currency_pair ORDER BY time DESC, id DESC LIMIT 1)
       - (SELECT price FROM trades t WHERE t.currency_pair = p.currency_pair ORDER BY time, id LIMIT 1))::text
    FROM trades p GROUP BY 1, 2, 3 ORDER BY 1`);
  assert.equal(body.markets.length, 4);
  assert.deepEqual(body.markets.map((m) => [m.pair, m.base, m.quote, m.price, m.volume_24h, m.volume_buy_24h,
    String(m.trades_24h), m.change_24h]), expected);
  for (const m of body.markets) {
    assert.ok(Math.abs(Date.parse(m.time) - (Date.now() - 150000)) < 90000, `${m.pair} last traded about 2 minutes ago`);
    assert.ok(Number.isFinite(Number(m.change_24h_percent)));
  }
});

test('GET /api/markets/{base}/{quote}/candles: candlesticks and volumes, rolled up exactly', async () => {
  const { db, base } = await startMarkets();
  const from = db.query("SELECT to_char(min(ts_start) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM candlesticks")[0][0];
  for (const interval of ['1m', '5m', '1h']) {
    const { status, body } = await getJson(`${base}/api/markets/bitcoin/tether/candles?interval=${interval}&from=${from}`);
    assert.equal(status, 200);
    assert.equal(body.pair, 'bitcoin/tether');
    const width = { '1m': '1 minute', '5m': '5 minutes', '1h': '1 hour' }[interval];
    // From the raw trades: only minutes the aggregator has closed (all of them, by now).
    const expected = db.query(`SELECT (array_agg(price ORDER BY time, id))[1]::text, max(price)::text, min(price)::text,
        (array_agg(price ORDER BY time DESC, id DESC))[1]::text, count(*),
        coalesce(sum(volume) FILTER (WHERE direction = 'buy'), 0)::text,
        coalesce(sum(volume) FILTER (WHERE direction = 'sell'), 0)::text
      FROM trades WHERE currency_pair = 'bitcoin/tether'
      GROUP BY date_bin('${width}', time, timestamptz 'epoch') ORDER BY date_bin('${width}', time, timestamptz 'epoch')`);
    const trim = (x) => (x.includes('.') ? x.replace(/0+$/, '').replace(/\.$/, '') : x);
    assert.deepEqual(body.candles.map((c) => [c.open, trim(c.high), trim(c.low), c.close, String(c.trades), c.volume_buy,
      c.volume_sell]), expected.map((r) => [r[0], trim(r[1]), trim(r[2]), r[3], r[4], r[5], r[6]]), `${interval} candles`);
    for (const c of body.candles) assert.ok(Date.parse(c.end) > Date.parse(c.start));
  }
});

test('GET /api/markets/{base}/{quote}/trades: the newest trades of a range, oldest first, digit for digit', async () => {
  const { db, base } = await startMarkets();
  const { status, body } = await getJson(`${base}/api/markets/ethereum/tether/trades?limit=5`);
  assert.equal(status, 200);
  assert.equal(body.truncated, true);
  const expected = db.query(`SELECT exchange, direction, price::text, volume::text, price_usd::text, trade_id FROM
    (SELECT * FROM trades WHERE currency_pair = 'ethereum/tether' ORDER BY time DESC, id DESC LIMIT 5) t ORDER BY time, id`);
  assert.deepEqual(body.trades.map((t) => [t.exchange, t.direction, t.price, t.volume, t.price_usd, String(t.trade_id)]),
    expected);
  assert.equal(body.position, body.trades[4].time);
  const empty = await getJson(`${base}/api/markets/ethereum/tether/trades?to=2001-01-01T00:00:00Z`);
  assert.deepEqual([empty.status, empty.body.trades, empty.body.position], [200, [], null]);
});

test('market routes refuse bad pairs and parameters (400) and unknown pairs (404), and the server goes on', async () => {
  const { base, daemons } = await startMarkets();
  const cases = [
    ['/api/markets/BTC/tether/candles', 400, /invalid currency pair/],
    ['/api/markets/bitcoin/tether/candles?interval=2m', 400, /interval/],
    ['/api/markets/bitcoin/tether/trades?max_points=10', 400, /not downsampled/],
    ['/api/markets/bitcoin/tether/trades?limit=0', 400, /limit/],
    ['/api/markets?x=1', 400, /parameter/],
    ['/api/markets/bitcoin', 404, /no such endpoint/],
    ['/api/markets/dogecoin/tether/candles', 404, /unknown currency pair/],
  ];
  for (const [path, status, message] of cases) {
    const response = await fetch(`${base}${path}`);
    assert.equal(response.status, status, path);
    assert.match((await response.json()).error, message, path);
  }
  assert.equal((await fetch(`${base}/api/markets`)).status, 200);
  for (const daemon of daemons) assert.equal(await daemon.stop(), 0);
});
