// The bridge on bad input: malformed messages injected with kcat are logged with their
// topic/partition/offset and stored byte for byte in dead_letters, in the same
// transaction as the good rows around them; a row PostgreSQL itself refuses is isolated
// and dead-lettered without aborting its neighbours; nothing is stored twice on restart.
import assert from 'node:assert/strict';
import { requireServices, createDatabase, createTopic, produceRaw, startDaemon, uniqueName, waitFor, test, waitForValue, bridgeProgress } from '../lib/harness.mjs';

requireServices();

const good = (value, second) => JSON.stringify({ name: 'good_one', value, time: `2026-11-23T12:00:0${second}.000001Z` });

const POISON = [
  ['invalid JSON', 'this is not json', /invalid JSON/],
  ['truncated JSON', '{"name":"good_one","value":1', /invalid JSON/],
  ['empty payload', '', /invalid JSON: empty message/],
  ['a JSON array', '[1,2,3]', /must be a JSON object/],
  ['value of the wrong type', '{"name":"good_one","value":"7","time":"2026-11-23T12:00:00Z"}', /'value' must be an integer/],
  ['missing time', '{"name":"good_one","value":7}', /missing field 'time'/],
  ['name longer than 10 bytes', '{"name":"much_too_long_name","value":7,"time":"2026-11-23T12:00:00Z"}', /name is 18 bytes long/],
  ['name with a bad character', '{"name":"bad-name","value":7,"time":"2026-11-23T12:00:00Z"}', /outside \[A-Za-z0-9_\]/],
  ['value outside 32 bits', '{"name":"good_one","value":4294967296,"time":"2026-11-23T12:00:00Z"}', /outside the 32-bit range/],
  ['unparsable time', '{"name":"good_one","value":7,"time":"23/11/2026"}', /time is not RFC 3339/],
  ['an extra field', '{"name":"good_one","value":7,"time":"2026-11-23T12:00:00Z","extra":true}', /unknown field 'extra'/],
  ['invalid UTF-8', Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xc3, 0x28]), Buffer.from('","value":1,"time":"2026-11-23T12:00:00Z"}')]), /invalid JSON/],
];

test('malformed messages go to dead_letters byte for byte; good ones around them are stored once', async () => {
  const db = createDatabase('malformed');
  const topic = createTopic('malformed', 1);
  const group = uniqueName('group');
  const env = { DATABASE_URL: db.url, KAFKA_TOPIC: topic };
  let bridge = startDaemon('bridge', ['--group-id', group], { env, label: 'malformed-bridge' });

  produceRaw(topic, 'good_one', [good(1, 1), ...POISON.map(([, payload]) => payload), good(2, 2)]);
  await waitForValue('both good messages in records', () => db.count('SELECT count(*) FROM records'), 2, { explain: () => bridgeProgress(db, topic) });
  await waitForValue('every poison message in dead_letters', () => db.count('SELECT count(*) FROM dead_letters'), POISON.length, { explain: () => bridgeProgress(db, topic) });

  assert.deepEqual(db.query('SELECT name, value FROM records ORDER BY time'), [['good_one', '1'], ['good_one', '2']]);
  const letters = db.query(`SELECT topic, partition, kafka_offset, encode(payload, 'hex'), error,
                                   kafka_timestamp IS NOT NULL FROM dead_letters ORDER BY kafka_offset`);
  POISON.forEach(([what, payload, reason], i) => {
    const [letterTopic, partition, offset, hex, error, hasTimestamp] = letters[i];
    assert.equal(letterTopic, topic, what);
    assert.equal(partition, '0', what);
    assert.equal(offset, String(i + 1), `${what}: offset (0 is the first good message)`);
    assert.equal(hex, Buffer.from(payload).toString('hex'), `${what}: raw bytes kept`);
    assert.match(error, reason, what);
    assert.equal(hasTimestamp, 't', `${what}: Kafka timestamp kept`);
  });
  const logged = bridge.log().split('\n').filter((line) => line.includes('dead-lettered malformed message'));
  assert.equal(logged.length, POISON.length, 'one log line per malformed message');
  POISON.forEach((_, i) => assert.ok(logged[i].includes(`at ${topic}/0@${i + 1}:`), logged[i]));
  assert.deepEqual(db.query(`SELECT partition, next_offset FROM bridge_offsets WHERE topic = '${topic}'`),
    [['0', String(POISON.length + 2)]], 'the stored position covers the poison');
  assert.ok(bridge.running(), 'the bridge keeps running');

  // A row PostgreSQL refuses (a constraint the bridge cannot know) is isolated: it goes to
  // dead_letters with PostgreSQL's reason, its neighbours in the same batch are stored.
  db.query('ALTER TABLE records ADD CONSTRAINT no_666 CHECK (value <> 666)');
  produceRaw(topic, 'good_one', [good(3, 3), good(666, 4), good(5, 5)]);
  await waitForValue('the neighbours of the refused row', () => db.count('SELECT count(*) FROM records'), 4, { explain: () => bridgeProgress(db, topic) });
  await waitForValue('the refused row in dead_letters', () => db.count('SELECT count(*) FROM dead_letters'), POISON.length + 1, { explain: () => bridgeProgress(db, topic) });
  assert.deepEqual(db.query('SELECT value FROM records ORDER BY time').map(([v]) => v), ['1', '2', '3', '5']);
  const [[payload, error]] = db.query(
    `SELECT convert_from(payload, 'UTF8'), error FROM dead_letters ORDER BY id DESC LIMIT 1`);
  assert.equal(payload, good(666, 4));
  assert.match(error, /refused by PostgreSQL: .*violates check constraint "no_666"/);

  assert.equal(await bridge.stop(), 0);
  assert.match(bridge.log(), new RegExp(`stored 4 rows and ${POISON.length + 1} dead letters`));

  // Restarted, the bridge reads on from the offsets in PostgreSQL: nothing twice.
  bridge = startDaemon('bridge', ['--group-id', group], { env, label: 'malformed-bridge-2' });
  await waitFor('the restarted bridge to resume', () => bridge.log().includes('from the positions stored in PostgreSQL'));
  produceRaw(topic, 'good_one', [good(6, 6)]);
  await waitForValue('the sixth good message', () => db.count('SELECT count(*) FROM records'), 5, { explain: () => bridgeProgress(db, topic) });
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(db.count('SELECT count(*) FROM records'), 5, 'nothing stored twice');
  assert.equal(db.count('SELECT count(*) FROM dead_letters'), POISON.length + 1, 'no dead letter twice');
  assert.equal(await bridge.stop(), 0);
});
