// The aggregator against the real broker and database: known sequences (with out-of-order,
// late and too-late ticks) give exactly the expected candles, bad messages are refused and
// counted, and kill -9 at random moments leaves candles equal to a clean run's.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  requireServices, createDatabase, createTopic, freePort, produceLines, produceRaw, root, startDaemon, uniqueName,
  waitFor,
  test,
} from '../lib/harness.mjs';

requireServices();

const SECOND = 1000;
const MINUTE = 60 * SECOND;
// A 5-minute boundary, an hour before now: Kafka timestamps (now) are later than every tick.
const T0 = Math.floor((Date.now() - 3600 * SECOND) / (5 * MINUTE)) * 5 * MINUTE;
const RULES = { outOfOrdernessMs: 2000, allowedLatenessMs: 30000 };

function line(name, ms, value) {
  return `${name}\t${JSON.stringify({ name, value, time: new Date(ms).toISOString() })}`;
}

// Idle partitions are left alone (--idle-timeout-ms 0) unless a test asks: their candles
// would otherwise depend on how long a test waits.
function startAggregator(env, group, { label = 'aggregator', args = [], instance = `${group}-a` } = {}) {
  return startDaemon('aggregator', ['--group-id', group, '--instance-id', instance, '--idle-timeout-ms', '0',
    '--out-of-orderness-ms', String(RULES.outOfOrdernessMs), '--allowed-lateness-ms', String(RULES.allowedLatenessMs),
    '--checkpoint-interval-ms', '100', ...args], { env, label });
}

// candles_1m as {"name@startMs": "open high low close up down ticks"}.
function storedCandles(db) {
  const rows = db.query(`SELECT name, (extract(epoch FROM ts_start) * 1000)::bigint,
      (extract(epoch FROM ts_end - ts_start))::int, open, high, low, close, up_moves, down_moves, ticks
    FROM candles_1m ORDER BY ts_start, name`);
  const candles = {};
  for (const [name, start, length, ...rest] of rows) {
    assert.equal(length, '60', 'every candle spans one minute');
    candles[`${name}@${start}`] = rest.join(' ');
  }
  return candles;
}

// An independent model of the documented semantics: a tick is too late when its minute
// ended allowed_lateness before the watermark (newest time read so far minus the
// out-of-orderness); candles are computed from the accepted ticks in event-time order
// (ties in reading order) for the minutes the final watermark has closed.
function expectedCandles(messages) {
  let newest = -Infinity;
  const accepted = [];
  for (const [index, m] of messages.entries()) {
    const start = Math.floor(m.ms / MINUTE) * MINUTE;
    const watermark = newest - RULES.outOfOrdernessMs;
    if (start + MINUTE + RULES.allowedLatenessMs <= watermark) continue; // too late
    accepted.push({ ...m, index, start });
    newest = Math.max(newest, m.ms);
  }
  const watermark = newest - RULES.outOfOrdernessMs;
  const byTicker = new Map();
  for (const tick of accepted) {
    if (!byTicker.has(tick.name)) byTicker.set(tick.name, []);
    byTicker.get(tick.name).push(tick);
  }
  const candles = {};
  for (const [name, ticks] of byTicker) {
    ticks.sort((a, b) => a.ms - b.ms || a.index - b.index);
    let previous = null;
    for (const tick of ticks) {
      const key = `${name}@${tick.start}`;
      const c = candles[key] ?? (candles[key] = { start: tick.start, v: [], up: 0, down: 0 });
      c.v.push(tick.value);
      if (previous !== null) {
        if (tick.value > previous) c.up++;
        if (tick.value < previous) c.down++;
      }
      previous = tick.value;
    }
  }
  const result = {};
  for (const [key, c] of Object.entries(candles)) {
    if (c.start + MINUTE > watermark) continue; // still open
    result[key] = [c.v[0], Math.max(...c.v), Math.min(...c.v), c.v.at(-1), c.up, c.down, c.v.length].join(' ');
  }
  return result;
}

