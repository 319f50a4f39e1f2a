// Least privilege: tickerflow-migrate gives each daemon's role what that daemon needs and
// nothing more; the API and the reader can only read; nobody but the owner changes the
// schema. (Every other integration test runs the daemons with these roles: everything works.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { requireServices, createDatabase, migrateDatabase, roleUrl, test } from '../lib/harness.mjs';

requireServices();

// Runs `sql` as `role`: null when it succeeds, else PostgreSQL's message.
function refusal(db, role, sql) {
  const result = spawnSync('psql', [roleUrl(db.url, role), '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' });
  return result.status === 0 ? null : result.stderr.trim();
}

const SAMPLE = {
  records: "INSERT INTO records (name, time, value) VALUES ('x', now(), 1)",
  candles_1m: "INSERT INTO candles_1m (ts_start, ts_end, name, open, high, low, close, up_moves, down_moves, ticks) " +
    "VALUES ('2026-01-01', '2026-01-01 00:01', 'x', 1, 1, 1, 1, 0, 0, 1)",
  trades: "INSERT INTO trades (exchange, base, quote, direction, price, volume, time) " +
    "VALUES ('x', 'a', 'b', 'buy', 1, 1, now())",
  bridge_offsets: "INSERT INTO bridge_offsets (topic, partition, next_offset) VALUES ('t', 0, 1)",
  aggregator_offsets: "INSERT INTO aggregator_offsets (group_id, topic, partition, next_offset, replay_offset) " +
    "VALUES ('g', 't', 0, 1, 1)",
};

test('the API, producer and reader roles can read what they serve and change nothing', () => {
  const db = createDatabase('roles');
  for (const role of ['api', 'producer', 'reader']) {
    assert.equal(refusal(db, role, 'SELECT count(*) FROM records'), null, `${role} reads records`);
    for (const [table, insert] of Object.entries(SAMPLE)) {
      assert.match(refusal(db, role, insert) ?? 'allowed', /permission denied/, `${role} may not insert into ${table}`);
    }
    assert.match(refusal(db, role, 'DELETE FROM records') ?? 'allowed', /permission denied/, `${role}: DELETE`);
    assert.match(refusal(db, role, 'UPDATE records SET value = 0') ?? 'allowed', /permission denied/, `${role}: UPDATE`);
    assert.match(refusal(db, role, 'TRUNCATE records') ?? 'allowed', /permission denied/, `${role}: TRUNCATE`);
    assert.match(refusal(db, role, 'DROP TABLE records') ?? 'allowed', /must be owner/, `${role}: DROP`);
    assert.match(refusal(db, role, 'CREATE TABLE mine (x int)') ?? 'allowed', /permission denied/, `${role}: CREATE`);
  }
  for (const table of ['records_10s', 'candles_1m', 'trades']) assert.equal(refusal(db, 'api', `SELECT 1 FROM ${table}`), null);
  assert.match(refusal(db, 'api', 'SELECT 1 FROM bridge_offsets') ?? 'allowed', /permission denied/,
    'the API sees only what it serves');
  assert.equal(refusal(db, 'reader', 'SELECT 1 FROM aggregator_offsets, dead_letters'), null, 'the reader reads all');
});

test('the bridge and the aggregator write their own tables only, and delete nothing', () => {
  const db = createDatabase('roles_writers');
  assert.equal(refusal(db, 'bridge', SAMPLE.records), null, 'the bridge inserts records (the rollup trigger too)');
  assert.equal(refusal(db, 'bridge', SAMPLE.bridge_offsets), null);
  assert.equal(refusal(db, 'bridge', SAMPLE.trades), null, 'the bridge inserts trades');
  assert.match(refusal(db, 'aggregator', SAMPLE.trades) ?? 'allowed', /permission denied/);
  assert.match(refusal(db, 'bridge', SAMPLE.candles_1m) ?? 'allowed', /permission denied/);
  assert.match(refusal(db, 'bridge', 'DELETE FROM records') ?? 'allowed', /permission denied/);
  assert.match(refusal(db, 'bridge', 'SELECT count(*) FROM records') ?? 'allowed', /permission denied/,
    'the bridge writes history but never reads it');
  assert.equal(refusal(db, 'aggregator', SAMPLE.candles_1m), null);
  assert.equal(refusal(db, 'aggregator', SAMPLE.aggregator_offsets), null);
  assert.match(refusal(db, 'aggregator', SAMPLE.records) ?? 'allowed', /permission denied/);
  assert.match(refusal(db, 'aggregator', 'DELETE FROM candles_1m') ?? 'allowed', /permission denied/);
  for (const role of ['bridge', 'aggregator']) {
    assert.match(refusal(db, role, 'DROP TABLE candles_1m') ?? 'allowed', /must be owner/, `${role}: DROP`);
    assert.match(refusal(db, role, 'ALTER TABLE records ADD COLUMN x int') ?? 'allowed', /must be owner/);
  }
});

test('migrating again changes nothing and keeps every privilege', () => {
  const db = createDatabase('roles_again');
  const before = db.query(`SELECT grantee, table_name, privilege_type FROM information_schema.role_table_grants
    WHERE grantee LIKE 'tickerflow\\_%' ORDER BY 1, 2, 3`);
  migrateDatabase(db.url);
  migrateDatabase(db.url);
  const after = db.query(`SELECT grantee, table_name, privilege_type FROM information_schema.role_table_grants
    WHERE grantee LIKE 'tickerflow\\_%' ORDER BY 1, 2, 3`);
  assert.deepEqual(after, before);
  assert.equal(db.count('SELECT count(*) FROM schema_version'), 1);
  assert.ok(before.length >= 15, `${before.length} grants`);
});
