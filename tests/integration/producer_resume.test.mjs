// The producer resumes each ticker from its last stored value after a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireServices, createDatabase, createTopic, startDaemon, uniqueName, waitFor } from '../lib/harness.mjs';

requireServices();

test('after a restart every ticker continues one step from its last stored value', async () => {
  const db = createDatabase('resume');
  const topic = createTopic('resume');
  const env = { DATABASE_URL: db.url, KAFKA_TOPIC: topic };
  const bridge = startDaemon('bridge', ['--group-id', uniqueName('group')], { env, label: 'resume-bridge' });
  const producerArgs = ['--tickers', '5', '--interval-ms', '100'];

  let producer = startDaemon('producer', producerArgs, { env, label: 'resume-producer-1' });
  await waitFor('some history', () => db.count('SELECT count(*) FROM records') >= 100);
  assert.equal(await producer.stop(), 0);
  assert.match(producer.log(), /seeded 0 of 5 tickers/);
  const delivered = Number(/(\d+) delivered, 0 failed/.exec(producer.log())[1]);
  await waitFor('the bridge to store every delivered message',
    () => db.count('SELECT count(*) FROM records') === delivered);

  const last = Object.fromEntries(db.query(
    'SELECT DISTINCT ON (name) name, value, time FROM records ORDER BY name, time DESC, id DESC')
    .map(([name, value, time]) => [name, { value: Number(value), time }]));
  assert.equal(Object.keys(last).length, 5);
  // Make the test meaningful: at least one ticker must have wandered away from 0.
  assert.ok(Object.values(last).some(({ value }) => Math.abs(value) > 1) || delivered < 50);

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
