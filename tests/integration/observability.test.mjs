// The Grafana and Prometheus provisioning of docker-compose.yaml's "observability" profile,
// checked without Grafana: the files parse, the dashboard's datasources are the provisioned
// ones, every SQL query runs against the real schema on real candles, and every metric a
// Prometheus query names is served by a running daemon.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  requireServices, createDatabase, createTopic, databaseAt, freePort, produceLines, promtool, roleUrl, root, startDaemon,
  uniqueName,
  waitFor,
  test,
} from '../lib/harness.mjs';
import { startTradeFeedServer } from '../lib/trade-feed-server.mjs';

requireServices();

const grafana = join(root, 'docker', 'grafana');

// YAML through Debian's Python (PyYAML), strictly: a syntax error fails the test.
function readYaml(path) {
  const json = execFileSync('/usr/bin/python3', ['-c',
    'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1], encoding="utf-8"))))', path],
  { encoding: 'utf8' });
  return JSON.parse(json);
}

const datasources = readYaml(join(grafana, 'provisioning', 'datasources', 'tickerflow.yaml'));
const providers = readYaml(join(grafana, 'provisioning', 'dashboards', 'tickerflow.yaml'));
const dashboard = JSON.parse(readFileSync(join(grafana, 'dashboards', 'tickerflow.json'), 'utf8'));
const prometheus = readYaml(join(root, 'docker', 'prometheus', 'prometheus.yml'));
const compose = readYaml(join(root, 'docker-compose.yaml'));

function targetsOf(type) {
  return dashboard.panels.flatMap((panel) => panel.targets.map((target) => ({ panel, target })))
    .filter(({ target }) => (target.datasource ?? {}).type === type);
}

test('provisioning files: datasources with credentials from the environment, dashboards from the mounted folder', () => {
  assert.equal(datasources.apiVersion, 1);
  const byUid = Object.fromEntries(datasources.datasources.map((d) => [d.uid, d]));
  const postgres = byUid['tickerflow-postgres'];
  assert.equal(postgres.type, 'grafana-postgresql-datasource');
  assert.equal(postgres.url, 'postgres:5432');
  assert.equal(postgres.user, 'tickerflow_reader', 'the read-only role, not the schema\'s owner');
  assert.equal(postgres.jsonData.database, '$POSTGRES_DB');
  assert.equal(postgres.secureJsonData.password, '$TICKERFLOW_READER_PASSWORD', 'no password in the file');
  assert.equal(byUid['tickerflow-prometheus'].url, 'http://prometheus:9090');

  const grafanaService = compose.services.grafana;
  assert.deepEqual(grafanaService.profiles, ['observability']);
  for (const name of ['TICKERFLOW_READER_PASSWORD', 'POSTGRES_DB']) {
    assert.ok(name in grafanaService.environment, `Grafana gets ${name} from the environment`);
  }
  const mounts = grafanaService.volumes.map((v) => v.split(':'));
  assert.ok(mounts.some(([from, to]) => from === './docker/grafana/provisioning' && to === '/etc/grafana/provisioning'));
  assert.ok(mounts.some(([from, to]) => from === './docker/grafana/dashboards' && to === providers.providers[0].options.path));

  // Every datasource the dashboard uses is provisioned, under the same type.
  const used = [...dashboard.panels, ...dashboard.panels.flatMap((p) => p.targets), ...dashboard.templating.list]
    .map((x) => x.datasource).filter(Boolean);
  assert.ok(used.length > 10);
  for (const { uid, type } of used) {
    assert.ok(byUid[uid], `datasource ${uid} is provisioned`);
    assert.equal(byUid[uid].type, type, `datasource ${uid} has type ${type}`);
  }
  assert.equal(dashboard.uid, 'tickerflow');
  assert.ok(dashboard.panels.some((p) => p.type === 'candlestick'), 'a candlestick panel');
  assert.ok(dashboard.panels.some((p) => p.type === 'candlestick' && p.title.includes('$pair')), 'a pair\'s candlesticks');
});

