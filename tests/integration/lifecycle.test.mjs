// How each daemon ends: a signal is a clean stop (exit 0); a condition no retry mends is a
// fatal one (exit 1, the reason logged once), so a supervisor (systemd Restart=on-failure,
// compose, Kubernetes) can tell them apart; and a stop is quick whatever is down.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  requireServices, createDatabase, createTopic, deleteTopic, freePort, migrateDatabase, openClient, root, runDaemon,
  startDaemon, startKafka, startPostgres, stopKafka, stopPostgres, uniqueName, waitFor, test,
} from '../lib/harness.mjs';

requireServices();

const DAEMONS = ['producer', 'bridge', 'aggregator', 'api'];

// The arguments each daemon runs with here (its own group; the API on a free port).
async function argsOf(daemon) {
  switch (daemon) {
    case 'producer': return ['--tickers', '3', '--interval-ms', '100'];
    case 'bridge': return ['--group-id', uniqueName('group')];
    case 'aggregator': return ['--group-id', uniqueName('group')];
    default: return ['--port', String(await freePort()), '--frontend-dir', join(root, 'frontend', 'dist')];
  }
}

// Waits for the daemon to exit on its own within `timeoutMs`; returns its exit code.
async function exitWithin(daemon, timeoutMs, what) {
  const exited = await Promise.race([daemon.waitForExit(), sleep(timeoutMs).then(() => null)]);
  assert.ok(exited !== null, `${what}: still running after ${timeoutMs} ms`);
  return exited.code;
}

// The reason of a fatal stop is logged once, as one "stopping:" line at ERROR.
function assertOneReason(log, pattern, what) {
  const reasons = log.split('\n').filter((line) => / ERROR .*stopping: /.test(line));
  assert.equal(reasons.length, 1, `${what}: one reason logged, got:\n${reasons.join('\n')}`);
  assert.match(reasons[0], pattern, what);
}

for (const daemon of DAEMONS) {
  test(`${daemon}: SIGTERM stops it cleanly with exit code 0`, async () => {
    const db = createDatabase(`stop_${daemon}`);
    const topic = createTopic(`stop_${daemon}`);
    const process = startDaemon(daemon, await argsOf(daemon), { env: { DATABASE_URL: db.url, KAFKA_TOPIC: topic },
      label: `lifecycle-stop-${daemon}` });
    await sleep(2500);
    assert.ok(process.running(), `${daemon} runs`);
    const started = Date.now();
    assert.equal(await process.stop(), 0);
    assert.ok(Date.now() - started < 5000, `stopped in ${Date.now() - started} ms`);
    assert.doesNotMatch(process.log(), / ERROR /);
  });

  test(`${daemon}: credentials PostgreSQL refuses stop it with exit code 1 and the reason`, async () => {
    const db = createDatabase(`role_${daemon}`);
    const topic = createTopic(`role_${daemon}`);
    // A role that does not exist: PostgreSQL answers, and refuses; retrying cannot help.
    const url = new URL(db.url);
    url.username = 'no_such_role';
    const process = startDaemon(daemon, await argsOf(daemon), { env: { DATABASE_URL: url.toString(), KAFKA_TOPIC: topic },
      label: `lifecycle-role-${daemon}` });
    assert.equal(await exitWithin(process, 20000, daemon), 1);
    assertOneReason(process.log(), /role "no_such_role" does not exist/, daemon);
  });

  test(`${daemon}: its topic deleted while it runs stops it with exit code 1 and the reason`, async () => {
    const db = createDatabase(`gone_${daemon}`);
    const topic = createTopic(`gone_${daemon}`, 2);
    const process = startDaemon(daemon, await argsOf(daemon), { env: { DATABASE_URL: db.url, KAFKA_TOPIC: topic },
      label: `lifecycle-gone-${daemon}` });
    await waitFor(`${daemon} reading or writing the topic`, () => /assigned|reading|publishing to topic|live feed reading/
      .test(process.log()), { timeoutMs: 20000 });
    await sleep(1000);
    deleteTopic(topic);
    // The producer learns it when its messages fail for good (librdkafka gives the topic
    // topic.metadata.propagation.max.ms, 30 s, to come back).
    assert.equal(await exitWithin(process, 60000, daemon), 1);
    assertOneReason(process.log(), /topic .*(deleted|does not exist|Unknown topic)|refused the message/i, daemon);
  });
}

test('migrate: a schema that cannot be applied exits 1 with the reason; the daemons wait for one that is applied', async () => {
  const db = createDatabase('badschema', { migrate: false });
  // An older, incompatible `records`: db/init.sql's index on (name, time) cannot be made.
  db.query('CREATE TABLE records (id bigserial PRIMARY KEY, payload text)');
  const migrate = await runDaemon('migrate', ['--database-url', db.url]);
  assert.equal(migrate.status, 1, migrate.stderr);
  assert.match(migrate.stderr, /ERROR .*stopping: .*applying db\/init\.sql.*column "name" does not exist/);
  assert.equal(db.count("SELECT count(*) FROM pg_tables WHERE tablename = 'schema_version'"), 0, 'rolled back whole');

  // A bridge started before any migration waits for it (rather than failing), and goes on
  // once the schema is there.
  const fresh = createDatabase('latemigrate', { migrate: false });
  const topic = createTopic('latemigrate');
  // Its role must exist to log in at all: an earlier migration of another database made it.
  const bridge = startDaemon('bridge', ['--group-id', uniqueName('group')],
    { env: { DATABASE_URL: fresh.url, KAFKA_TOPIC: topic }, label: 'lifecycle-latemigrate' });
  await waitFor('the bridge to wait for the schema', () => /no tickerflow schema yet: run tickerflow-migrate/.test(bridge.log()),
    { timeoutMs: 20000 });
  assert.ok(bridge.running());
  migrateDatabase(fresh.url);
  await waitFor('the bridge to connect', () => /connected to PostgreSQL/.test(bridge.log()), { timeoutMs: 20000 });
  assert.equal(await bridge.stop(), 0);
});

