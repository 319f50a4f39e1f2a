// WebSocket subscriptions to currency pairs over a real stack of kind trades (bridge,
// aggregator, API server following the trades topic): live trades of the pairs watched and no
// others, in the topic's order with an unbroken `prev` chain of offsets, each equal digit for
// digit to the row the bridge stored at that offset; the live candle equal to SQL over the
// minute's trades; `since` from the trades API's last_offset and resumes that reach past the
// server's window (answered from PostgreSQL) continuing without a hole or a repeat; errors.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  createDatabase, createTopic, freePort, openClient, produceLines, requireServices, root, startDaemon, test, uniqueName,
  waitFor, waitForValue,
} from '../lib/harness.mjs';
import { startMarketsStack } from '../lib/markets-stack.mjs';
import { fetchExactJson, parseExactJson } from '../lib/exact-json.mjs';

requireServices();

// A window of 32 trades per pair: resumes further back than that need PostgreSQL.
const WINDOW = 32;
let stack;
async function startStack() {
  stack ??= await startMarketsStack('market_stream', { apiArgs: ['--replay-ticks', String(WINDOW)] });
  return stack;
}

let tradeCounter = 0;
// `count` new trades of each pair, dated now, with prices and volumes whose digits a double
// would lose (trailing zeros, 17 significant digits), keyed by pair as the producer does.
function liveTrades(pairs, count) {
  const lines = [];
  for (let i = 0; i < count; i++) {
    for (const pair of pairs) {
      const [base, quote] = pair.split('/');
      const n = ++tradeCounter;
      const trade = `{"exchange":"binance","base":"${base}","quote":"${quote}","direction":"${n % 3 === 0 ? 'sell' : 'buy'}",`
        + `"price":${1000 + (n % 17)}.${String(n % 100).padStart(2, '0')}0,"volume":0.${String(n).padStart(8, '0')}00000001,`
        + `"timestamp":${Date.now()},"priceUsd":1000.10,"tradeId":${9000000 + n}}`;
      lines.push(`${pair}\t${trade}`);
    }
  }
  return lines;
}

// The stored trades of `pair` after offset `after`, as the frames must carry them.
function storedAfter(db, pair, after) {
  return db.query(`SELECT kafka_offset, kafka_partition, exchange, direction, price::text, volume::text,
      coalesce(price_usd::text, 'null'), coalesce(trade_id::text, 'null'),
      to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    FROM trades WHERE currency_pair = '${pair}' AND kafka_offset > ${after} ORDER BY kafka_offset`);
}

function frameRow(t) {
  return [String(t.offset), String(t.partition), t.exchange, t.direction, t.price, t.volume, String(t.price_usd),
    String(t.trade_id), t.time];
}

// Every trade frame of `pair` in `messages`: offsets only grow, each `prev` is the offset
// before it (the first one's is `first`), and nothing of another pair or ticker came.
function checkedChain(messages, pair, first) {
  const trades = messages.filter((m) => m.type === 'trade');
  assert.deepEqual(messages.filter((m) => m.type === 'tick'), [], 'no ticker values on a pair subscription');
  assert.deepEqual([...new Set(trades.map((t) => t.pair))].filter((p) => p !== pair), [], 'only the pair watched');
  let previous = first;
  for (const t of trades) {
    assert.equal(t.prev, previous, `trade at offset ${t.offset}: prev ${t.prev}, the one before was ${previous}`);
    assert.ok(t.offset > previous);
    previous = t.offset;
  }
  return trades;
}

const lastOffset = (db, pair) => Number(db.query(`SELECT max(kafka_offset) FROM trades WHERE currency_pair = '${pair}'`)[0][0]);