test('prometheus scrapes every daemon on the admin port docker-compose.yaml gives it', () => {
  const jobs = Object.fromEntries(prometheus.scrape_configs.map((job) => [job.job_name, job.dns_sd_configs[0]]));
  for (const daemon of ['producer', 'bridge', 'api', 'aggregator']) {
    const variable = `${daemon.toUpperCase()}_ADMIN_PORT`;
    const port = Number(compose.services[daemon].environment[variable]);
    assert.ok(port > 0, `${daemon} sets ${variable}`);
    assert.deepEqual(jobs[daemon], { names: [daemon], type: 'A', port }, `the ${daemon} job`);
  }
  assert.deepEqual(compose.services.prometheus.profiles, ['observability']);
  const check = promtool(['check', 'config', join(root, 'docker', 'prometheus', 'prometheus.yml')]);
  assert.equal(check.status, 0, `promtool check config: ${check.stdout}${check.stderr}`);
  assert.match(check.stdout, /SUCCESS/);
});

test('every dashboard query runs: SQL against the real schema and candles, metrics served by the daemons', async () => {
  const db = createDatabase('grafana');
  const topic = createTopic('grafana', 1);
  const env = { DATABASE_URL: db.url, KAFKA_TOPIC: topic };
  const ports = { producer: await freePort(), bridge: await freePort(), api: await freePort(),
    aggregator: await freePort(), web: await freePort() };
  const daemons = [
    startDaemon('aggregator', ['--group-id', uniqueName('group'), '--admin-port', String(ports.aggregator),
      '--checkpoint-interval-ms', '100'], { env, label: 'grafana-aggregator' }),
    startDaemon('bridge', ['--group-id', uniqueName('group'), '--admin-port', String(ports.bridge)],
      { env, label: 'grafana-bridge' }),
    startDaemon('api', ['--port', String(ports.web), '--admin-port', String(ports.api), '--frontend-dir',
      join(root, 'frontend', 'dist')], { env, label: 'grafana-api' }),
  ];

  // Twenty minutes of ticker_00 and ticker_01, an hour ago: 1 Hz, alternating up and down.
  const t0 = Math.floor((Date.now() - 3600e3) / 3600e3) * 3600e3;
  const lines = [];
  for (let s = 0; s < 1200; s++) {
    for (const name of ['ticker_00', 'ticker_01']) {
      lines.push(`${name}\t${JSON.stringify({ name, value: s % 2, time: new Date(t0 + s * 1000).toISOString() })}`);
    }
  }
  await produceLines(topic, lines);
  // The producer only now: a live tick read before the preloaded ones would move the
  // watermark an hour on and make them all too late (a race this test lost 1 run in 10).
  daemons.push(startDaemon('producer', ['--tickers', '2', '--interval-ms', '1000', '--admin-port',
    String(ports.producer)], { env, label: 'grafana-producer' }));
  await waitFor('candles of twenty minutes', () => db.count('SELECT count(*) FROM candles_1m') >= 40,
    { timeoutMs: 30000 });

  // And twenty minutes of the trades sample at the same hour, through a trades bridge and
  // aggregator on a topic of their own; a last trade after them closes their minutes.
  const tradesTopic = createTopic('grafana_trades', 1);
  const tradesEnv = { DATABASE_URL: db.url, KAFKA_TOPIC: tradesTopic };
  const sample = readFileSync(join(root, 'services', 'producer', 'samples', 'trades-sample.jsonl'), 'utf8')
    .split('\n').filter((l) => l !== '');
  const sampleStart = JSON.parse(sample[0]).timestamp;
  const shifted = sample.filter((l) => JSON.parse(l).timestamp < sampleStart + 1200e3).map((l) => {
    const t = JSON.parse(l);
    return `${t.base}/${t.quote}\t${l.replace(/"timestamp":\d+/, `"timestamp":${t.timestamp - sampleStart + t0}`)}`;
  });
  shifted.push(shifted[shifted.length - 1].replace(/"timestamp":\d+/, `"timestamp":${t0 + 1500e3}`));
  await produceLines(tradesTopic, shifted);
  daemons.push(startDaemon('bridge', ['--kind', 'trades', '--group-id', uniqueName('group')],
    { env: tradesEnv, label: 'grafana-trades-bridge' }));
  daemons.push(startDaemon('aggregator', ['--kind', 'trades', '--group-id', uniqueName('group'),
    '--checkpoint-interval-ms', '100'], { env: tradesEnv, label: 'grafana-trades-aggregator' }));
  await waitFor('candlesticks of twenty minutes', () =>
    db.count("SELECT count(*) FROM candlesticks WHERE currency_pair = 'bitcoin/tether'") >= 20, { timeoutMs: 30000 });

  // As Grafana runs them: with the read-only role.
  const reader = databaseAt(roleUrl(db.url, 'reader'));
  const run = (sql, interval) => reader.query(sql
    .replaceAll('$ticker', 'ticker_00').replaceAll('$pair', 'bitcoin/tether').replaceAll('$interval', interval)
    .replaceAll('$__timeFrom()', `'${new Date(t0).toISOString()}'`)
    .replaceAll('$__timeTo()', `'${new Date(t0 + 3600e3).toISOString()}'`));

  const tickers = run(dashboard.templating.list.find((v) => v.name === 'ticker').query, '1m').map((r) => r[0]);
  assert.deepEqual(tickers, ['ticker_00', 'ticker_01']);
  const pairs = run(dashboard.templating.list.find((v) => v.name === 'pair').query, '1m').map((r) => r[0]);
  assert.deepEqual(pairs, ['bitcoin/tether', 'ethereum/tether', 'solana/usd-coin', 'xrp/tether']);
  const intervals = dashboard.templating.list.find((v) => v.name === 'interval').query.split(',');
  assert.deepEqual(intervals, ['1m', '5m', '15m', '1h', '1d']);
  const sqlTargets = targetsOf('grafana-postgresql-datasource');
  assert.ok(sqlTargets.length >= 2);
  for (const interval of intervals) {
    for (const { panel, target } of sqlTargets) {
      const rows = run(target.rawSql, interval);
      assert.ok(rows.length > 0, `${panel.title} at ${interval} returns rows`);
      if (panel.type === 'candlestick' && target.rawSql.includes('candlesticks_rollup')) {
        for (const [, open, high, low, close] of rows) {
          assert.ok(Number(low) <= Math.min(Number(open), Number(close)), `${interval}: low is the lowest`);
          assert.ok(Number(high) >= Math.max(Number(open), Number(close)), `${interval}: high is the highest`);
        }
      } else if (panel.type === 'candlestick') {
        // 0/1 alternating: every bucket opens and closes on 0 or 1 and spans both.
        for (const [, open, high, low, close] of rows) {
          assert.ok(['0', '1'].includes(open) && ['0', '1'].includes(close));
          assert.deepEqual([high, low], ['1', '0'], `${interval}: high and low`);
        }
      }
    }
  }
  // Twenty minutes in 5-minute buckets (the producer's live ticks have closed them all).
  const fives = run(sqlTargets.find(({ panel, target }) => panel.type === 'candlestick' &&
    target.rawSql.includes('candles_rollup(')).target.rawSql, '5m');
  assert.equal(fives.length, 4);

  // And a trade producer reading a live feed (our stand-in server), whose metrics the trade
  // feed panel charts.
  const feed = await startTradeFeedServer();
  ports['trade-producer'] = await freePort();
  daemons.push(startDaemon('producer', ['--source', 'trades', '--url', feed.url('/trades/binance'), '--admin-port',
    String(ports['trade-producer'])], { env: tradesEnv, label: 'grafana-trade-producer' }));
  await feed.connected(1);

  // Every metric a Prometheus query names is on some daemon's /metrics.
  const served = new Set();
  for (const daemon of ['producer', 'bridge', 'api', 'aggregator', 'trade-producer']) {
    const text = await waitFor(`${daemon} /metrics`, async () => {
      const response = await fetch(`http://127.0.0.1:${ports[daemon]}/metrics`);
      return response.ok ? response.text() : null;
    });
    for (const match of text.matchAll(/^(tickerflow_\w+)[ {]/gm)) served.add(match[1]);
  }
  const promTargets = targetsOf('prometheus');
  assert.ok(promTargets.length >= 10);
  for (const { panel, target } of promTargets) {
    const names = target.expr.match(/tickerflow_\w+/g) ?? [];
    assert.ok(names.length > 0, `${panel.title}: ${target.expr} names a metric`);
    for (const name of names) assert.ok(served.has(name), `${panel.title}: ${name} is served`);
  }
  for (const daemon of daemons) assert.equal(await daemon.stop(), 0);
  await feed.stop();
});
