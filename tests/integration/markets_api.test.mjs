// The market routes of the HTTP API over a real stack of kind trades (bridge, aggregator,
// API server): /api/markets, /api/markets/{base}/{quote}/candles and /trades answer what
// SQL over `trades`, `candlesticks` and `volumes` says, prices and volumes to the last
// digit; bad pairs and parameters get 400, unknown pairs 404.
import assert from 'node:assert/strict';
import { requireServices, test } from '../lib/harness.mjs';
import { startMarketsStack } from '../lib/markets-stack.mjs';
import { getExactJson as getJson } from '../lib/exact-json.mjs';

requireServices();

let stack;
async function startMarkets() {
  stack ??= await startMarketsStack('markets_api');
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
    const age = Date.now() - Date.parse(m.time);
    assert.ok(age > 100000 && age < 300000, `${m.pair} last traded 2 to 3 minutes before the stack started (${age} ms ago)`);
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
  const expected = db.query(`SELECT exchange, direction, price::text, volume::text, price_usd::text, trade_id,
      kafka_partition, kafka_offset FROM
    (SELECT * FROM trades WHERE currency_pair = 'ethereum/tether' ORDER BY time DESC, id DESC LIMIT 5) t ORDER BY time, id`);
  assert.deepEqual(body.trades.map((t) => [t.exchange, t.direction, t.price, t.volume, t.price_usd, String(t.trade_id),
    String(t.partition), String(t.offset)]), expected);
  assert.equal(body.position, body.trades[4].time);
  // Where a WebSocket subscription to the pair goes on from: the newest offset shown.
  assert.equal(body.last_offset, Math.max(...body.trades.map((t) => t.offset)));
  assert.equal(new Set(body.trades.map((t) => t.partition)).size, 1, "a pair's trades share a partition");
  const empty = await getJson(`${base}/api/markets/ethereum/tether/trades?to=2001-01-01T00:00:00Z`);
  assert.deepEqual([empty.status, empty.body.trades, empty.body.position, empty.body.last_offset], [200, [], null, null]);
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