// The keys whose candles differ, with both values (at most 10).
function differences(got, want) {
  const keys = [...new Set([...Object.keys(got), ...Object.keys(want)])].sort();
  return keys.filter((k) => got[k] !== want[k]).slice(0, 10).map((k) => `${k}: ${got[k]} (want ${want[k]})`);
}

async function waitForCandles(db, expected, what) {
  let diff = [];
  try {
    await waitFor(what, () => (diff = differences(storedCandles(db), expected)).length === 0,
      { timeoutMs: 60000, intervalMs: 250 });
  } catch (error) {
    assert.deepEqual(diff, [], `${what}: candles that differ`);
    throw error;
  }
}

test('a hand-made sequence gives exactly the expected candles: boundaries, out-of-order, late and too late', async () => {
  const db = createDatabase('candles');
  const topic = createTopic('candles', 1);
  const m = (name, offsetMs, value) => ({ name, ms: T0 + offsetMs, value });
  const messages = [
    m('a', 0, 1), m('a', 10 * SECOND, 2), m('a', 59 * SECOND + 999, 3), // minute 0: the last millisecond counts
    m('a', MINUTE, 2),                                                   // minute 1 starts: a move down from 3
    m('a', MINUTE + 30 * SECOND, 4), m('a', MINUTE + 20 * SECOND, 3),   // out of order within minute 1
    m('b', MINUTE + 5 * SECOND, -1),
    m('a', 2 * MINUTE + 3 * SECOND, 5),                                 // watermark 2:01: minute 1 closes
    m('b', MINUTE + 50 * SECOND, -2),                                   // late, within the lateness: corrects b
    m('a', 3 * MINUTE + 40 * SECOND, 6),                                // watermark 3:38: minute 1 purged
    m('b', MINUTE + 55 * SECOND, -5),                                   // too late: never applied
    m('b', 3 * MINUTE + 41 * SECOND, -3),
  ];
  const expected = {
    [`a@${T0}`]: '1 3 1 3 2 0 3',
    [`a@${T0 + MINUTE}`]: '2 4 2 4 2 1 3',
    [`b@${T0 + MINUTE}`]: '-1 -1 -2 -2 0 1 2',
    [`a@${T0 + 2 * MINUTE}`]: '5 5 5 5 1 0 1',
  };
  assert.deepEqual(expectedCandles(messages), expected, 'the model agrees with the hand-computed candles');

  const aggregator = startAggregator({ DATABASE_URL: db.url, KAFKA_TOPIC: topic }, uniqueName('group'));
  // In two steps, so the correction of b is a second write of an already stored candle.
  await produceLines(topic, messages.slice(0, 8).map((x) => line(x.name, x.ms, x.value)));
  await waitForCandles(db, expectedCandles(messages.slice(0, 8)), 'candles of the first eight ticks');
  assert.equal(storedCandles(db)[`b@${T0 + MINUTE}`], '-1 -1 -1 -1 0 0 1');
  await produceLines(topic, messages.slice(8).map((x) => line(x.name, x.ms, x.value)));
  await waitForCandles(db, expected, 'the corrected candles');
  await sleep(500);
  assert.equal(await aggregator.stop(), 0);
  assert.match(aggregator.log(), /1 too late/);

  // The API serves them, and rolls them up in SQL.
  const port = await freePort();
  const api = startDaemon('api', ['--port', String(port), '--frontend-dir', join(root, 'frontend', 'dist')],
    { env: { DATABASE_URL: db.url, KAFKA_TOPIC: topic }, label: 'candles-api' });
  const iso = (ms) => new Date(ms).toISOString().replace('Z', '000Z'); // the API's microseconds
  const get = async (query) => {
    const response = await waitFor('the API', () => fetch(`http://127.0.0.1:${port}/api/tickers/${query}`).catch(() => null));
    return { status: response.status, body: await response.json() };
  };
  const range = `from=${iso(T0)}&to=${iso(T0 + 5 * MINUTE)}`;
  let { status, body } = await get(`a/candles?interval=1m&${range}`);
  assert.equal(status, 200);
  assert.deepEqual(body.candles.map((c) => [c.start, c.end, c.open, c.high, c.low, c.close, c.up_moves, c.down_moves, c.ticks]), [
    [iso(T0), iso(T0 + MINUTE), 1, 3, 1, 3, 2, 0, 3],
    [iso(T0 + MINUTE), iso(T0 + 2 * MINUTE), 2, 4, 2, 4, 2, 1, 3],
    [iso(T0 + 2 * MINUTE), iso(T0 + 3 * MINUTE), 5, 5, 5, 5, 1, 0, 1],
  ]);
  ({ status, body } = await get(`a/candles?interval=5m&${range}`));
  // Minutes 0-2 in one bucket: the first open, the last close, extremes, summed moves and ticks.
  assert.deepEqual(body.candles.map((c) => [c.start, c.open, c.high, c.low, c.close, c.up_moves, c.down_moves, c.ticks]),
    [[iso(T0), 1, 5, 1, 5, 5, 1, 7]]);
  assert.equal(body.interval, '5m');
  ({ status, body } = await get(`nobody/candles?${range}`));
  assert.deepEqual([status, body], [404, { error: 'unknown ticker' }]);
  ({ status, body } = await get('a/candles?interval=2m'));
  assert.equal(status, 400);
  assert.match(body.error, /interval.*1m, 5m, 15m, 1h, 1d/);
  assert.equal(await api.stop(), 0);
});

