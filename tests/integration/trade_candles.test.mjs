// Candlesticks and volumes of market trades (aggregator.kind trades) through the real broker
// and database: every closed minute of every pair equals a computation in SQL over the
// stored `trades`, digit for digit (NUMERIC's own text), for the replayed sample hour, after
// kill -9 of the aggregator and of the bridge mid-run, and with a trade dated in the future.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  requireServices, bridgeProgress, createDatabase, createTopic, freePort, produceLines, readMetric, root, startDaemon,
  test, uniqueName, waitForValue,
} from '../lib/harness.mjs';

requireServices();

const SAMPLE = join(root, 'services', 'producer', 'samples', 'trades-sample.jsonl');

// Every minute and pair, from the stored trades: open and close by event time, equal times in
// the topic's order (trades.id, as the bridge stores them), volumes summed per side (0 when
// none). High and low compare as numbers: between equal prices written with different
// scales (97000.5, 97000.50) which one max() returns is PostgreSQL's choice, so both sides
// are shown without trailing zeros.
const RECOMPUTED = `SELECT date_bin('1 minute', time, timestamptz 'epoch') AS s, currency_pair,
    (array_agg(price ORDER BY time, id))[1]::text, trim_scale(max(price))::text, trim_scale(min(price))::text,
    (array_agg(price ORDER BY time DESC, id DESC))[1]::text, count(*),
    coalesce(sum(volume) FILTER (WHERE direction = 'buy'), 0)::text,
    coalesce(sum(volume) FILTER (WHERE direction = 'sell'), 0)::text,
    count(*) FILTER (WHERE direction = 'buy'), count(*) FILTER (WHERE direction = 'sell')
  FROM trades GROUP BY 1, 2`;
const STORED = `SELECT c.ts_start AS s, c.currency_pair, price_open::text, trim_scale(price_max)::text,
    trim_scale(price_min)::text, price_close::text, c.trades, volume_buy::text, volume_sell::text, trades_buy, trades_sell
  FROM candlesticks c JOIN volumes v USING (ts_start, ts_end, currency_pair)
  WHERE c.ts_end = c.ts_start + interval '1 minute'`;

// The rows (as text) of the minutes before `before` (SQL timestamptz text, or null: all), sorted.
function rows(db, sql, before = null) {
  const where = before === null ? '' : ` WHERE s + interval '1 minute' <= '${before}'::timestamptz`;
  return db.query(`SELECT * FROM (${sql}) x${where} ORDER BY 1, 2`).map((r) => r.join(' '));
}

function startPair(prefix, env, group, { bridgeArgs = [], aggregatorArgs = [], adminPort } = {}) {
  return {
    bridge: startDaemon('bridge', ['--kind', 'trades', '--group-id', `${group}-b`, ...bridgeArgs],
      { env, label: `${prefix}-bridge` }),
    aggregator: startDaemon('aggregator', ['--kind', 'trades', '--group-id', `${group}-a`, '--idle-timeout-ms', '1000',
      ...(adminPort ? ['--admin-port', String(adminPort)] : []), ...aggregatorArgs], { env, label: `${prefix}-aggregator` }),
  };
}

// `count` trades of three pairs from `startMs`, `stepMs` apart, with every 11th dated 30 s
// early (a correction of a closed minute, within the allowed lateness), some at the same
// millisecond as the one before, prices and volumes of varying scale.
function makeTrades(count, startMs, stepMs, { lateEvery = 11 } = {}) {
  const pairs = [['bitcoin', 'tether', 97000, 2], ['ethereum', 'tether', 3400, 2], ['xrp', 'tether', 0.6174, 4]];
  const lines = [];
  let time = startMs;
  for (let i = 0; i < count; i++) {
    const [base, quote, price, decimals] = pairs[i % 3];
    if (i % 5 !== 4) time += stepMs; // every 5th: the same millisecond as the one before
    const p = (price * (1 + ((i * 7919) % 1000 - 500) / 100000)).toFixed(decimals + (i % 3));
    const v = ((i * 104729) % 100000 / 1000 + 0.001).toFixed(i % 9);
    const timestamp = lateEvery > 0 && i % lateEvery === lateEvery - 1 ? time - 30000 : time;
    const json = `{"exchange":"binance","base":"${base}","quote":"${quote}","direction":"${i % 7 < 4 ? 'buy' : 'sell'}",` +
      `"price":${p},"volume":${v},"timestamp":${timestamp},"tradeId":${1000000 + i}}`;
    lines.push(`${base}/${quote}\t${json}`);
  }
  return lines;
}

