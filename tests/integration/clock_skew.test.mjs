// A producer with a wrong clock (or a hand-made message) puts values dated minutes ahead
// into a running pipeline. The aggregator holds them in their minute without moving its
// watermark past the clock, so no real tick loses its candle: every closed minute equals a
// computation over `records`. The API holds them until they are due, so the live stream
// and the live candle of their tickers go on.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  requireServices, createDatabase, createTopic, freePort, openClient, produceLines, readMetric, root, startDaemon,
  uniqueName, waitFor, waitForValue, test,
} from '../lib/harness.mjs';

requireServices();

const TICKERS = 10;
const AHEAD_MS = 3 * 60 * 1000; // the wrong clock's lead

// Candles recomputed from `records` for the minutes that end by `until`: the definitions of
// docs/api.md (moves from the tick before, in time order, even across minutes).
function recomputed(db, until) {
  return db.query(`
    WITH ordered AS (
      SELECT name, time, id, value, lag(value) OVER (PARTITION BY name ORDER BY time, id) AS previous,
             date_bin('1 minute', time, timestamptz 'epoch') AS minute
      FROM records)
    SELECT name, (extract(epoch FROM minute) * 1000)::bigint,
           (array_agg(value ORDER BY time, id))[1], max(value), min(value),
           (array_agg(value ORDER BY time DESC, id DESC))[1],
           count(*) FILTER (WHERE value > previous), count(*) FILTER (WHERE value < previous), count(*)
    FROM ordered WHERE minute + interval '1 minute' <= '${until}'
    GROUP BY name, minute ORDER BY name, minute`).map((row) => row.join(' '));
}

function stored(db, until) {
  return db.query(`SELECT name, (extract(epoch FROM ts_start) * 1000)::bigint, open, high, low, close, up_moves,
      down_moves, ticks FROM candles_1m WHERE ts_end <= '${until}' ORDER BY name, ts_start`).map((row) => row.join(' '));
}

test('values dated minutes ahead cost no real tick its candle, nor its live value', async () => {
  const db = createDatabase('skew');
  const topic = createTopic('skew');
  const env = { DATABASE_URL: db.url, KAFKA_TOPIC: topic };
  const webPort = await freePort(), aggregatorAdmin = await freePort(), apiAdmin = await freePort();
  const daemons = [
    startDaemon('bridge', ['--group-id', uniqueName('group')], { env, label: 'skew-bridge' }),
    startDaemon('aggregator', ['--group-id', uniqueName('group'), '--checkpoint-interval-ms', '200',
      '--admin-port', String(aggregatorAdmin)], { env, label: 'skew-aggregator' }),
    startDaemon('api', ['--port', String(webPort), '--admin-port', String(apiAdmin), '--frontend-dir',
      join(root, 'frontend', 'dist')], { env, label: 'skew-api' }),
    startDaemon('producer', ['--tickers', String(TICKERS), '--interval-ms', '200'], { env, label: 'skew-producer' }),
  ];
  const [, aggregator, api] = daemons;
  await waitFor('every ticker stored', () => db.count('SELECT count(DISTINCT name) FROM records') === TICKERS,
    { timeoutMs: 30000 });
  const watcher = await openClient(webPort);
  watcher.send({ op: 'subscribe', tickers: ['ticker_03'], candles: true });
  await watcher.next((m) => m.type === 'tick', 'a first live tick');

  // The burst: 40 values of five tickers, stamped three minutes ahead, keyed like the
  // producer's (so each lands in its ticker's partition, among the real ticks).
  const burstAt = Date.now();
  const burst = [];
  for (let i = 0; i < 40; i++) {
    const name = `ticker_0${i % 5}`;
    burst.push(`${name}\t${JSON.stringify({ name, value: 1000 + i, time: new Date(burstAt + AHEAD_MS + i).toISOString() })}`);
  }
  await produceLines(topic, burst);

  // Two whole minutes after the burst closed (watermark: the newest tick less 2 s).
  const until = new Date(Math.floor(burstAt / 60000) * 60000 + 2 * 60000);
  await waitFor(`the minutes up to ${until.toISOString()} closed`, () =>
    db.count(`SELECT count(*) FROM candles_1m WHERE ts_end = '${until.toISOString()}'`) === TICKERS,
  { timeoutMs: 200000, intervalMs: 1000 });

  // Every closed minute equals records, tick for tick: none was closed early by the burst.
  const want = recomputed(db, until.toISOString());
  const got = stored(db, until.toISOString());
  assert.ok(want.length >= 2 * TICKERS, `${want.length} minutes of real ticks`);
  const missing = want.filter((row) => !got.includes(row));
  assert.deepEqual(missing.slice(0, 5), [], `${missing.length} candles differ from records (or are missing)`);
  assert.deepEqual(got.filter((row) => !want.includes(row)).slice(0, 5), []);
  assert.equal(await readMetric(aggregatorAdmin, 'tickerflow_aggregator_late_ticks_total'), 0, 'no real tick too late');
  assert.equal(await readMetric(aggregatorAdmin, 'tickerflow_aggregator_ahead_ticks_total'), burst.length);
  assert.match(aggregator.log(), /WARN .*tick of ticker_0\d at [^ ]+\/\d+@\d+ is dated \d+ ms past the clock: held/);
  // The future values are stored (records holds what was published) but in no candle yet.
  assert.equal(db.count('SELECT count(*) FROM records WHERE value >= 1000'), burst.length);
  assert.equal(db.count(`SELECT count(*) FROM candles_1m WHERE ts_start > now()`), 0);

  // Live: ticker_03 kept streaming after the burst, each value the next of records, and its
  // live candle stayed on the current minute; the future value waits in the API.
  const ticks = watcher.ticks();
  const after = ticks.filter((t) => Date.parse(t.time) > burstAt + 1000);
  assert.ok(after.length >= 100, `${after.length} live ticks of ticker_03 after the burst`);
  for (let i = 1; i < ticks.length; i++) assert.equal(ticks[i].prev, ticks[i - 1].time, `tick ${i} follows`);
  assert.ok(ticks.every((t) => t.value < 1000), 'no value of the future yet');
  const candles = watcher.messages.filter((m) => m.type === 'candle');
  assert.ok(candles.every((c) => Date.parse(c.start) <= Date.now()), 'the live candle never jumped ahead');
  assert.equal(await readMetric(apiAdmin, 'tickerflow_api_live_ahead_total'), burst.length);
  // History without `to` stops at what is due: its position is a real tick's.
  const history = await (await fetch(`http://127.0.0.1:${webPort}/api/tickers/ticker_03/history?limit=5`)).json();
  assert.ok(Date.parse(history.position) <= Date.now() + 1000, `position ${history.position}`);
  assert.ok(history.points.every((p) => p.value < 1000));
  watcher.close();
  for (const daemon of daemons) assert.equal(await daemon.stop(), 0);
});
