// The producer's trade-feed source against our stand-in feed server (tests/lib/
// trade-feed-server.mjs), through the real broker: both formats decoded, numbers kept as
// sent; a dropped connection, a clean close, a stalled feed and garbage frames cost
// nothing and publish nothing twice; errors are counted and logged; bad URLs and
// unreachable hosts are reported naming the URL. And the replay of the shipped sample.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  requireServices, consumeAll, createTopic, freePort, readMetric, root, runDaemon, startDaemon, test, topicEnd,
  waitFor, waitForValue,
} from '../lib/harness.mjs';
import { BINANCE_SYMBOLS, binanceFrame, coincapFrame, startTradeFeedServer } from '../lib/trade-feed-server.mjs';

requireServices();

const SAMPLE = join(root, 'services', 'producer', 'samples', 'trades-sample.jsonl');

// The topic's trade records, parsed with their prices and volumes kept as text.
function publishedTrades(topic) {
  return consumeAll(topic, { max: 1e6 })
    .map((line) => JSON.parse(line.replace(/"(price|volume|priceUsd)":([-0-9.eE+]+)/g, '"$1":"$2"')));
}

// Binance trades `from`..`to` (ids) of each pair: decimal text of varying scale.
function binanceTrades(from, to, startMs) {
  const trades = [];
  for (let id = from; id <= to; id++) {
    for (const [pair, symbol] of Object.entries(BINANCE_SYMBOLS)) {
      trades.push({ pair, symbol, id, price: `${1000 + (id % 97)}.${String(id * 7 % 1000).padStart(3, '0')}00000`,
        quantity: `0.${String(id * 13 % 100000).padStart(5, '0')}000`, timeMs: startMs + id, buyerIsMaker: id % 3 === 0 });
    }
  }
  return trades;
}

async function startProducer(topic, url, extra = []) {
  const adminPort = await freePort();
  const producer = startDaemon('producer', ['--source', 'trades', '--url', url, '--silence-ms', '1500',
    '--admin-port', String(adminPort), ...extra], { env: { KAFKA_TOPIC: topic }, label: 'feed-producer' });
  return { producer, adminPort, metric: (name) => readMetric(adminPort, `tickerflow_producer_${name}`) };
}

test('binance: drops, a clean close, a stall and garbage cost no trade and publish none twice', async () => {
  const feed = await startTradeFeedServer();
  const topic = createTopic('trade_feed_binance', 3);
  const { producer, metric } = await startProducer(topic, feed.url('/stream?streams=btcusdt@trade/ethusdt@trade/solusdc@trade'));
  const startMs = Date.now() - 60000;
  const send = (from, to) => feed.send(binanceTrades(from, to, startMs).map((t) => binanceFrame(t, { combined: true })));
  let keepAlive;
  try {
    await feed.connected(1);
    await feed.send(['{"result":null,"id":1}']); // a subscription's answer: not a trade, not an error
    // Garbage before the trades: once the trades are published, the client has read it all
    // (a drop may discard what it has not read yet).
    const garbage = ['not json', '{"e":"trade","s":"BTCUSDT"}', '{"stream":"x@trade","data":{"e":"trade","s":"NOPE",' +
      '"t":1,"p":"1","q":"1","T":1,"m":true}}', '{"e":"trade","s":"BTCUSDT","t":5,"p":"-1","q":"1","T":1,"m":true}'];
    await feed.send(garbage);
    await send(1, 200);
    await waitForValue('the first 200 trades of each pair published', () => topicEnd(topic), 600);
    feed.drop(); // a network failure: no close frame
    await feed.connected(2);
    await send(150, 300); // a feed resends what it sent last after a reconnect
    await waitForValue('trades up to 300 published', () => topicEnd(topic), 900);
    // A stall: the connection stays open, nothing comes; the watchdog (1.5 s) gives it up.
    await feed.connected(3, 10000);
    await send(280, 400);
    await waitForValue('trades up to 400 published', () => topicEnd(topic), 1200);
    feed.closeAll(); // a clean close (1001)
    await feed.connected(4);
    // From now on a frame that is no trade every 300 ms, so that however long the checks
    // below take, the watchdog (1.5 s) finds the feed alive and the counts stand still.
    keepAlive = setInterval(() => feed.send(['{"result":null,"id":2}']), 300);
    await send(1, 450);
    await waitForValue('trades up to 450 published', () => topicEnd(topic), 1350);

    const published = publishedTrades(topic);
    const sent = binanceTrades(1, 450, startMs);
    assert.equal(published.length, sent.length, 'each trade published once');
    const byId = new Map(published.map((t) => [`${t.base}/${t.quote} ${t.tradeId}`, t]));
    for (const t of sent) {
      const got = byId.get(`${t.pair} ${t.id}`);
      assert.ok(got, `trade ${t.id} of ${t.pair} published`);
      const [base, quote] = t.pair.split('/');
      assert.deepEqual(got, { exchange: 'binance', base, quote, direction: t.buyerIsMaker ? 'sell' : 'buy',
        price: t.price, volume: t.quantity, timestamp: t.timeMs, tradeId: t.id }, `trade ${t.id} of ${t.pair} as sent`);
    }
    // Keyed by pair, each pair's trades in one partition, in the feed's order.
    for (const pair of Object.keys(BINANCE_SYMBOLS)) {
      const ids = published.filter((t) => `${t.base}/${t.quote}` === pair).map((t) => t.tradeId);
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b), `${pair} in order`);
    }
    assert.equal(await metric('feed_malformed_total'), garbage.length, 'every garbage frame counted');
    assert.equal(await metric('feed_duplicates_total'), 3 * (51 + 21 + 400), 'every resent trade counted, not published');
    assert.equal(await metric('feed_reconnects_total'), 3, 'a reconnect after the drop, the stall and the close');
    assert.equal(await metric('feed_connected'), 1);
    const log = producer.log();
    assert.match(log, /malformed frame from ws:\/\/127\.0\.0\.1:\d+\/stream\S* skipped \(1 so far\): /);
    assert.match(log, /no frame for 1500 ms/);
    assert.equal(await producer.stop(), 0);
  } finally {
    clearInterval(keepAlive);
    await producer.stop();
    await feed.stop();
  }
});