async function waitForEqual(db, topic, count, { before = null, timeoutMs = 60000 } = {}) {
  await waitForValue('every trade stored', () => db.count('SELECT count(*) FROM trades'), count,
    { timeoutMs, explain: () => bridgeProgress(db, topic) });
  const expected = rows(db, RECOMPUTED, before);
  assert.ok(expected.length > 0);
  await waitForValue('candlesticks and volumes equal to SQL over trades', () => JSON.stringify(rows(db, STORED, before)),
    JSON.stringify(expected), {
      timeoutMs,
      explain: () => {
        const stored = new Set(rows(db, STORED, before));
        const missing = expected.filter((r) => !stored.has(r));
        return `${missing.length} of ${expected.length} minutes differ or are missing, e.g. SQL: ${missing.slice(0, 2).join(' | ')}` +
          ` stored: ${rows(db, STORED, before).filter((r) => missing.some((m) => m.split(' ').slice(0, 3).join(' ') === r.split(' ').slice(0, 3).join(' '))).slice(0, 2).join(' | ')}`;
      },
    });
  return expected.length;
}

test('the replayed sample hour: every minute of every pair equals SQL over trades, digit for digit', async () => {
  const db = createDatabase('trade_candles_sample');
  const topic = createTopic('trade_candles_sample', 3);
  const sample = readFileSync(SAMPLE, 'utf8').split('\n').filter((l) => l !== '');
  await produceLines(topic, sample.map((l) => { const t = JSON.parse(l); return `${t.base}/${t.quote}\t${l}`; }));
  const env = { DATABASE_URL: db.url, KAFKA_TOPIC: topic };
  const daemons = startPair('sample', env, uniqueName('group'));
  const minutes = await waitForEqual(db, topic, sample.length);
  assert.ok(minutes >= 4 * 60, `${minutes} pair-minutes: four pairs for an hour`);
  assert.equal(db.count('SELECT count(DISTINCT currency_pair) FROM candlesticks'), 4);
  // The rollup to an hour adds the minutes' volumes up exactly.
  const [pair] = db.query('SELECT currency_pair FROM candlesticks LIMIT 1')[0];
  const rolled = db.query(`SELECT sum(volume_buy)::text, sum(trades) FROM candlesticks_rollup('${pair}', '1 day',
    '-infinity', 'infinity')`)[0];
  assert.deepEqual(rolled, db.query(`SELECT coalesce(sum(volume) FILTER (WHERE direction = 'buy'), 0)::text, count(*)
    FROM trades WHERE currency_pair = '${pair}'`)[0]);
  assert.equal(await daemons.aggregator.stop(), 0);
  assert.equal(await daemons.bridge.stop(), 0);
});