test('a pair subscription streams its trades live, exactly as stored, with its live candle', async () => {
  const { db, port, topic } = await startStack();
  const client = await openClient(port, { parse: parseExactJson });
  client.send({ op: 'subscribe', pair: 'bitcoin/tether', candles: true });
  const reply = await client.next((m) => m.type === 'subscribed');
  assert.deepEqual(reply, { type: 'subscribed', pairs: ['bitcoin/tether'] });
  // The current candle at once: the sample's last minute, as the aggregator stored it.
  const first = await client.next((m) => m.type === 'candle', 'the current candle');
  assert.equal(first.pair, 'bitcoin/tether');
  const stored = db.query(`SELECT price_open::text, price_max::text, price_min::text, price_close::text, trades
    FROM candlesticks WHERE currency_pair = 'bitcoin/tether' AND ts_start = '${first.start}'`);
  assert.deepEqual([[first.open, first.high, first.low, first.close, String(first.trades)]], stored,
    'the live candle of a minute the server saw whole equals the aggregator\'s');

  const before = lastOffset(db, 'bitcoin/tether');
  const lines = liveTrades(['bitcoin/tether', 'ethereum/tether'], 40);
  await produceLines(topic, lines);
  await waitForValue('the 40 bitcoin trades streamed', () => client.messages.filter((m) => m.type === 'trade').length, 40);
  await waitForValue('the live trades stored', () => db.count(`SELECT count(*) FROM trades WHERE kafka_offset > ${before}
    AND currency_pair = 'bitcoin/tether'`), 40);
  const trades = checkedChain(client.messages, 'bitcoin/tether', before);
  assert.deepEqual(trades.map(frameRow), storedAfter(db, 'bitcoin/tether', before), 'each frame is the stored row');

  // The last candle frame: the minute of the last trade, from the trades of that minute.
  const last = trades[trades.length - 1];
  await waitFor('the candle after the last trade', () => {
    const candles = client.messages.filter((m) => m.type === 'candle');
    return candles[candles.length - 1].trades > 0 && client.messages.indexOf(candles[candles.length - 1]) > client.messages.indexOf(last);
  });
  const candles = client.messages.filter((m) => m.type === 'candle');
  const candle = candles[candles.length - 1];
  const expected = db.query(`SELECT (array_agg(price ORDER BY time, kafka_offset))[1]::text, max(price)::text, min(price)::text,
      (array_agg(price ORDER BY time DESC, kafka_offset DESC))[1]::text,
      coalesce(sum(volume) FILTER (WHERE direction = 'buy'), 0)::text,
      coalesce(sum(volume) FILTER (WHERE direction = 'sell'), 0)::text, count(*)
    FROM trades WHERE currency_pair = 'bitcoin/tether' AND time >= '${candle.start}' AND time < '${candle.end}'`);
  const trim = (x) => (x.includes('.') ? x.replace(/0+$/, '').replace(/\.$/, '') : x);
  assert.deepEqual([candle.open, trim(candle.high), trim(candle.low), candle.close, candle.volume_buy, candle.volume_sell,
    String(candle.trades)], expected.map((r) => [r[0], trim(r[1]), trim(r[2]), r[3], r[4], r[5], r[6]])[0]);
  assert.equal(candle.partial, false);
  client.close();
});

test('"since" the trades API\'s last_offset goes on with every later trade, none twice', async () => {
  const { db, port, base, topic } = await startStack();
  const end = lastOffset(db, 'xrp/tether');
  await produceLines(topic, liveTrades(['xrp/tether'], 10));
  await waitForValue('the xrp trades stored', () => storedAfter(db, 'xrp/tether', end).length, 10);
  const history = await fetchExactJson(`${base}/api/markets/xrp/tether/trades?limit=20`);
  const since = history.last_offset;
  assert.equal(since, lastOffset(db, 'xrp/tether'));
  await produceLines(topic, liveTrades(['xrp/tether', 'solana/usd-coin'], 15));
  const client = await openClient(port, { parse: parseExactJson });
  client.send({ op: 'subscribe', pairs: ['xrp/tether'], since });
  await waitForValue('the 15 later trades', () => client.messages.filter((m) => m.type === 'trade').length, 15);
  await waitForValue('them stored', () => storedAfter(db, 'xrp/tether', since).length, 15);
  const trades = checkedChain(client.messages, 'xrp/tether', since);
  assert.deepEqual(trades.map(frameRow), storedAfter(db, 'xrp/tether', since));
  assert.ok(history.trades.every((t) => t.offset <= since), 'nothing the history showed comes again');
  client.close();
});