test('coincap: trades as sent, the exchange from the path, the API key in the query; debug logs every frame', async () => {
  const feed = await startTradeFeedServer();
  const topic = createTopic('trade_feed_coincap', 3);
  const { producer } = await startProducer(topic, feed.url('/trades/kraken'), ['--api-key', 'k3y', '--log-level', 'debug']);
  try {
    const first = await feed.connected(1);
    assert.equal(first.url, '/trades/kraken?apiKey=k3y');
    const now = Date.now();
    const frames = [
      coincapFrame({ exchange: 'bitso', base: 'xrp', quote: 'tether', direction: 'buy', price: '0.6174', volume: '180',
        timestampMs: now, priceUsd: '0.6178606418423568' }),
      coincapFrame({ base: 'bitcoin', quote: 'tether', direction: 'sell', price: '97000.10', volume: '0.00050',
        timestampMs: now + 1 }),
      '{"exchange":"bitso","base":"xrp"}',
    ];
    await feed.send(frames);
    await waitForValue('two trades published', () => topicEnd(topic), 2);
    const published = publishedTrades(topic).sort((a, b) => a.timestamp - b.timestamp);
    assert.deepEqual(published, [
      { exchange: 'bitso', base: 'xrp', quote: 'tether', direction: 'buy', price: '0.6174', volume: '180',
        timestamp: now, priceUsd: '0.6178606418423568' },
      { exchange: 'kraken', base: 'bitcoin', quote: 'tether', direction: 'sell', price: '97000.10', volume: '0.00050',
        timestamp: now + 1 },
    ]);
    await waitFor('every frame in the debug log', () => frames.every((f) => producer.log().includes(`frame from ${feed.url('/trades/kraken')}: ${f}`)));
    assert.equal(await producer.stop(), 0);
  } finally {
    await producer.stop();
    await feed.stop();
  }
});

