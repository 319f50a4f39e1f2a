// Every daemon's admin port: /healthz for health checks, /metrics for Prometheus, with
// values that match what really happened.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  requireServices, createDatabase, createTopic, freePort, openClient, produceRaw, promtool, root, startDaemon, uniqueName,
  waitFor,
  test, waitForValue, bridgeProgress
} from '../lib/harness.mjs';

requireServices();

// A strict reader of the Prometheus text format (version 0.0.4) as our daemons write it:
// every metric is preceded by its HELP and TYPE lines; names and values are well-formed; a
// histogram has cumulative buckets ending with le="+Inf", then its _sum and _count.
function parseMetrics(text) {
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  const metrics = {};
  const lines = text.slice(0, -1).split('\n');
  const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  for (let i = 0; i < lines.length;) {
    const help = new RegExp(`^# HELP (${NAME}) (.+)$`).exec(lines[i++]);
    assert.ok(help, `a HELP line, not ${JSON.stringify(lines[i - 1])}`);
    const name = help[1];
    const type = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram)$`).exec(lines[i++] ?? '');
    assert.ok(type && type[1] === name, `TYPE follows HELP for ${name}`);
    assert.ok(!(name in metrics), `${name} appears once`);
    if (type[2] !== 'histogram') {
      const sample = /^(\S+) (-?\d+(?:\.\d+)?)$/.exec(lines[i++] ?? '');
      assert.ok(sample && sample[1] === name, `the sample of ${name} follows its TYPE`);
      metrics[name] = { type: type[2], value: Number(sample[2]) };
      if (type[2] === 'counter') assert.ok(metrics[name].value >= 0, `counter ${name} is not negative`);
      continue;
    }
    const buckets = [];
    let match;
    while ((match = /^(\S+)_bucket\{le="([^"]+)"\} (\d+)$/.exec(lines[i] ?? '')) && match[1] === name) {
      buckets.push([match[2] === '+Inf' ? Infinity : Number(match[2]), Number(match[3])]);
      i++;
    }
    const sum = /^(\S+)_sum (-?\d+(?:\.\d+)?)$/.exec(lines[i++] ?? '');
    const count = /^(\S+)_count (\d+)$/.exec(lines[i++] ?? '');
    assert.ok(sum && sum[1] === name && count && count[1] === name, `${name}_sum and ${name}_count follow its buckets`);
    assert.ok(buckets.length >= 2 && buckets.at(-1)[0] === Infinity, `${name} ends with le="+Inf"`);
    for (let k = 1; k < buckets.length; k++) {
      assert.ok(buckets[k][0] > buckets[k - 1][0] && buckets[k][1] >= buckets[k - 1][1], `${name}: cumulative buckets`);
    }
    assert.equal(buckets.at(-1)[1], Number(count[2]), `${name}: +Inf is the count`);
    metrics[name] = { type: 'histogram', buckets, sum: Number(sum[2]), count: Number(count[2]), value: Number(count[2]) };
  }
  return metrics;
}

async function get(port, path, init) {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, init);
  return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
}

test('healthz and metrics on every daemon, with true values', async () => {
  const db = createDatabase('admin');
  const topic = createTopic('admin', 1);
  const env = { DATABASE_URL: db.url, KAFKA_TOPIC: topic };
  const ports = { producer: await freePort(), bridge: await freePort(), api: await freePort(), web: await freePort(),
    aggregator: await freePort() };
  const aggregator = startDaemon('aggregator', ['--group-id', uniqueName('group'), '--admin-port',
    String(ports.aggregator), '--checkpoint-interval-ms', '100'], { env, label: 'admin-aggregator' });
  const bridge = startDaemon('bridge', ['--group-id', uniqueName('group'), '--admin-port', String(ports.bridge)],
    { env, label: 'admin-bridge' });
  const api = startDaemon('api', ['--port', String(ports.web), '--admin-port', String(ports.api), '--frontend-dir',
    join(root, 'frontend', 'dist')], { env, label: 'admin-api' });
  const producer = startDaemon('producer', ['--tickers', '3', '--interval-ms', '100', '--admin-port',
    String(ports.producer)], { env, label: 'admin-producer' });

  for (const daemon of ['producer', 'bridge', 'api', 'aggregator']) {
    // The answer that said healthy is the one checked: a bridge that gets its partitions
    // right after reports "paused" for a moment while it reads its positions (true too).
    const health = await waitFor(`${daemon} healthy`, async () => {
      const answer = await get(ports[daemon], '/healthz');
      return answer.status === 200 ? answer : null;
    });
    assert.equal(health.body, '{"status":"ok"}\n');
    assert.match(health.type, /application\/json/);
    const metrics = await get(ports[daemon], '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.type, /^text\/plain; version=0\.0\.4/);
    parseMetrics(metrics.body);
    // Prometheus' own checker too: well-formed, and no lint problem (names, units, help).
    const check = promtool(['check', 'metrics'], metrics.body);
    assert.deepEqual([check.status, check.stdout + check.stderr], [0, ''], `promtool check metrics on ${daemon}`);
    assert.equal((await get(ports[daemon], '/nothing')).status, 404);
    assert.equal((await get(ports[daemon], '/metrics', { method: 'POST' })).status, 405);
  }

  // Two WebSocket clients and a rejected request show up in the API server's metrics.
  const clients = [await openClient(ports.web), await openClient(ports.web)];
  clients[0].send('not json');
  await waitFor('the error reply', () => clients[0].messages.some((m) => m.type === 'error'));
  await fetch(`http://127.0.0.1:${ports.web}/api/tickers?bad=1`);
  let metrics = parseMetrics((await get(ports.api, '/metrics')).body);
  assert.deepEqual(metrics.tickerflow_api_ws_clients, { type: 'gauge', value: 2 });
  assert.equal(metrics.tickerflow_api_ws_rejected_total.value, 1);
  assert.equal(metrics.tickerflow_api_http_rejected_total.value, 1);
  await waitFor('live messages counted', async () =>
    parseMetrics((await get(ports.api, '/metrics')).body).tickerflow_api_live_messages_total.value > 0);
  clients.forEach((client) => client.close());
  await waitFor('the clients gone from the gauge', async () =>
    parseMetrics((await get(ports.api, '/metrics')).body).tickerflow_api_ws_clients.value === 0);

  // The bridge's counters equal the table; a poison message is counted as a dead letter.
  produceRaw(topic, 'x', ['definitely not json']);
  assert.equal(await producer.stop(), 0);
  const delivered = Number(/(\d+) delivered/.exec(producer.log())[1]);
  await waitForValue('every row stored', () => db.count('SELECT count(*) FROM records'), delivered, { explain: () => bridgeProgress(db, topic) });
  await waitForValue('the dead letter', () => db.count('SELECT count(*) FROM dead_letters'), 1, { explain: () => bridgeProgress(db, topic) });
  metrics = parseMetrics((await get(ports.bridge, '/metrics')).body);
  assert.equal(metrics.tickerflow_bridge_rows_stored_total.value, delivered);
  assert.equal(metrics.tickerflow_bridge_dead_letters_total.value, 1);
  assert.equal(metrics.tickerflow_bridge_waiting_for_database.value, 0);
  assert.ok(metrics.tickerflow_bridge_batches_total.value >= 1);
  assert.equal(metrics.tickerflow_bridge_lag_messages.value, 0, 'nothing left to store');
  // One observation per batch; every message in some batch.
  assert.equal(metrics.tickerflow_bridge_batch_messages.count, metrics.tickerflow_bridge_batches_total.value);
  assert.equal(metrics.tickerflow_bridge_batch_messages.sum, delivered + 1);
  assert.equal(metrics.tickerflow_bridge_batch_latency_seconds.count, metrics.tickerflow_bridge_batches_total.value);
  // Every live tick's delay observed, and short: producer, Kafka and the feed on one machine.
  const delay = await waitFor('every live tick\'s delay observed', async () => {
    const histogram = parseMetrics((await get(ports.api, '/metrics')).body).tickerflow_api_live_delay_seconds;
    return histogram.count >= delivered ? histogram : null;
  });
  assert.ok(delay.sum / delay.count < 1, `mean tick-to-WebSocket delay ${delay.sum / delay.count} s`);

  // The aggregator applied every tick (all on time) and refused the poison message.
  await waitFor('every tick aggregated', async () =>
    parseMetrics((await get(ports.aggregator, '/metrics')).body).tickerflow_aggregator_ticks_total.value === delivered);
  metrics = parseMetrics((await get(ports.aggregator, '/metrics')).body);
  assert.equal(metrics.tickerflow_aggregator_rejected_total.value, 1);
  assert.equal(metrics.tickerflow_aggregator_late_ticks_total.value, 0);
  assert.equal(metrics.tickerflow_aggregator_waiting_for_database.value, 0);
  await waitFor('the aggregator caught up', async () =>
    parseMetrics((await get(ports.aggregator, '/metrics')).body).tickerflow_aggregator_lag_messages.value === 0);
  assert.ok(metrics.tickerflow_aggregator_checkpoints_total.value >= 1);
  assert.equal(metrics.tickerflow_aggregator_checkpoint_seconds.count,
    metrics.tickerflow_aggregator_checkpoints_total.value);

  assert.equal(await bridge.stop(), 0);
  assert.equal(await api.stop(), 0);
  assert.equal(await aggregator.stop(), 0);
});

test('an admin port already in use stops the daemon at start with a clear message', async () => {
  const port = await freePort();
  const first = startDaemon('api', ['--port', String(await freePort()), '--admin-port', String(port),
    '--frontend-dir', join(root, 'frontend', 'dist')], { label: 'admin-first' });
  await waitFor('the first admin port', async () => (await get(port, '/healthz')).status === 200);
  const second = startDaemon('api', ['--port', String(await freePort()), '--admin-port', String(port),
    '--frontend-dir', join(root, 'frontend', 'dist')], { label: 'admin-second' });
  const { code } = await second.waitForExit();
  assert.equal(code, 1);
  assert.match(second.log(), new RegExp(`cannot listen on admin port ${port} \\(in use\\? set --admin-port`));
  assert.equal(await first.stop(), 0);
});
