// Every daemon's command line: --help, --version, refusing bad options with exit code 2,
// config.yaml and environment handling, and the producer's --dry-run output.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireServices, runDaemon, startDaemon, waitFor, test } from '../lib/harness.mjs';

requireServices();

const DAEMONS = ['producer', 'bridge', 'api', 'aggregator', 'migrate'];
// tickerflow-migrate only talks to PostgreSQL.
const usesKafka = (daemon) => daemon !== 'migrate';

for (const daemon of DAEMONS) {
  test(`${daemon}: --help documents every option and exits 0`, async () => {
    const { status, stdout } = await runDaemon(daemon, ['--help']);
    assert.equal(status, 0);
    assert.match(stdout, new RegExp(`^Usage: tickerflow-${daemon} \\[OPTION\\]\\.\\.\\.`));
    const flags = ['--log-level', '--database-url', '--retry-backoff-max-ms', '--config', '--version'];
    if (usesKafka(daemon)) flags.push('--kafka-brokers', '--kafka-topic');
    for (const flag of flags) assert.ok(stdout.includes(flag), `${flag} in help`);
    if (usesKafka(daemon)) assert.match(stdout, /env KAFKA_BROKERS/);
    assert.match(stdout, /env DATABASE_URL/);
  });

  test(`${daemon}: --version prints the version and exits 0`, async () => {
    const { status, stdout } = await runDaemon(daemon, ['--version']);
    assert.equal(status, 0);
    assert.match(stdout, new RegExp(`^tickerflow-${daemon} \\d+\\.\\d+\\.\\d+\\n$`));
  });

  test(`${daemon}: unknown and invalid options exit 2 with a clear message`, async () => {
    const unknown = await runDaemon(daemon, ['--frobnicate']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, new RegExp(`tickerflow-${daemon}: unknown option '--frobnicate' \\(see --help\\)`));
    const level = await runDaemon(daemon, ['--log-level', 'chatty']);
    assert.equal(level.status, 2);
    assert.match(level.stderr, /option '--log-level': 'chatty' is not one of: debug, info, warn, error/);
    const env = await runDaemon(daemon, [], { env: { LOG_LEVEL: 'loud' } });
    assert.equal(env.status, 2);
    assert.match(env.stderr, /environment variable LOG_LEVEL: 'loud' is not one of/);
    const stray = await runDaemon(daemon, ['extra']);
    assert.equal(stray.status, 2);
    assert.match(stray.stderr, /unexpected argument 'extra'/);
  });

  test(`${daemon}: a typo in config.yaml exits 2 naming the file and line`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tickerflow-config-'));
    writeFileSync(join(dir, 'config.yaml'), 'database:\n  url: postgresql://x\n  urlz: x\n');
    const { status, stderr } = await runDaemon(daemon, [], { cwd: dir });
    assert.equal(status, 2);
    assert.match(stderr, /config\.yaml:3: unknown option 'database\.urlz'/);
  });
}

test('producer: integer options are range-checked', async () => {
  for (const [args, pattern] of [
    [['--tickers', '0'], /'0' is not an integer between 1 and 1000/],
    [['--tickers=1001'], /between 1 and 1000/],
    [['--interval-ms', 'fast'], /'fast' is not an integer/],
    [['--dry-run=perhaps'], /'perhaps' is not a boolean/],
  ]) {
    const { status, stderr } = await runDaemon('producer', args);
    assert.equal(status, 2, args.join(' '));
    assert.match(stderr, pattern);
  }
});

test('producer: --dry-run prints one JSON line per ticker per interval, starting from 0', async () => {
  const producer = startDaemon('producer',
    ['--dry-run', '--seed-from-database=false', '--tickers', '3', '--interval-ms', '100'], { captureStdout: true });
  await waitFor('five rounds of output', () => producer.stdout.split('\n').length > 15);
  assert.equal(await producer.stop(), 0);
  const lines = producer.stdout.trim().split('\n');
  const messages = lines.map((line) => JSON.parse(line));
  assert.deepEqual(Object.keys(messages[0]), ['name', 'value', 'time']);
  assert.deepEqual(messages.slice(0, 3).map((m) => m.name), ['ticker_00', 'ticker_01', 'ticker_02']);
  for (const m of messages.slice(0, 3)) assert.ok(m.value === 1 || m.value === -1, 'first move from 0');
  for (const line of lines) assert.match(line, /^\{"name":"ticker_0[0-2]","value":-?\d+,"time":"[0-9T:.-]{26}Z"\}$/);
  const previous = {};
  for (const m of messages) {
    if (m.name in previous) assert.equal(Math.abs(m.value - previous[m.name]), 1, 'one step at a time');
    previous[m.name] = m.value;
  }
});