test('a feed that cannot be reached is retried, logged and shown by /healthz naming the URL', async () => {
  const topic = createTopic('trade_feed_unreachable', 1);
  const closedPort = await freePort();
  for (const url of ['ws://no-such-host.invalid/trades/binance', `wss://127.0.0.1:${closedPort}/ws/btcusdt@trade`]) {
    const { producer, adminPort, metric } = await startProducer(topic, url);
    try {
      await waitFor(`a reconnect to ${url}`, async () => (await metric('feed_reconnects_total')) >= 1, { timeoutMs: 15000 });
      const health = await fetch(`http://127.0.0.1:${adminPort}/healthz`);
      assert.equal(health.status, 503);
      assert.ok((await health.text()).includes(url), '/healthz names the URL');
      assert.ok(producer.log().split('\n').some((line) => / ERROR /.test(line) && line.includes(`feed ${url}: cannot connect`)),
        `an error naming ${url}:\n${producer.log()}`);
      assert.equal(await producer.stop(), 0);
    } finally {
      await producer.stop();
    }
  }
  // A TLS handshake with a server that speaks none: the error names the URL too.
  const feed = await startTradeFeedServer();
  const tlsUrl = `wss://127.0.0.1:${feed.port}/ws/btcusdt@trade`;
  const { producer, metric } = await startProducer(topic, tlsUrl);
  try {
    await waitFor('a reconnect after the failed handshake', async () => (await metric('feed_reconnects_total')) >= 1, { timeoutMs: 15000 });
    assert.ok(producer.log().includes(`feed ${tlsUrl}: cannot connect: the TLS handshake failed`), producer.log());
    assert.equal(await producer.stop(), 0);
  } finally {
    await producer.stop();
    await feed.stop();
  }
});

test('bad trade-source options exit 2 with a clear message', async () => {
  const cases = [
    [['--source', 'trades'], /exactly one of --url .* and --replay/],
    [['--source', 'trades', '--url', 'http://example.com/'], /--url http:\/\/example\.com\/ is not a WebSocket URL/],
    [['--source', 'trades', '--replay', SAMPLE, '--kafka-topic', 'tickers'], /give trades their own topic/],
    [['--url', 'ws://example.com/'], /--url is for --source trades/],
    [['--source', 'trades', '--replay', '/nonexistent/trades.jsonl', '--dry-run'], null],
  ];
  for (const [args, message] of cases) {
    const { status, stderr } = await runDaemon('producer', [...args, '--admin-port', '0']);
    if (message === null) {
      assert.equal(status, 1, `${args.join(' ')}: a file that cannot be opened stops the producer`);
      assert.match(stderr, /cannot open the replay file \/nonexistent\/trades\.jsonl/);
    } else {
      assert.equal(status, 2, `${args.join(' ')} exits 2`);
      assert.match(stderr, message);
    }
  }
});

test('the sample replays faster than recorded, dated now, every line a valid trade', async () => {
  const producer = startDaemon('producer', ['--source', 'trades', '--replay', SAMPLE, '--speed', '3600', '--dry-run'],
    { label: 'replay-producer', captureStdout: true });
  const startedMs = Date.now();
  const sample = (await import('node:fs')).readFileSync(SAMPLE, 'utf8').split('\n').filter((l) => l !== '');
  try {
    // The sample holds an hour: at 3600x a pass takes about a second. Wait for trades of the
    // second pass on stdout (its log line comes before its first trade is due).
    await waitFor('a second pass', () => producer.stdout.split('\n').length > sample.length + 10, { timeoutMs: 20000 });
    assert.match(producer.log(), /replaying \S+ again/);
    assert.equal(await producer.stop(), 0);
    const lines = producer.stdout.split('\n').filter((l) => l !== '');
    const trades = lines.map((l) => JSON.parse(l));
    assert.ok(trades.length > sample.length, `${trades.length} trades printed: more than one pass of ${sample.length}`);
    // The first pass is the file itself, dated now: same text but for the timestamp.
    const undated = (l) => l.replace(/"timestamp":\d+/, '');
    assert.deepEqual(lines.slice(0, sample.length).map(undated), sample.map(undated));
    for (const t of trades) assert.ok(Math.abs(t.timestamp - startedMs) < 60000, `dated now: ${t.timestamp}`);
    // A second pass numbers its trades past the first's.
    const firstPassIds = new Set(trades.slice(0, sample.length).map((t) => `${t.base}/${t.quote} ${t.tradeId}`));
    assert.ok(trades.slice(sample.length).every((t) => !firstPassIds.has(`${t.base}/${t.quote} ${t.tradeId}`)));
    assert.doesNotMatch(producer.log(), /not a trade record/);
  } finally {
    await producer.stop();
  }
});