test('a resume beyond the window is answered from PostgreSQL, then live, in order and each once', async () => {
  const { db, port, topic } = await startStack();
  const pair = 'ethereum/tether';
  // 100 stored trades back: three times the server's window.
  const since = Number(db.query(`SELECT kafka_offset FROM trades WHERE currency_pair = '${pair}'
    ORDER BY kafka_offset DESC OFFSET 100 LIMIT 1`)[0][0]);
  const client = await openClient(port, { parse: parseExactJson });
  client.send({ op: 'resume', positions: { [pair]: since, ticker_x: '2026-01-01T00:00:00Z' } });
  const reply = await client.next((m) => m.type === 'resumed');
  assert.deepEqual(reply.pairs, [pair]);
  const unknown = await client.next((m) => m.type === 'error');
  assert.deepEqual([unknown.code, unknown.ticker], ['unknown_ticker', 'ticker_x']);
  await waitForValue('the 100 stored trades', () => client.messages.filter((m) => m.type === 'trade').length, 100);
  await produceLines(topic, liveTrades([pair], 5));
  await waitForValue('then 5 live ones', () => client.messages.filter((m) => m.type === 'trade').length, 105);
  await waitForValue('them stored', () => storedAfter(db, pair, since).length, 105);
  const trades = checkedChain(client.messages, pair, since);
  assert.deepEqual(trades.map(frameRow), storedAfter(db, pair, since));
  assert.deepEqual(client.messages.filter((m) => m.type === 'gap'), []);
  client.close();
});