test('kill -9 of the aggregator and of the bridge mid-run: candlesticks and volumes still equal SQL over trades', async () => {
  const db = createDatabase('trade_candles_killed');
  const topic = createTopic('trade_candles_killed', 3);
  const env = { DATABASE_URL: db.url, KAFKA_TOPIC: topic };
  const group = uniqueName('group');
  const trades = makeTrades(60000, Date.now() - 3 * 3600e3, 97);
  // One more trade of each pair two minutes after the rest: it closes every minute before
  // its own in every partition (else the last ones wait up to a minute for the idle timeout);
  // its minute stays open and out of the comparison.
  const lastMs = Math.max(...trades.map((l) => Number(/"timestamp":(\d+)/.exec(l)[1])));
  const closerMs = Math.floor(lastMs / 60000) * 60000 + 120000;
  const closers = [...new Set(trades.map((l) => l.split('\t')[0]))].map((pair, i) => {
    const [base, quote] = pair.split('/');
    return `${pair}\t{"exchange":"binance","base":"${base}","quote":"${quote}","direction":"buy","price":1,` +
      `"volume":1,"timestamp":${closerMs},"tradeId":${2000000 + i}}`;
  });
  const lines = [...trades, ...closers];
  // The trades come in six parts, one per life of the daemons, each killed while it works: a
  // restarted aggregator must rebuild the minutes it held from the saved state (the replay),
  // since the next part adds to them (a restart that skipped the replay leaves them short).
  const common = { bridgeArgs: ['--instance-id', 'b', '--batch-max-rows', '2000'],
    aggregatorArgs: ['--instance-id', 'a', '--checkpoint-interval-ms', '200', '--prefetch-messages', '500'] };
  const part = trades.length / 6;
  for (let kill = 0; kill < 6; kill++) {
    const producing = produceLines(topic, trades.slice(kill * part, (kill + 1) * part));
    const daemons = startPair(`trade-candles-killed-${kill}`, env, group, common);
    await producing;
    await sleep(200 + Math.floor(Math.random() * 800));
    await daemons.aggregator.kill();
    if (kill % 2 === 1) await daemons.bridge.kill(); else await daemons.bridge.stop();
  }
  await produceLines(topic, closers);
  const daemons = startPair('trade-candles-killed-final', env, group, common);
  const closerMinute = db.query(`SELECT to_timestamp(${closerMs} / 1000.0)`)[0][0];
  const minutes = await waitForEqual(db, topic, lines.length, { before: closerMinute, timeoutMs: 120000 });
  assert.ok(minutes > 200, `${minutes} pair-minutes compared`);
  assert.equal(await daemons.aggregator.stop(), 0);
  assert.equal(await daemons.bridge.stop(), 0);
});

test('a trade dated minutes ahead costs no later trade its place in a candlestick', async () => {
  const db = createDatabase('trade_candles_future');
  const topic = createTopic('trade_candles_future', 1);
  const env = { DATABASE_URL: db.url, KAFKA_TOPIC: topic };
  const adminPort = await freePort();
  const daemons = startPair('future', env, uniqueName('group'), { adminPort });
  const now = Date.now();
  // Real trades from 192 s ago to now, in order: the first 1920 (to 38 s ago), then one dated
  // three minutes ahead (an exchange's clock gone wrong), then the rest. 192 s hold at least
  // three minute ends before the last 3 s whatever the clock's second, so two whole minutes of
  // each pair are compared (120 s held only one when the run began a second or two after a
  // minute: one run in twenty).
  const real = makeTrades(2400, now - 192000, 100, { lateEvery: 0 });
  await produceLines(topic, real.slice(0, 1920));
  const future = '{"exchange":"binance","base":"bitcoin","quote":"tether","direction":"buy","price":1,"volume":1,' +
    `"timestamp":${now + 180000},"tradeId":1}`;
  await produceLines(topic, [`bitcoin/tether\t${future}`]);
  await produceLines(topic, real.slice(1920));
  const lastReal = Math.max(...real.map((l) => Number(/"timestamp":(\d+)/.exec(l)[1])));
  // Every minute that ends 3 s (out-of-orderness and a margin) before the last real trade is closed.
  const closedBefore = db.query(`SELECT to_timestamp(${lastReal - 3000} / 1000.0)`)[0][0];
  const minutes = await waitForEqual(db, topic, real.length + 1, { before: closedBefore });
  assert.ok(minutes >= 6, `${minutes} pair-minutes compared`);
  assert.equal(await readMetric(adminPort, 'tickerflow_aggregator_late_ticks_total'), 0, 'no real trade too late');
  assert.equal(await readMetric(adminPort, 'tickerflow_aggregator_ahead_ticks_total'), 1, 'the future trade counted');
  assert.match(daemons.aggregator.log(), /trade of bitcoin\/tether at \S+ is dated \d+ ms past the clock: held in its minute/);
  assert.equal(db.count(`SELECT count(*) FROM candlesticks WHERE ts_start > now() + interval '1 minute'`), 0,
    'the future minute is held, not written');
  assert.equal(await daemons.aggregator.stop(), 0);
  assert.equal(await daemons.bridge.stop(), 0);
});