test('malformed and far-future messages are refused, counted and logged; the aggregator keeps going', async () => {
  const db = createDatabase('refused');
  const topic = createTopic('refused', 1);
  const adminPort = await freePort();
  const aggregator = startAggregator({ DATABASE_URL: db.url, KAFKA_TOPIC: topic }, uniqueName('group'),
    { args: ['--admin-port', String(adminPort)] });
  const future = new Date(Date.now() + 3600 * SECOND).toISOString();
  produceRaw(topic, 'x', ['{"name":"x","value":1}', 'not json', `{"name":"x","value":1,"time":"${future}"}`]);
  const ticks = [line('x', T0, 1), line('x', T0 + SECOND, 2), line('x', T0 + 2 * MINUTE, 3)];
  await produceLines(topic, ticks);
  await waitForCandles(db, { [`x@${T0}`]: '1 2 1 2 1 0 2' }, 'the valid ticks aggregated');
  const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  assert.match(metrics, /^tickerflow_aggregator_rejected_total 3$/m);
  assert.match(metrics, /^tickerflow_aggregator_ticks_total 3$/m);
  const log = aggregator.log();
  assert.match(log, /refused message at .*@0: .*time/);
  assert.match(log, /refused message at .*@2: its time is \d+ s past its Kafka timestamp/);
  assert.equal(await aggregator.stop(), 0);
});

test('beyond aggregator.max_tickers and max_held_ticks, ticks are refused, counted and logged; memory stays bounded', async () => {
  const db = createDatabase('limits');
  const topic = createTopic('limits', 1);
  const adminPort = await freePort();
  const aggregator = startAggregator({ DATABASE_URL: db.url, KAFKA_TOPIC: topic }, uniqueName('group'),
    { args: ['--admin-port', String(adminPort), '--max-tickers', '2', '--max-held-ticks', '5'] });
  // Three tickers in one minute: c is a ticker too many, and a's fourth tick a tick too many
  // (a and b hold 5 by then); the next minute closes the first.
  const ticks = [line('a', T0, 1), line('b', T0, 1), line('c', T0, 1), line('a', T0 + SECOND, 2),
    line('b', T0 + SECOND, 2), line('a', T0 + 2 * SECOND, 3), line('a', T0 + 3 * SECOND, 4),
    line('a', T0 + 2 * MINUTE, 5)];
  await produceLines(topic, ticks);
  await waitForCandles(db, { [`a@${T0}`]: '1 3 1 3 2 0 3', [`b@${T0}`]: '1 2 1 2 1 0 2' }, 'the accepted ticks aggregated');
  const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  assert.match(metrics, /^tickerflow_aggregator_over_limit_total 3$/m); // c, a's 4th, and a at T0+2min
  assert.match(aggregator.log(), /refused a tick of c at 0@2: partition holds 2 ticks of 2 tickers/);
  assert.equal(await aggregator.stop(), 0);
});

