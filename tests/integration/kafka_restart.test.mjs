// The Kafka broker restarted mid-run: the producer keeps its messages until the broker is
// back (nothing dropped), the bridge reconnects by itself, and every ticker's stored
// history is one continuous walk: no value missing, none stored twice.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  requireServices, createDatabase, createTopic, startDaemon, startKafka, stopKafka, uniqueName, waitFor,
  test, waitForValue, bridgeProgress
} from '../lib/harness.mjs';

requireServices();

test('a broker restart loses and repeats nothing', async () => {
  const db = createDatabase('restart');
  const topic = createTopic('restart');
  const env = { DATABASE_URL: db.url, KAFKA_TOPIC: topic };
  const bridge = startDaemon('bridge', ['--group-id', uniqueName('group')], { env, label: 'restart-bridge' });
  const producer = startDaemon('producer', ['--tickers', '5', '--interval-ms', '100'], { env, label: 'restart-producer' });
  await waitFor('rows flowing', () => db.count('SELECT count(*) FROM records') > 100);

  stopKafka();
  await sleep(5000);
  const duringOutage = db.count('SELECT count(*) FROM records');
  startKafka();
  await waitFor('rows flowing again', () => db.count('SELECT count(*) FROM records') > duringOutage + 100,
    { timeoutMs: 60000 });

  assert.equal(await producer.stop(), 0);
  const delivered = Number(/(\d+) delivered, 0 refused/.exec(producer.log())?.[1]);
  assert.ok(delivered > 200, `the producer delivered everything it made (${producer.log().split('\n').at(-3)})`);
  await waitForValue('the bridge to store every delivered message', () => db.count('SELECT count(*) FROM records'), delivered, { explain: () => bridgeProgress(db, topic), timeoutMs: 60000 });
  await sleep(1000);
  assert.equal(db.count('SELECT count(*) FROM records'), delivered, 'nothing stored twice');
  assert.ok(bridge.running(), 'the bridge needed no hand');

  // Each ticker's values, in time order, move by exactly one step: no hole, no repeat.
  for (const [name, steps, bad] of db.query(`
      SELECT name, count(*), count(*) FILTER (WHERE abs(value - previous) <> 1) FROM (
        SELECT name, value, lag(value) OVER (PARTITION BY name ORDER BY time, id) AS previous FROM records) walk
      WHERE previous IS NOT NULL GROUP BY name`)) {
    assert.equal(bad, '0', `${name}: ${bad} of ${steps} steps are not exactly one`);
  }
  assert.equal(await bridge.stop(), 0);
});