test('producer: moves are spread over the interval, or all at once with --spread-moves=false', async () => {
  const firstRound = async (extra) => {
    const producer = startDaemon('producer',
      ['--dry-run', '--seed-from-database=false', '--tickers', '4', '--interval-ms', '400', ...extra],
      { captureStdout: true });
    await waitFor('two rounds of output', () => producer.stdout.split('\n').length > 8);
    assert.equal(await producer.stop(), 0);
    return producer.stdout.trim().split('\n').slice(0, 4).map((line) => JSON.parse(line));
  };
  const spread = await firstRound([]);
  assert.deepEqual(spread.map((m) => m.name), ['ticker_00', 'ticker_01', 'ticker_02', 'ticker_03']);
  for (let i = 1; i < 4; i++) {
    const stepMs = (Date.parse(spread[i].time) - Date.parse(spread[i - 1].time));
    assert.ok(stepMs >= 70 && stepMs <= 160, `ticker ${i} moves a quarter interval after ${i - 1}: ${stepMs} ms`);
  }
  const together = await firstRound(['--spread-moves=false']);
  assert.equal(new Set(together.map((m) => m.time)).size, 1, 'one time for the whole round');
});

test('config.yaml is read, and the environment overrides it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tickerflow-config-'));
  writeFileSync(join(dir, 'config.yaml'), 'producer:\n  tickers: 2\n  interval_ms: 100\n  dry_run: true\n' +
    '  seed_from_database: false\nbridge:\n  group_id: ignored-by-the-producer\n');
  const producer = startDaemon('producer', ['--config', join(dir, 'config.yaml')],
    { captureStdout: true, env: { PRODUCER_TICKERS: '4' } });
  await waitFor('two rounds', () => producer.stdout.split('\n').length > 8);
  assert.equal(await producer.stop(), 0);
  const names = new Set(producer.stdout.trim().split('\n').map((line) => JSON.parse(line).name));
  assert.deepEqual([...names].sort(), ['ticker_00', 'ticker_01', 'ticker_02', 'ticker_03'], 'env beats the file');
});

test('docs/configuration.md is generated from the current option tables', async () => {
  const { execFileSync } = await import('node:child_process');
  const { readFileSync } = await import('node:fs');
  const { root, buildDir } = await import('../lib/harness.mjs');
  const generated = execFileSync(join(root, 'scripts', 'gen-config-docs'), [buildDir], { encoding: 'utf8' });
  const committed = readFileSync(join(root, 'docs', 'configuration.md'), 'utf8');
  assert.equal(committed, generated, 'run scripts/gen-config-docs > docs/configuration.md');
});

test('the repository config.yaml lists every option with its built-in default', async () => {
  const { readFileSync } = await import('node:fs');
  const { root } = await import('../lib/harness.mjs');
  // config.yaml, flattened: "section.key" -> value (quotes and comments dropped).
  const file = new Map();
  let section = null;
  for (const line of readFileSync(join(root, 'config.yaml'), 'utf8').split('\n')) {
    const match = /^(\s*)([a-z_]+):\s*("[^"]*"|[^#\s]*)/.exec(line);
    if (!match || line.trimStart().startsWith('#')) continue;
    const [, indent, key, raw] = match;
    if (indent === '' && raw === '') { section = key; continue; }
    file.set(indent === '' ? key : `${section}.${key}`, raw.replace(/^"(.*)"$/, '$1'));
  }
  const documented = new Map();
  for (const daemon of DAEMONS) {
    const { stdout } = await runDaemon(daemon, ['--help']);
    for (const match of stdout.matchAll(/default (.*?); env \S+; config\.yaml (\S+)/g)) documented.set(match[2], match[1]);
  }
  assert.ok(documented.size > 30, `${documented.size} options found in --help`);
  for (const [key, value] of documented) {
    assert.ok(file.has(key), `config.yaml lists ${key}`);
    assert.equal(file.get(key), value, `config.yaml ${key} is the built-in default`);
  }
  for (const key of file.keys()) assert.ok(documented.has(key), `config.yaml's ${key} is an option`);
});