test('pairs take the batching options: batched trades are every trade in order, conflated ones count what they stand for', async () => {
  const { db, port, topic } = await startStack();
  const pairs = ['bitcoin/tether', 'ethereum/tether'];
  const starts = Object.fromEntries(pairs.map((pair) => [pair, lastOffset(db, pair)]));
  const batched = await openClient(port, { parse: parseExactJson });
  batched.send({ op: 'subscribe', pairs, batch_ms: 200 });
  const board = await openClient(port, { parse: parseExactJson });
  board.send({ op: 'subscribe', pairs: '*', batch_ms: 300, conflate: true });
  await batched.next((m) => m.type === 'subscribed');
  await board.next((m) => m.type === 'subscribed');
  for (let round = 0; round < 6; round++) { // bursts of 10 per pair, 150 ms apart: several per interval
    await produceLines(topic, liveTrades(pairs, 10));
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  const entries = (client) => client.messages.flatMap((m) => (m.type === 'ticks' ? m.ticks : [m])).filter((m) => m.type === 'trade');
  await waitForValue('the 120 trades batched', () => entries(batched).length, 120);
  for (const pair of pairs) await waitForValue(`${pair} stored`, () => storedAfter(db, pair, starts[pair]).length, 60);
  assert.deepEqual(batched.messages.filter((m) => m.type === 'trade'), [], 'no single trade frames');
  for (const pair of pairs) {
    const trades = checkedChain(entries(batched).filter((t) => t.pair === pair), pair, starts[pair]);
    assert.deepEqual(trades.map(frameRow), storedAfter(db, pair, starts[pair]), `${pair}: each batched entry is the stored row`);
  }
  // The conflated board: each entry is its pair's newest trade of the interval, and its count is
  // the number of trades stored after the board's previous entry of that pair, up to this one.
  await waitFor('the board to reach the last trades', () => pairs.every((pair) => {
    const mine = entries(board).filter((t) => t.pair === pair);
    return mine.length > 0 && mine.at(-1).offset === lastOffset(db, pair);
  }));
  let merged = 0;
  for (const pair of pairs) {
    const mine = entries(board).filter((t) => t.pair === pair && t.offset > starts[pair]);
    let previous = starts[pair];
    for (const entry of mine) {
      const stored = storedAfter(db, pair, previous).filter((row) => Number(row[0]) <= entry.offset);
      assert.equal(entry.count, stored.length, `${pair} at ${entry.offset}: stands for the ${stored.length} trades stored since ${previous}`);
      assert.deepEqual(frameRow(entry), stored.at(-1), 'and is the newest of them, as stored');
      if (entry.count > 1) merged++;
      previous = entry.offset;
    }
  }
  assert.ok(merged >= 4, `${merged} conflated entries stood for several trades`);
  batched.close();
  board.close();
});

test('"pairs": "*" follows every pair, new ones too; unsubscribing stops them; bad requests get errors', async () => {
  const { port, topic } = await startStack();
  const client = await openClient(port, { parse: parseExactJson });
  client.send({ op: 'subscribe', pairs: '*' });
  assert.deepEqual(await client.next((m) => m.type === 'subscribed'), { type: 'subscribed', pairs: '*' });
  await produceLines(topic, liveTrades(['dogecoin/tether', 'bitcoin/tether'], 3));
  await waitFor('the new pair\'s trades', () => client.messages.filter((m) => m.type === 'trade' && m.pair === 'dogecoin/tether').length === 3);
  const doge = client.messages.filter((m) => m.type === 'trade' && m.pair === 'dogecoin/tether');
  assert.equal(doge[0].prev, null, 'the first trade the server saw of a pair has no known prev');
  assert.deepEqual(doge.slice(1).map((t) => t.prev), doge.slice(0, 2).map((t) => t.offset));

  client.send({ op: 'unsubscribe', pairs: '*' });
  await client.next((m) => m.type === 'unsubscribed');
  const count = client.messages.length;
  client.send({ op: 'subscribe', pair: 'nosuch/pair' });
  client.send({ op: 'subscribe', pair: 'BTC-USDT' });
  client.send({ op: 'subscribe', pair: 'bitcoin/tether', since: '2026-01-01T00:00:00Z' });
  client.send({ op: 'subscribe', pair: 'bitcoin/tether', ticker: 'ticker_00' });
  await waitFor('four errors', () => client.messages.filter((m) => m.type === 'error').length === 4);
  const errors = client.messages.filter((m) => m.type === 'error');
  assert.deepEqual(errors.map((e) => e.code), ['unknown_pair', 'invalid_pair', 'invalid_since', 'invalid_message']);
  assert.equal(errors[0].pair, 'nosuch/pair');
  await produceLines(topic, liveTrades(['bitcoin/tether'], 3));
  client.send({ op: 'ping' });
  await client.next((m) => m.type === 'pong');
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.deepEqual(client.messages.slice(count).filter((m) => m.type === 'trade'), [], 'no trade after unsubscribing');
  client.close();
});

test('a trades topic created after the server started is followed once it exists, without warnings meanwhile', async () => {
  const db = createDatabase('market_stream_late');
  const tickerTopic = createTopic('market_stream_late_tickers', 1);
  const tradesTopic = uniqueName('market_stream_late_trades'); // not created yet
  const port = await freePort();
  const api = startDaemon('api', ['--port', String(port), '--frontend-dir', join(root, 'frontend', 'dist'),
    '--trades-topic', tradesTopic], { env: { DATABASE_URL: db.url, KAFKA_TOPIC: tickerTopic }, label: 'market_stream-late-api' });
  await waitFor('the API server to say the trades topic is not there yet', () =>
    api.log().includes(`topic ${tradesTopic} not found`));
  createTopic(tradesTopic, 2, { exact: true });
  await waitFor('the trades feed reading the new topic', () =>
    api.log().includes(`live feed reading 2 partitions of ${tradesTopic}`), { timeoutMs: 15000 });
  await produceLines(tradesTopic, liveTrades(['bitcoin/tether'], 1));
  const client = await openClient(port, { parse: parseExactJson });
  await waitFor('the pair known', async () => {
    client.send({ op: 'subscribe', pair: 'bitcoin/tether' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    // A refused name still gets the reply (listing none): wait for the one that lists the pair.
    return client.messages.some((m) => m.type === 'subscribed' && m.pairs.includes('bitcoin/tether'));
  });
  await produceLines(tradesTopic, liveTrades(['bitcoin/tether'], 3));
  await waitForValue('the three later trades', () => client.messages.filter((m) => m.type === 'trade').length, 3);
  const trades = client.messages.filter((m) => m.type === 'trade');
  assert.deepEqual(trades.map((t) => t.offset), [1, 2, 3]);
  assert.deepEqual(trades.map((t) => t.prev), [0, 1, 2]);
  const waitingLines = api.log().split('\n').filter((l) => l.includes(tradesTopic) && / (WARN|ERROR) /.test(l));
  assert.deepEqual(waitingLines, [], 'waiting for the topic is not a warning');
  client.close();
  assert.equal(await api.stop(), 0);
});
