// The producer resumes each ticker from its last value after a restart: from records, and
// from the topic when records lags behind it.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireServices, createDatabase, createTopic, consumeAll, startDaemon, uniqueName, waitFor, waitForValue, bridgeProgress, test } from '../lib/harness.mjs';

requireServices();

test('after a restart every ticker continues one step from its last stored value', async () => {
  const db = createDatabase('resume');
  const topic = createTopic('resume');
  const env = { DATABASE_URL: db.url, KAFKA_TOPIC: topic };
  const bridge = startDaemon('bridge', ['--group-id', uniqueName('group')], { env, label: 'resume-bridge' });
  const producerArgs = ['--tickers', '5', '--interval-ms', '100'];
  // Each ticker's history starts far from 0 (100, 200, ... an hour ago), so a restart that
  // did not resume (a walk from 0) could never pass for one that did, whatever the walk does.
  db.query(`INSERT INTO records (name, time, value)
    SELECT 'ticker_0' || i, now() - interval '1 hour', (i + 1) * 100 FROM generate_series(0, 4) i`);

  let producer = startDaemon('producer', producerArgs, { env, label: 'resume-producer-1' });
  await waitFor('some history', () => db.count('SELECT count(*) FROM records') >= 105);
  assert.equal(await producer.stop(), 0);
  assert.match(producer.log(), /seeded 5 of 5 tickers/);
  const delivered = Number(/(\d+) delivered, 0 refused/.exec(producer.log())[1]);
  await waitForValue('the bridge to store every delivered message', () => db.count('SELECT count(*) FROM records'),
    delivered + 5, { explain: () => bridgeProgress(db, topic) });

  const last = Object.fromEntries(db.query(
    'SELECT DISTINCT ON (name) name, value, time FROM records ORDER BY name, time DESC, id DESC')
    .map(([name, value, time]) => [name, { value: Number(value), time }]));
  assert.equal(Object.keys(last).length, 5);
  for (const [name, { value }] of Object.entries(last)) assert.ok(Math.abs(value) > 50, `${name} is at ${value}`);

  producer = startDaemon('producer', producerArgs, { env, label: 'resume-producer-2' });
  await waitFor('the restarted producer to seed', () => producer.log().includes('seeded 5 of 5 tickers'));
  await waitFor('new rows for every ticker', () => Object.entries(last).every(([name, { time }]) =>
    db.count(`SELECT count(*) FROM records WHERE name = '${name}' AND time > '${time}'`) > 0));
  assert.equal(await producer.stop(), 0);

  for (const [name, { value, time }] of Object.entries(last)) {
    const [[next]] = db.query(
      `SELECT value FROM records WHERE name = '${name}' AND time > '${time}' ORDER BY time, id LIMIT 1`);
    assert.equal(Math.abs(Number(next) - value), 1, `${name} resumed from ${value}, next was ${next}`);
  }
  assert.equal(await bridge.stop(), 0);
});

// The producer's own sequence, message by message in the topic: each ticker's messages
// (one partition each, in offset order) must move exactly one step at a time.
function topicSequences(topic) {
  const byName = new Map();
  for (const line of consumeAll(topic)) {
    const { name, value, time } = JSON.parse(line);
    if (!byName.has(name)) byName.set(name, []);
    byName.get(name).push({ value, time });
  }
  return byName;
}

test('killed while the bridge is down, the producer resumes from the topic, not from stale records', async () => {
  const db = createDatabase('resume_lag');
  const topic = createTopic('resume_lag');
  const env = { DATABASE_URL: db.url, KAFKA_TOPIC: topic };
  const producerArgs = ['--tickers', '5', '--interval-ms', '50'];
  let bridge = startDaemon('bridge', ['--group-id', 'lagging'], { env, label: 'resume-lag-bridge-1' });
  let producer = startDaemon('producer', producerArgs, { env, label: 'resume-lag-producer-1' });
  await waitFor('some history', () => db.count('SELECT count(*) FROM records') >= 50);

  // The bridge stops: records falls behind the topic while the producer goes on.
  assert.equal(await bridge.stop(), 0);
  const stored = db.count('SELECT count(*) FROM records');
  await sleep(2500); // ~250 more messages (kcat cannot read "everything" while they flow)
  await producer.kill();
  const before = topicSequences(topic);
  const published = [...before.values()].reduce((sum, values) => sum + values.length, 0);
  assert.ok(published >= stored + 100, `the topic (${published}) ran ahead of records (${stored})`);

  producer = startDaemon('producer', producerArgs, { env, label: 'resume-lag-producer-2' });
  await waitFor('the restarted producer to read the topic',
    () => /resumed 5 of 5 tickers from the last values in topic/.test(producer.log()));
  await sleep(1000); // ~20 moves of each ticker
  assert.equal(await producer.stop(), 0);

  const sequences = topicSequences(topic);
  assert.equal(sequences.size, 5);
  for (const [name, values] of sequences) {
    assert.ok(values.length > before.get(name).length + 5, `${name} moved after the restart`);
  }
  for (const [name, values] of sequences) {
    assert.equal(Math.abs(values[0].value), 1, `${name} starts one step from 0`);
    values.forEach((entry, i) => {
      if (i > 0) assert.equal(Math.abs(entry.value - values[i - 1].value), 1,
        `${name}: ${values[i - 1].value} then ${entry.value} at message ${i} (restart after ${before.get(name).length})`);
    });
  }
  // And once the bridge is back, records holds exactly the topic.
  bridge = startDaemon('bridge', ['--group-id', 'lagging'], { env, label: 'resume-lag-bridge-2' });
  const total = [...sequences.values()].reduce((sum, values) => sum + values.length, 0);
  await waitForValue('the bridge to catch up', () => db.count('SELECT count(*) FROM records'), total,
    { timeoutMs: 30000, explain: () => bridgeProgress(db, topic) });
  assert.equal(db.count('SELECT count(*) FROM (SELECT name, time FROM records GROUP BY name, time HAVING count(*) > 1) d'), 0);
  assert.equal(await bridge.stop(), 0);
});
