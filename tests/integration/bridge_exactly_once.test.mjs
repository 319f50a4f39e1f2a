// Exactly once into PostgreSQL, whatever is killed when. Each test produces sequenced
// messages (key s<k>, value = the k-th key's sequence number) while something breaks,
// then checks that records holds every (name, value) exactly once.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  requireServices, createDatabase, createTopic, produceLines, startDaemon, startPostgres, stopPostgres, uniqueName, waitFor,
  test, waitForValue, bridgeProgress
} from '../lib/harness.mjs';

requireServices();

const KEYS = 20;
const BASE_US = Date.UTC(2026, 10, 23, 12) * 1000;

function line(i) {
  const us = BASE_US + i;
  const time = new Date(Math.floor(us / 1000)).toISOString().replace('Z', `${String(us % 1000).padStart(3, '0')}Z`);
  const name = `s${i % KEYS}`;
  return `${name}\t${JSON.stringify({ name, value: Math.floor(i / KEYS), time })}`;
}

// Produces `total` messages in `chunks` chunks with a pause between them, so they flow
// for a while; resolves when all are in Kafka.
async function flow(topic, total, chunks, pauseMs) {
  const size = total / chunks;
  for (let c = 0; c < chunks; c++) {
    await produceLines(topic, Array.from({ length: size }, (_, j) => line(c * size + j)));
    await sleep(pauseMs);
  }
}

function assertExactlyOnce(db, total) {
  const [[rows, distinct]] = db.query('SELECT count(*), count(DISTINCT (name, value)) FROM records');
  assert.equal(Number(distinct), Number(rows), 'no (name, value) stored twice');
  assert.equal(Number(rows), total, 'every message stored');
  const perKey = db.query('SELECT name, count(*), min(value), max(value) FROM records GROUP BY name ORDER BY name');
  assert.equal(perKey.length, KEYS);
  for (const [name, count, min, max] of perKey) {
    assert.deepEqual([Number(count), Number(min), Number(max)], [total / KEYS, 0, total / KEYS - 1], name);
  }
  assert.equal(db.count('SELECT count(*) FROM dead_letters'), 0);
  assert.equal(db.rollupMismatches(), 0, 'the 10-second rollup matches records exactly');
}

function setup(prefix) {
  const db = createDatabase(prefix);
  const topic = createTopic(prefix, 6);
  return { db, topic, group: uniqueName('group'), env: { DATABASE_URL: db.url, KAFKA_TOPIC: topic } };
}

test('kill -9 of the bridge at random moments, 12 times, while 200k messages flow', async () => {
  const TOTAL = 200000;
  const { db, topic, group, env } = setup('killed');
  let flowDone = false;
  const flowing = flow(topic, TOTAL, 100, 100).then(() => { flowDone = true; });
  const countsAtKill = [];
  let killsDuringFlow = 0;
  for (let kill = 0; kill < 12; kill++) {
    const bridge = startDaemon('bridge', ['--group-id', group, '--instance-id', 'bridge-a', '--batch-max-rows', '5000'],
      { env, label: `killed-${kill}` });
    await sleep(400 + Math.random() * 1200);
    if (!flowDone) killsDuringFlow++;
    await bridge.kill();
    countsAtKill.push(db.count('SELECT count(*) FROM records'));
  }
  await flowing;
  console.log(`records at each kill -9: ${countsAtKill.join(', ')} (${killsDuringFlow} while messages flowed)`);
  assert.ok(killsDuringFlow >= 10, `at least 10 kills while messages flowed (${killsDuringFlow})`);

  const bridge = startDaemon('bridge', ['--group-id', group, '--instance-id', 'bridge-a'], { env, label: 'killed-final' });
  await waitForValue('every message stored', () => db.count('SELECT count(*) FROM records'), (n) => n >= TOTAL, { explain: () => bridgeProgress(db, topic), timeoutMs: 120000 });
  await sleep(1000); // a duplicate would arrive now
  assert.equal(await bridge.stop(), 0);
  assertExactlyOnce(db, TOTAL);
});

test('two bridges in one group, one killed mid-run: the other takes over, exactly once', async () => {
  const TOTAL = 60000;
  const { db, topic, group, env } = setup('pair');
  const args = (id) => ['--group-id', group, '--instance-id', id, '--session-timeout-ms', '6000'];
  const a = startDaemon('bridge', args('bridge-a'), { env, label: 'pair-a' });
  const b = startDaemon('bridge', args('bridge-b'), { env, label: 'pair-b' });
  await waitFor('both bridges to get partitions', () => a.log().includes('reading 3 partitions') && b.log().includes('reading 3 partitions'));
  const flowing = flow(topic, TOTAL, 30, 200);
  await waitFor('rows flowing through both', () => db.count('SELECT count(DISTINCT name) FROM records') === KEYS);
  await b.kill();
  await flowing;
  await waitForValue('every message stored by the survivor', () => db.count('SELECT count(*) FROM records'), (n) => n >= TOTAL, { explain: () => bridgeProgress(db, topic), timeoutMs: 60000 });
  await sleep(1000);
  assert.match(a.log(), /reading 6 partitions from the positions stored in PostgreSQL/, 'the survivor took all six');
  assert.equal(await a.stop(), 0);
  assertExactlyOnce(db, TOTAL);
});

test('PostgreSQL stopped for 10 s mid-run: the bridge pauses, resumes by itself, exactly once', async () => {
  const TOTAL = 40000;
  const { db, topic, group, env } = setup('outage');
  const bridge = startDaemon('bridge', ['--group-id', group], { env, label: 'outage' });
  const flowing = flow(topic, TOTAL, 40, 400);
  await waitFor('rows flowing', () => db.count('SELECT count(*) FROM records') > 3000);
  stopPostgres();
  await sleep(10000);
  startPostgres();
  await flowing;
  await waitForValue('every message stored', () => db.count('SELECT count(*) FROM records'), (n) => n >= TOTAL, { explain: () => bridgeProgress(db, topic), timeoutMs: 60000 });
  await sleep(1000);
  assert.ok(bridge.running(), 'no hand was needed');
  assert.match(bridge.log(), /not stored .*pausing until PostgreSQL says where to resume/);
  assert.match(bridge.log(), /cannot read the positions stored in PostgreSQL \(retrying/);
  assert.equal(await bridge.stop(), 0);
  assertExactlyOnce(db, TOTAL);
});
