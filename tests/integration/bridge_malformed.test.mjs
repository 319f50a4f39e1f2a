// The bridge on bad input: malformed messages injected with kcat are logged with their
// topic/partition/offset, counted and skipped; the good ones around them are stored;
// the bridge keeps running, and after a restart nothing is stored twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireServices, createDatabase, createTopic, produceRaw, startDaemon, uniqueName, waitFor } from '../lib/harness.mjs';

requireServices();

const good = (value, second) => JSON.stringify({ name: 'good_one', value, time: `2026-11-23T12:00:0${second}.000001Z` });

const POISON = [
  ['invalid JSON', 'this is not json'],
  ['truncated JSON', '{"name":"good_one","value":1'],
  ['empty payload', ''],
  ['a JSON array', '[1,2,3]'],
  ['value of the wrong type', '{"name":"good_one","value":"7","time":"2026-11-23T12:00:00Z"}'],
  ['missing time', '{"name":"good_one","value":7}'],
  ['name longer than 10 bytes', '{"name":"much_too_long_name","value":7,"time":"2026-11-23T12:00:00Z"}'],
  ['name with a bad character', '{"name":"bad-name","value":7,"time":"2026-11-23T12:00:00Z"}'],
  ['value outside 32 bits', '{"name":"good_one","value":4294967296,"time":"2026-11-23T12:00:00Z"}'],
  ['unparsable time', '{"name":"good_one","value":7,"time":"23/11/2026"}'],
  ['an extra field', '{"name":"good_one","value":7,"time":"2026-11-23T12:00:00Z","extra":true}'],
  ['invalid UTF-8', Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xc3, 0x28]), Buffer.from('","value":1,"time":"2026-11-23T12:00:00Z"}')])],
];

test('malformed messages are skipped, counted and logged; good ones around them are stored once', async () => {
  const db = createDatabase('malformed');
  const topic = createTopic('malformed', 1);
  const group = uniqueName('group');
  const env = { DATABASE_URL: db.url, KAFKA_TOPIC: topic };
  let bridge = startDaemon('bridge', ['--group-id', group], { env, label: 'malformed-bridge' });

  produceRaw(topic, 'good_one', [good(1, 1), ...POISON.map(([, payload]) => payload), good(2, 2)]);
  await waitFor('both good messages in records', () => db.count('SELECT count(*) FROM records') === 2);

  assert.deepEqual(db.query("SELECT name, value FROM records ORDER BY time"), [['good_one', '1'], ['good_one', '2']]);
  const skipped = bridge.log().split('\n').filter((line) => line.includes('skipped malformed message'));
  assert.equal(skipped.length, POISON.length, 'one log line per malformed message');
  POISON.forEach((_, i) => {
    // Offsets: 0 is the first good message, the poison follows from offset 1 on partition 0.
    assert.ok(skipped[i].includes(`at ${topic}/0@${i + 1}:`), `topic/partition/offset logged: ${skipped[i]}`);
  });
  assert.match(skipped[0], /invalid JSON/);
  assert.match(skipped.join('\n'), /name is 18 bytes long/);
  assert.match(skipped.join('\n'), /outside the 32-bit range/);
  assert.ok(bridge.running(), 'the bridge keeps running');

  // More good data after the poison is still consumed.
  produceRaw(topic, 'good_one', [good(3, 3)]);
  await waitFor('the third good message', () => db.count('SELECT count(*) FROM records') === 3);
  assert.equal(await bridge.stop(), 0);
  assert.match(bridge.log(), new RegExp(`stored 3 rows in \\d+ batches, skipped ${POISON.length} malformed messages`));

  // The committed offsets cover the poison too: a restart re-reads nothing.
  bridge = startDaemon('bridge', ['--group-id', group], { env, label: 'malformed-bridge-2' });
  await waitFor('the restarted bridge to join', () => bridge.log().includes('assigned 1 partitions'));
  produceRaw(topic, 'good_one', [good(4, 4)]);
  await waitFor('the fourth good message', () => db.count('SELECT count(*) FROM records') === 4);
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(db.count('SELECT count(*) FROM records'), 4, 'nothing stored twice');
  assert.doesNotMatch(bridge.log(), /skipped malformed/, 'the poison is not read again');
  assert.equal(await bridge.stop(), 0);
});