test('a partition gone quiet still closes its last minute after aggregator.idle_timeout_ms', async () => {
  const topic = createTopic('idle', 1);
  const quiet = createDatabase('idle');
  const waiting = createDatabase('noidle');
  await produceLines(topic, [line('q', T0 + 50 * SECOND, 1), line('q', T0 + 59 * SECOND, 2)]);
  const withIdle = startAggregator({ DATABASE_URL: quiet.url, KAFKA_TOPIC: topic }, uniqueName('group'),
    { label: 'idle', args: ['--idle-timeout-ms', '1000'] });
  const without = startAggregator({ DATABASE_URL: waiting.url, KAFKA_TOPIC: topic }, uniqueName('group'),
    { label: 'no-idle' });
  // Silent from the start: one second, then its time moves on; the minute closes when it
  // passes 1:00 + the out-of-orderness, about three seconds of silence after 0:59.
  await waitForCandles(quiet, { [`q@${T0}`]: '1 2 1 2 1 0 2' }, 'the quiet minute closed');
  await waitFor('the other aggregator checkpointed', () => waiting.query(
    "SELECT to_regclass('aggregator_offsets') IS NOT NULL AND EXISTS (SELECT 1 FROM aggregator_offsets)")[0][0] === 't');
  await sleep(3000);
  assert.equal(waiting.count('SELECT count(*) FROM candles_1m'), 0, 'with --idle-timeout-ms 0 the minute stays open');
  // Kept across a restart: the advanced time was checkpointed with the candle.
  assert.equal(await withIdle.stop(), 0);
  const [[newest]] = quiet.query(`SELECT (extract(epoch FROM newest_event) * 1000)::bigint FROM aggregator_offsets`);
  assert.ok(Number(newest) >= T0 + 62 * SECOND, 'the advanced event time is saved');
  assert.equal(await without.stop(), 0);
});

// Four tickers per partition, three partitions; 40 minutes of ticks at 1 Hz with jitter,
// a few late and too-late ones, produced in chunks so they flow for a while.
function walk(total) {
  const messages = [];
  const values = new Map();
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let i = 0; i < total; i++) {
    const name = `k${i % 12}`;
    const value = (values.get(name) ?? 0) + (random() < 0.5 ? 1 : -1);
    values.set(name, value);
    let ms = T0 + Math.floor(i / 12) * SECOND - Math.floor(random() * 3000);
    if (random() < 0.01) ms -= 20 * SECOND + Math.floor(random() * 60 * SECOND);
    messages.push({ name, ms, value });
  }
  return messages;
}

// Aggregates the whole topic once, undisturbed, into a database of its own; returns its
// candles once candles_1m stops changing.
async function cleanRun(topic) {
  const clean = createDatabase('clean');
  const aggregator = startAggregator({ DATABASE_URL: clean.url, KAFKA_TOPIC: topic }, uniqueName('group'), { label: 'clean' });
  await waitFor('the schema', () => clean.query("SELECT to_regclass('candles_1m') IS NOT NULL")[0][0] === 't');
  const summary = () => clean.query('SELECT count(*), sum(ticks), max(updated_at) FROM candles_1m')[0].join();
  let last = '';
  await waitFor('the clean run wrote all its candles', async () => {
    const now = summary();
    const settled = now === last && clean.count('SELECT count(*) FROM candles_1m') > 0;
    last = now;
    if (!settled) await sleep(1000);
    return settled;
  }, { timeoutMs: 90000 });
  const candles = storedCandles(clean);
  assert.equal(await aggregator.stop(), 0);
  return candles;
}

