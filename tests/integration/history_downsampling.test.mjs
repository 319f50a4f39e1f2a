// History downsampling: GET .../history?max_points=N answers at most N buckets, each with
// the true min, max, last value and count of the rows it covers.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireServices, createDatabase, createTopic, freePort, root, startDaemon, waitFor, test } from '../lib/harness.mjs';

requireServices();

// Microseconds since the epoch of an RFC 3339 time with up to 6 fractional digits.
function microseconds(text) {
  const [, whole, fraction = ''] = text.match(/^([^.Z]*)(?:\.(\d+))?Z$/);
  return Date.parse(`${whole}Z`) * 1000 + Number(fraction.padEnd(6, '0'));
}

test('downsampled history has at most max_points buckets with the true min, max and last', async () => {
  const db = createDatabase('downsample');
  db.query(readFileSync(join(root, 'db', 'init.sql'), 'utf8'));
  // 5000 rows, one a second, values from a fixed pseudo-random walk; another ticker beside it.
  db.query(`INSERT INTO records (name, time, value)
            SELECT 'ds_a', timestamptz '2026-01-01 00:00:00Z' + i * interval '1 second',
                   (sum(CASE WHEN (i * 2654435761) % 7 < 3 THEN 1 ELSE -1 END) OVER (ORDER BY i))::int
            FROM generate_series(0, 4999) AS i`);
  db.query(`INSERT INTO records (name, time, value) SELECT 'ds_b', timestamptz '2026-01-01Z' + i * interval '1 second', 1000
            FROM generate_series(0, 99) AS i`);
  // Rows arriving late (older times than stored ones, in separate statements, one at the
  // very time of a stored row) land in 10-second buckets the rollup already holds.
  db.query(`INSERT INTO records (name, time, value) VALUES ('ds_a', '2026-01-01 00:05:00.5Z', 500),
            ('ds_a', '2026-01-01 00:30:00Z', -500)`);
  db.query(`INSERT INTO records (name, time, value) VALUES ('ds_a', '2026-01-01 00:30:00Z', 42),
            ('ds_a', '2026-01-01 01:00:09.999999Z', 7)`);
  assert.equal(db.rollupMismatches(), 0, 'the rollup matches records');
  const port = await freePort();
  const api = startDaemon('api', ['--port', String(port), '--frontend-dir', join(root, 'frontend', 'dist')],
    { env: { DATABASE_URL: db.url, KAFKA_TOPIC: createTopic('downsample') }, label: 'downsample-api' });
  const base = `http://127.0.0.1:${port}/api/tickers`;
  await waitFor('the API server', async () => (await fetch(base)).ok);

  const raw = db.query(`SELECT (extract(epoch FROM time) * 1000000)::bigint, value FROM records
                        WHERE name = 'ds_a' ORDER BY time, id`).map(([us, value]) => [Number(us), Number(value)]);
  // Ranges long enough per bucket (10 s or more) are read from the 10-second rollup plus
  // the raw rows of their unaligned ends; short ones from raw rows only.
  const ranges = [[100, ''], [7, ''], [1, ''], [50, '&from=2026-01-01T00:10:00Z&to=2026-01-01T00:20:00Z'],
    [20, '&from=2026-01-01T00:04:57.25Z&to=2026-01-01T01:00:09.999999Z'],
    [3, '&from=2026-01-01T00:29:59.5Z&to=2026-01-01T00:30:41.000001Z'], [600, '']];
  for (const [maxPoints, range] of ranges) {
    const answer = await (await fetch(`${base}/ds_a/history?max_points=${maxPoints}${range}`)).json();
    assert.ok(answer.buckets.length <= maxPoints, `${answer.buckets.length} buckets for max_points=${maxPoints}`);
    assert.ok(answer.buckets.length >= Math.min(maxPoints, 2), 'the range is actually split');
    if (answer.bucket_us >= 10e6) assert.equal(answer.bucket_us % 10e6, 0, 'rollup buckets are whole 10 s');
    const [from, to] = range ? range.match(/from=(.*)&to=(.*)/).slice(1).map(microseconds) : [-Infinity, Infinity];
    const inRange = raw.filter(([us]) => us >= from && us <= to);
    let covered = 0;
    for (const bucket of answer.buckets) {
      const start = microseconds(bucket.time);
      const rows = inRange.filter(([us]) => us >= start && us < start + answer.bucket_us);
      const values = rows.map(([, value]) => value);
      assert.deepEqual({ min: bucket.min, max: bucket.max, last: bucket.last, count: bucket.count },
        { min: Math.min(...values), max: Math.max(...values), last: values.at(-1), count: values.length },
        `bucket at ${bucket.time}`);
      covered += values.length;
    }
    assert.equal(covered, inRange.length, 'the buckets cover every row of the range exactly once');
    assert.equal(microseconds(answer.position), inRange.at(-1)[0], 'the answer ends at the range\'s last row');
  }

  const empty = await (await fetch(`${base}/ds_a/history?max_points=10&from=2027-01-01T00:00:00Z`)).json();
  assert.deepEqual(empty.buckets, []);
  assert.equal((await fetch(`${base}/nothing/history?max_points=10`)).status, 404);
  const both = await fetch(`${base}/ds_a/history?max_points=10&limit=10`);
  assert.equal(both.status, 400);
  assert.match((await both.json()).error, /either 'limit' .* or 'max_points'/);
  assert.equal(await api.stop(), 0);
});

test('a query over api.query_timeout_ms is cancelled and answered 503, and the worker recovers', async () => {
  const { spawn } = await import('node:child_process');
  const db = createDatabase('timeout');
  db.query(readFileSync(join(root, 'db', 'init.sql'), 'utf8'));
  db.query(`INSERT INTO records (name, time, value) VALUES ('slow', now(), 1)`);
  const port = await freePort();
  const adminPort = await freePort();
  const api = startDaemon('api', ['--port', String(port), '--query-threads', '1', '--query-timeout-ms', '300',
    '--admin-port', String(adminPort), '--frontend-dir', join(root, 'frontend', 'dist')],
    { env: { DATABASE_URL: db.url, KAFKA_TOPIC: createTopic('timeout') }, label: 'timeout-api' });
  const base = `http://127.0.0.1:${port}/api/tickers`;
  await waitFor('the API server', async () => (await fetch(base)).ok);

  // A real psql session holds the table locked, so the API's query waits past its timeout.
  const locker = spawn('psql', [db.url, '-X', '-q'], { stdio: ['pipe', 'ignore', 'inherit'] });
  locker.stdin.write('BEGIN; LOCK TABLE records IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(0);\n');
  await waitFor('the lock', () => db.count(`SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
    WHERE c.relname = 'records' AND l.mode = 'AccessExclusiveLock' AND l.granted`) === 1);
  const started = Date.now();
  const blocked = await fetch(`${base}/slow/history`);
  assert.equal(blocked.status, 503);
  assert.deepEqual(await blocked.json(), { error: 'database unavailable' });
  assert.ok(Date.now() - started < 3000, `answered after the timeout, not the lock (${Date.now() - started} ms)`);
  assert.match(api.log(), /over api\.query_timeout_ms \(300 ms\)/);
  const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  assert.match(metrics, /^tickerflow_api_query_timeouts_total 1$/m);

  locker.stdin.end('ROLLBACK;\n');
  await new Promise((resolve) => locker.on('exit', resolve));
  const after = await fetch(`${base}/slow/history`);
  assert.equal(after.status, 200, 'the same worker answers again once the lock is gone');
  assert.equal((await after.json()).points.length, 1);
  assert.equal(await api.stop(), 0);
});
