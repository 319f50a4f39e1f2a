// Market trades through the real broker and database: the trades topic stored exactly once
// in `trades`, prices and volumes to the last digit as the feed sent them, whatever is
// killed when; malformed records kept in dead_letters.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  requireServices, bridgeProgress, consumeAll, createDatabase, createTopic, produceLines, produceRaw, startDaemon,
  uniqueName, waitForValue, test,
} from '../lib/harness.mjs';

requireServices();

const PAIRS = [['bitcoin', 'tether', 97000, 2], ['ethereum', 'tether', 3400, 2], ['xrp', 'tether', 0.6174, 4],
  ['solana', 'usd-coin', 185, 3]];

// `count` trades from `startMs`, a few milliseconds apart, round-robin over the pairs, with
// prices and volumes written as decimal text of varying scale (as feeds do).
export function makeTrades(count, startMs) {
  const lines = [];
  for (let i = 0; i < count; i++) {
    const [base, quote, price, decimals] = PAIRS[i % PAIRS.length];
    const p = (price * (1 + ((i * 7919) % 1000 - 500) / 100000)).toFixed(decimals + (i % 3));
    const v = ((i * 104729) % 100000 / 1000 + 0.001).toFixed(i % 9);
    const record = { exchange: 'binance', base, quote, direction: i % 5 < 3 ? 'buy' : 'sell', timestamp: startMs + i * 7 };
    const json = JSON.stringify(record).replace('"timestamp"', `"price":${p},"volume":${v},"timestamp"`)
      .replace(/}$/, `,"tradeId":${1000000 + i}}`);
    lines.push(`${base}/${quote}\t${json}`);
  }
  return lines;
}

// The stored trades as the topic's text would give them back, with where each was read.
function storedTrades(db) {
  return db.query(`SELECT exchange, base, quote, direction, price::text, volume::text,
      (extract(epoch FROM time) * 1000)::bigint, trade_id, kafka_partition, kafka_offset FROM trades ORDER BY trade_id`)
    .map((r) => r.join(' '));
}

// The topic's trades (the records with a tradeId: the poison has none), as text, with their
// partition and offset.
function topicTrades(topic) {
  return consumeAll(topic, { max: 1e7, format: '%p\t%o\t%s\n' }).filter((line) => line.includes('"tradeId"'))
    .map((line) => {
      const [partition, offset, json] = line.split('\t');
      const t = JSON.parse(json.replace(/"(price|volume)":([-0-9.eE+]+)/g, '"$1":"$2"'));
      return [t.exchange, t.base, t.quote, t.direction, t.price, t.volume, t.timestamp, t.tradeId, partition, offset].join(' ');
    })
    .sort((a, b) => Number(a.split(' ')[7]) - Number(b.split(' ')[7]));
}

test('a bridge of kind trades stores every trade once, numbers as sent; malformed ones become dead letters', async () => {
  const db = createDatabase('trades_bridge');
  const topic = createTopic('trades_bridge', 3);
  const lines = makeTrades(3000, Date.now() - 3600e3);
  await produceLines(topic, lines);
  const poison = ['{"exchange":"x"}', '{"exchange":"bitso","base":"xrp","quote":"tether","direction":"buy",' +
    '"price":0.1,"volume":1,"timestamp":1651686997237,"price_usd":1}', 'not json'];
  produceRaw(topic, 'x/y', poison);
  const bridge = startDaemon('bridge', ['--kind', 'trades', '--group-id', uniqueName('group')],
    { env: { DATABASE_URL: db.url, KAFKA_TOPIC: topic }, label: 'trades-bridge' });
  await waitForValue('every trade stored', () => db.count('SELECT count(*) FROM trades'), lines.length,
    { explain: () => bridgeProgress(db, topic) });
  await waitForValue('the poison in dead_letters', () => db.count('SELECT count(*) FROM dead_letters'), poison.length);
  assert.deepEqual(storedTrades(db), topicTrades(topic),
    'trades holds exactly the topic\'s trades, every digit');
  assert.match(db.query("SELECT error FROM dead_letters WHERE error LIKE '%price_usd%'")[0][0], /unknown field 'price_usd'/);
  // NUMERIC kept the scale sent: trailing zeros and all.
  assert.ok(db.count("SELECT count(*) FROM trades WHERE volume::text LIKE '%.%0'") > 0);
  assert.equal(db.count("SELECT count(*) FROM trades WHERE currency_pair = 'xrp/tether'"), lines.length / 4);
  assert.equal(await bridge.stop(), 0);
});

test('kill -9 of the trades bridge at random moments: trades equals the topic, none lost or twice', async () => {
  const db = createDatabase('trades_killed');
  const topic = createTopic('trades_killed', 3);
  const env = { DATABASE_URL: db.url, KAFKA_TOPIC: topic };
  const group = uniqueName('group');
  const lines = makeTrades(60000, Date.now() - 3600e3);
  const producing = produceLines(topic, lines);
  for (let kill = 0; kill < 5; kill++) {
    const bridge = startDaemon('bridge', ['--kind', 'trades', '--group-id', group, '--instance-id', 'trades-a',
      '--batch-max-rows', '2000'], { env, label: `trades-killed-${kill}` });
    await sleep(400 + Math.floor(Math.random() * 1200));
    await bridge.kill();
  }
  await producing;
  const bridge = startDaemon('bridge', ['--kind', 'trades', '--group-id', group, '--instance-id', 'trades-a'],
    { env, label: 'trades-killed-final' });
  await waitForValue('every trade stored', () => db.count('SELECT count(*) FROM trades'), lines.length,
    { timeoutMs: 90000, explain: () => bridgeProgress(db, topic) });
  assert.equal(db.count('SELECT count(DISTINCT trade_id) FROM trades'), lines.length, 'no trade twice');
  assert.deepEqual(storedTrades(db), topicTrades(topic));
  assert.equal(await bridge.stop(), 0);
});