test('kill -9 at random moments, 8 times, while ticks flow: candles equal a clean run\'s', async () => {
  const TOTAL = 12 * 2400;
  const topic = createTopic('killed', 3);
  const lines = walk(TOTAL).map((x) => line(x.name, x.ms, x.value));
  const killed = createDatabase('killed');
  const killedGroup = uniqueName('group');
  const env = (db) => ({ DATABASE_URL: db.url, KAFKA_TOPIC: topic });

  let flowDone = false;
  const flowing = (async () => {
    for (let c = 0; c < 40; c++) {
      await produceLines(topic, lines.slice(c * TOTAL / 40, (c + 1) * TOTAL / 40));
      await sleep(150);
    }
    flowDone = true;
  })();
  let killsDuringFlow = 0;
  const savedAtKill = [];
  const saved = () => killed.query(`SELECT CASE WHEN to_regclass('aggregator_offsets') IS NULL THEN 0
    ELSE (SELECT coalesce(sum(next_offset), 0) FROM aggregator_offsets) END`)[0][0];
  for (let kill = 0; kill < 8; kill++) {
    const aggregator = startAggregator(env(killed), killedGroup, { label: `killed-${kill}` });
    await sleep(300 + Math.random() * 900);
    if (!flowDone) killsDuringFlow++;
    await aggregator.kill();
    savedAtKill.push(Number(saved()));
  }
  await flowing;
  console.log(`messages checkpointed at each kill -9: ${savedAtKill.join(', ')}`);
  assert.ok(killsDuringFlow >= 5, `at least 5 kills while ticks flowed (${killsDuringFlow})`);
  assert.ok(new Set(savedAtKill.filter((n) => n > 0)).size >= 4, 'the killed aggregators made progress between kills');
  const restarted = startAggregator(env(killed), killedGroup, { label: 'killed-final' });
  const want = await cleanRun(topic);
  await waitForCandles(killed, want, 'the killed run\'s candles equal the clean run\'s');
  console.log(`${Object.keys(want).length} candles; ${killsDuringFlow} kills while ticks flowed`);
  assert.equal(await restarted.stop(), 0);
});

test('two aggregators in one group, one killed mid-run: the other takes over; candles equal a clean run\'s', async () => {
  const TOTAL = 12 * 1800;
  const topic = createTopic('pair', 6);
  const lines = walk(TOTAL).map((x) => line(x.name, x.ms, x.value));
  const db = createDatabase('pair');
  const group = uniqueName('group');
  const env = { DATABASE_URL: db.url, KAFKA_TOPIC: topic };
  const args = ['--session-timeout-ms', '6000'];
  const a = startAggregator(env, group, { label: 'pair-a', instance: 'agg-a', args });
  const b = startAggregator(env, group, { label: 'pair-b', instance: 'agg-b', args });
  await waitFor('both aggregators to get partitions', () =>
    a.log().includes('reading 3 partitions') && b.log().includes('reading 3 partitions'));
  const half = lines.length / 2;
  await produceLines(topic, lines.slice(0, half));
  await waitFor('the first half checkpointed by both',
    () => db.count('SELECT coalesce(sum(next_offset), 0) FROM aggregator_offsets') === half, { timeoutMs: 30000 });
  const owners = db.count('SELECT count(*) FROM aggregator_offsets');
  await b.kill();
  await produceLines(topic, lines.slice(half));
  const want = await cleanRun(topic);
  await waitForCandles(db, want, 'the pair\'s candles equal a clean run\'s');
  assert.match(a.log(), /reading 6 partitions from the state saved in PostgreSQL/, 'the survivor took all six');
  assert.ok(owners >= 4, `${owners} partitions had ticks before the kill`);
  assert.equal(await a.stop(), 0);
});