test('every daemon stops within 9 s, exit code 0, while Kafka and PostgreSQL are both down', async () => {
  const db = createDatabase('both_down');
  const topic = createTopic('both_down');
  const env = { DATABASE_URL: db.url, KAFKA_TOPIC: topic };
  const running = {};
  for (const daemon of DAEMONS) running[daemon] = startDaemon(daemon, await argsOf(daemon), { env, label: `lifecycle-down-${daemon}` });
  await waitFor('rows stored', () => db.count('SELECT count(*) FROM records') > 20, { timeoutMs: 30000 });
  await waitFor('the aggregator reading', () => /reading \d+ partitions/.test(running.aggregator.log()), { timeoutMs: 20000 });
  stopKafka();
  stopPostgres();
  try {
    await sleep(3000); // long enough for every daemon to notice and start retrying
    const took = {};
    await Promise.all(DAEMONS.map(async (daemon) => {
      const started = Date.now();
      const code = await running[daemon].stop(20000);
      took[daemon] = Date.now() - started;
      assert.equal(code, 0, `${daemon} exit code (log: ${running[daemon].logPath})`);
    }));
    console.log(`stop times with Kafka and PostgreSQL down (ms): ${JSON.stringify(took)}`);
    for (const daemon of DAEMONS) assert.ok(took[daemon] < 9000, `${daemon} stopped in ${took[daemon]} ms`);
  } finally {
    startPostgres();
    startKafka();
  }
});

// Holds an ACCESS EXCLUSIVE lock on records from a psql session until release() is called:
// every query that reads records waits meanwhile.
async function lockRecords(db) {
  const psql = spawn('psql', [db.url, '-X', '-q', '-v', 'ON_ERROR_STOP=1'], { stdio: ['pipe', 'ignore', 'inherit'] });
  psql.stdin.write('BEGIN; LOCK TABLE records IN ACCESS EXCLUSIVE MODE;\n');
  await waitFor('the lock on records', () => db.count(`SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
    WHERE c.relname = 'records' AND l.mode = 'AccessExclusiveLock' AND l.granted`) === 1);
  return {
    release() {
      psql.stdin.end('COMMIT;\n');
      return new Promise((resolve) => psql.on('exit', resolve));
    },
  };
}

test('api: stops cleanly while history queries and resumes are in flight, in either order of their ends', async () => {
  const db = createDatabase('api_stop');
  const topic = createTopic('api_stop');
  const env = { DATABASE_URL: db.url, KAFKA_TOPIC: topic };
  const bridge = startDaemon('bridge', ['--group-id', uniqueName('group')], { env, label: 'api-stop-bridge' });
  const producer = startDaemon('producer', ['--tickers', '3', '--interval-ms', '20'], { env, label: 'api-stop-producer' });
  await waitFor('history', () => db.count('SELECT count(*) FROM records') > 600, { timeoutMs: 30000 });
  const since = db.query('SELECT min(time) FROM records')[0][0];
  // The lock released before the stop, just after it, and later: queries end before the
  // context goes, while it goes, and only once the workers are being stopped.
  for (const releaseAfterMs of [-50, 30, 1500]) {
    const port = await freePort();
    const api = startDaemon('api', ['--port', String(port), '--frontend-dir', join(root, 'frontend', 'dist'),
      '--replay-ticks', '16'], { env, label: `api-stop-${releaseAfterMs}` });
    await waitFor('the API server', async () => (await fetch(`http://127.0.0.1:${port}/api/tickers`)).ok);
    const lock = await lockRecords(db);
    const requests = Array.from({ length: 20 }, (_, i) =>
      fetch(`http://127.0.0.1:${port}/api/tickers/ticker_0${i % 3}/history?limit=500`).then((r) => r.status, () => 'closed'));
    const clients = await Promise.all(Array.from({ length: 5 }, () => openClient(port)));
    for (const client of clients) client.send({ op: 'subscribe', tickers: ['ticker_00', 'ticker_01'], since });
    await sleep(500); // the requests and resumes reach the query pool and wait on the lock
    let released;
    if (releaseAfterMs < 0) released = lock.release();
    const started = Date.now();
    api.child.kill('SIGTERM');
    if (releaseAfterMs >= 0) released = sleep(releaseAfterMs).then(() => lock.release());
    const { code } = await api.waitForExit();
    const took = Date.now() - started;
    await released;
    assert.equal(code, 0, `exit code with the lock released ${releaseAfterMs} ms after the stop`);
    assert.ok(took < 9000, `stopped in ${took} ms`);
    assert.match(api.log(), /INFO  api: stopped/);
    await Promise.all(requests);
    for (const client of clients) client.close();
  }
  assert.equal(await producer.stop(), 0);
  assert.equal(await bridge.stop(), 0);
});
