// Test harness: starts the real daemons against the real Kafka broker and PostgreSQL
// server that scripts/test started, and talks to them with real clients (psql, kcat,
// curl-equivalent fetch, a WebSocket client). Each test gets its own database and
// topic, so tests never see each other's data.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { test as nodeTest } from 'node:test';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';

export const root = process.env.TICKERFLOW_ROOT;
export const buildDir = process.env.TICKERFLOW_BUILD_DIR;
export const brokers = process.env.KAFKA_BROKERS;
const adminUrl = process.env.TICKERFLOW_TEST_ADMIN_URL;

// Without the services (plain `ctest`), skip: ctest maps exit code 77 to "skipped".
export function requireServices() {
  if (!root || !buildDir || !brokers || !adminUrl || !process.env.TICKERFLOW_TEST_STATE) {
    console.log('SKIPPED: needs Kafka and PostgreSQL; run scripts/test');
    process.exit(77);
  }
}

export const logDir = join(buildDir ?? tmpdir(), 'test-logs');

// Every daemon a test file starts is killed when node exits, pass or fail, so a failed
// assertion never leaves one behind. Children are unref'd: they never keep node running.
const started = new Set();
process.on('exit', () => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

// ---- failures that explain themselves ------------------------------------------------------

// Every daemon this file started, in order: {label, logPath, child}. Logs are kept in
// logDir whatever happens.
const daemonLogs = [];
const TAIL_LINES = 40;

function tail(path, lines) {
  try {
    const text = readFileSync(path, 'utf8').trimEnd();
    return text === '' ? '(empty)' : text.split('\n').slice(-lines).join('\n');
  } catch (error) {
    return `(cannot read: ${error.message})`;
  }
}

const brokerLog = process.env.TICKERFLOW_TEST_STATE ? join(process.env.TICKERFLOW_TEST_STATE, 'kafka', 'kafka.log') : null;
function brokerLogSize() {
  try { return statSync(brokerLog).size; } catch { return 0; }
}

// Prints, for a failed test, the tail of the log of every daemon it started or that was
// still running, with how each ended, and what the broker logged meanwhile (consumer
// groups joining and leaving: tools/kafka/log4j2.properties).
function explainFailure(name, firstDaemon, brokerFrom) {
  const shown = daemonLogs.filter((d, i) => i >= firstDaemon || (d.child.exitCode === null && d.child.signalCode === null));
  const lines = [`\n---- test "${name}" failed: the logs of its daemons (all in ${logDir}) ----`];
  for (const { label, logPath, child } of shown) {
    const state = child.exitCode !== null ? `exited ${child.exitCode}` : child.signalCode !== null ? `killed by ${child.signalCode}` : 'running';
    lines.push(`==== ${label} (${state}): last ${TAIL_LINES} lines of ${logPath}`, tail(logPath, TAIL_LINES));
  }
  if (brokerLog && existsSync(brokerLog)) {
    const text = readFileSync(brokerLog, 'utf8').slice(brokerFrom).trimEnd();
    lines.push(`==== the Kafka broker meanwhile (${brokerLog})`, text === '' ? '(nothing)' : text.split('\n').slice(-TAIL_LINES).join('\n'));
  }
  console.log(lines.join('\n'));
}

// node:test's test(), with the failure explained (explainFailure) before it is reported.
// Use it instead of node:test's in every test file.
export function test(name, options, fn) {
  if (typeof options === 'function') [options, fn] = [{}, options];
  return nodeTest(name, options, async (context) => {
    const firstDaemon = daemonLogs.length;
    const brokerFrom = brokerLogSize();
    try {
      return await fn(context);
    } catch (error) {
      explainFailure(name, firstDaemon, brokerFrom);
      throw error;
    }
  });
}

// What a daemon inherits from the test's environment: PATH, and the sanitizers' options.
function baseEnvironment() {
  const keep = ['PATH', 'ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS'];
  return Object.fromEntries(keep.filter((name) => process.env[name] !== undefined).map((name) => [name, process.env[name]]));
}

export function uniqueName(prefix) {
  return `${prefix}_${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

export async function waitFor(what, check, { timeoutMs = 20000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      const result = await check();
      if (result) return result;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError.message}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

// Waits until read() (a number, or anything JSON can show) satisfies `want` (a value,
// compared with ===, or a predicate); on timeout the error says the last value seen and
// what was wanted, so a count that stopped short, went past, or never moved tells which.
// `explain`, when given, adds what it returns (more figures) to that error.
export async function waitForValue(what, read, want, { timeoutMs = 20000, intervalMs = 100, explain } = {}) {
  const matches = typeof want === 'function' ? want : (value) => value === want;
  const deadline = Date.now() + timeoutMs;
  let last;
  let lastError;
  for (;;) {
    try {
      last = await read();
      lastError = undefined;
      if (matches(last)) return last;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const wanted = typeof want === 'function' ? want.toString() : JSON.stringify(want);
      let extra = '';
      if (explain) {
        try { extra = `; ${await explain()}`; } catch (error) { extra = `; (${error.message})`; }
      }
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: last seen ${JSON.stringify(last)}, ` +
        `want ${wanted}${lastError ? `; last error: ${lastError.message}` : ''}${extra}`);
    }
    await sleep(intervalMs);
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

// ---- PostgreSQL ------------------------------------------------------------------------

function psqlAt(url, sql) {
  return execFileSync('psql', [url, '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }).trim();
}

// The role that owns the schema, as scripts/lib/services.sh creates it.
const OWNER = 'tickerflow';

// Creates a database owned by the schema's owner and migrates it (tickerflow-migrate: the
// schema, and each daemon's role with its privileges); returns the owner's URL and a query
// helper. Daemons started with that URL connect with their own roles (startDaemon).
export function createDatabase(prefix, { migrate = true } = {}) {
  const name = uniqueName(prefix).toLowerCase();
  psqlAt(adminUrl, `CREATE DATABASE ${name} OWNER ${OWNER}`);
  const url = new URL(adminUrl);
  url.username = OWNER;
  url.password = OWNER;
  url.pathname = `/${name}`;
  if (migrate) migrateDatabase(url.toString());
  return databaseAt(url.toString());
}

// Runs tickerflow-migrate on the database of `ownerUrl`; throws with its output on failure.
export function migrateDatabase(ownerUrl) {
  const result = spawnSync(join(buildDir, 'services', 'migrate', 'tickerflow-migrate'),
    ['--database-url', ownerUrl, '--log-level', 'warn'], { encoding: 'utf8', env: baseEnvironment() });
  if (result.status !== 0) throw new Error(`tickerflow-migrate exited ${result.status}: ${result.stderr}`);
}

// `url` with the user and password of `daemon`'s role (tickerflow_<daemon>, as
// tickerflow-migrate creates it with its local default password).
export function roleUrl(url, daemon) {
  const role = new URL(url);
  role.username = `tickerflow_${daemon}`;
  role.password = `tickerflow_${daemon}`;
  return role.toString();
}

// Query helpers for the database at `databaseUrl` (which must exist).
export function databaseAt(databaseUrl) {
  return {
    url: databaseUrl,
    // Returns rows as arrays of strings (psql -At, '|' separated).
    query(sql) {
      const out = psqlAt(databaseUrl, sql);
      return out === '' ? [] : out.split('\n').map((line) => line.split('|'));
    },
    count(sql) {
      return Number(psqlAt(databaseUrl, sql));
    },
    // Rows of the 10-second rollup (records_10s) that differ from one recomputed from
    // `records` now, either way: 0 when the trigger kept it exact.
    rollupMismatches() {
      const recomputed = `SELECT DISTINCT ON (name, bucket) name, bucket, min(value) OVER b, max(value) OVER b,
          time, id, value, count(*) OVER b
        FROM (SELECT name, date_bin('10 seconds', time, timestamptz 'epoch') AS bucket, time, id, value FROM records) r
        WINDOW b AS (PARTITION BY name, bucket) ORDER BY name, bucket, time DESC, id DESC`;
      return Number(psqlAt(databaseUrl, `SELECT count(*) FROM (
        (SELECT * FROM records_10s EXCEPT ALL SELECT * FROM (${recomputed}) a)
        UNION ALL (SELECT * FROM (${recomputed}) b EXCEPT ALL SELECT * FROM records_10s)) d`));
    },
  };
}

// ---- Kafka -------------------------------------------------------------------------------

// A new topic named `prefix` and a unique suffix (`exact`: named `prefix` itself).
export function createTopic(prefix, partitions = 6, { exact = false } = {}) {
  const topic = exact ? prefix : uniqueName(prefix);
  execFileSync('bash', ['-c', `source "${root}/scripts/lib/services.sh" && kafka_create_topic "$0" "$1" "$2"`,
    brokers, topic, String(partitions)], { stdio: ['ignore', 'ignore', 'pipe'] });
  return topic;
}

export function deleteTopic(topic) {
  execFileSync('bash', ['-c', `source "${root}/scripts/lib/services.sh" && kafka_delete_topic "$0" "$1"`,
    brokers, topic], { stdio: ['ignore', 'ignore', 'pipe'] });
}

// Produces each payload (a Buffer or string, sent byte for byte) as one message with kcat,
// to partition 0. An empty payload is sent as an empty (null) message.
export function produceRaw(topic, key, payloads) {
  for (const payload of payloads) {
    if (payload.length === 0) {
      // kcat skips empty files and empty lines; "key:" with -K: and -Z sends a null value.
      execFileSync('kcat', ['-P', '-b', brokers, '-t', topic, '-p', '0', '-K:', '-Z'], { input: `${key}:\n` });
    } else {
      produceFiles(topic, key, [payload]);
    }
  }
}

function produceFiles(topic, key, payloads) {
  const dir = mkdtempSync(join(tmpdir(), 'tickerflow-kcat-'));
  const files = payloads.map((payload, i) => {
    const file = join(dir, `message-${String(i).padStart(4, '0')}`);
    writeFileSync(file, payload);
    return file;
  });
  // kcat -P with files sends each file as one message, in order.
  execFileSync('kcat', ['-P', '-b', brokers, '-t', topic, '-k', key, '-p', '0', ...files]);
}

// Reads every message of a topic from the start with kcat; returns their payloads as text.
// `format`: kcat's -f, e.g. '%p\t%o\t%s\n' for each message's partition and offset too.
export function consumeAll(topic, { max = 100000, format = '%s\\n' } = {}) {
  const out = execFileSync('kcat', ['-C', '-b', brokers, '-t', topic, '-e', '-q', '-c', String(max), '-f', format],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return out.split('\n').filter((line) => line !== '');
}

// The end offset of each partition of `topic` (kcat's offset query), summed: how many
// messages the topic holds (for a topic never trimmed).
export function topicEnd(topic) {
  const metadata = JSON.parse(execFileSync('kcat', ['-L', '-J', '-b', brokers, '-t', topic], { encoding: 'utf8' }));
  const partitions = metadata.topics[0].partitions.map((p) => p.partition);
  const out = execFileSync('kcat', ['-Q', '-b', brokers, ...partitions.flatMap((p) => ['-t', `${topic}:${p}:-1`])],
    { encoding: 'utf8' });
  return [...out.matchAll(/offset (-?\d+)/g)].reduce((sum, m) => sum + Math.max(0, Number(m[1])), 0);
}

// What the bridge has done with `topic`, for a wait's error: rows and distinct (name, time)
// rows (fewer distinct: duplicates), dead letters, the offsets it stored, and the topic's end
// (stored offsets short of it: the bridge is behind or stuck).
export function bridgeProgress(db, topic) {
  const [[rows, distinct]] = db.query('SELECT count(*), count(DISTINCT (name, time)) FROM records');
  const dead = db.count('SELECT count(*) FROM dead_letters');
  const stored = db.count(`SELECT coalesce(sum(next_offset), 0) FROM bridge_offsets WHERE topic = '${topic}'`);
  let end = '?';
  try { end = topicEnd(topic); } catch (error) { end = `? (${error.message.split('\n')[0]})`; }
  return `records ${rows} rows (${distinct} distinct), dead_letters ${dead}, bridge_offsets at ${stored} of the topic's ${end}`;
}

// Produces `lines` ("key\tjson" each) through kcat's standard input, without blocking
// the event loop; resolves when kcat has delivered them all.
export function produceLines(topic, lines) {
  return new Promise((resolve, reject) => {
    const kcat = spawn('kcat', ['-P', '-b', brokers, '-t', topic, '-K', '\t', '-z', 'lz4'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    kcat.stderr.on('data', (chunk) => { stderr += chunk; });
    kcat.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kcat exited ${code}: ${stderr}`))));
    kcat.stdin.end(lines.join('\n') + '\n');
  });
}

// ---- outages ---------------------------------------------------------------------------------

// Runs a function of scripts/lib/services.sh (postgres_start, kafka_stop, ...) with arguments.
export function services(command, ...args) {
  execFileSync('bash', ['-c', `source "${root}/scripts/lib/services.sh" && ${command} "$@"`, 'services', ...args],
    { stdio: ['ignore', 'ignore', 'inherit'] });
}

export function stopPostgres() {
  services('postgres_stop', join(process.env.TICKERFLOW_TEST_STATE, 'postgres'));
}

export function startPostgres() {
  services('postgres_start', join(process.env.TICKERFLOW_TEST_STATE, 'postgres'), process.env.TICKERFLOW_TEST_PG_PORT);
}

export function stopKafka() {
  services('kafka_stop', join(process.env.TICKERFLOW_TEST_STATE, 'kafka'));
}

export function startKafka() {
  services('kafka_start', join(process.env.TICKERFLOW_TEST_STATE, 'kafka'), process.env.TICKERFLOW_TEST_KAFKA_PORT,
    process.env.TICKERFLOW_TEST_KAFKA_CONTROLLER_PORT);
}

// ---- daemons -------------------------------------------------------------------------------

// A daemon's environment as deployed: a DATABASE_URL of the schema's owner becomes the URL
// of the daemon's own role (least privilege: docs/architecture.md, "Database roles").
function daemonEnvironment(daemon, env) {
  const url = env.DATABASE_URL;
  if (url === undefined || !['producer', 'bridge', 'aggregator', 'api'].includes(daemon)) return env;
  let owner = false;
  try { owner = new URL(url).username === OWNER; } catch { /* not a URL: leave it */ }
  return owner ? { ...env, DATABASE_URL: roleUrl(url, daemon) } : env;
}

// Starts build/services/<daemon>/tickerflow-<daemon>; stderr and stdout go to a log file.
// Runs in an empty folder so no config.yaml is picked up by accident.
export function startDaemon(daemon, args = [], { env = {}, label = daemon, captureStdout = false } = {}) {
  mkdirSync(logDir, { recursive: true });
  const logPath = join(logDir, `${uniqueName(label)}.log`);
  // The daemon writes straight into the file: nothing is buffered in this process.
  const logFd = openSync(logPath, 'a');
  const binary = join(buildDir, 'services', daemon, `tickerflow-${daemon}`);
  // Many daemons run at once in tests: the admin port is off unless a test asks for one.
  const allArgs = args.includes('--admin-port') ? args : [...args, '--admin-port', '0'];
  const child = spawn(binary, allArgs, {
    cwd: mkdtempSync(join(tmpdir(), 'tickerflow-cwd-')),
    env: { ...baseEnvironment(), KAFKA_BROKERS: brokers, ...daemonEnvironment(daemon, env) },
    stdio: ['ignore', captureStdout ? 'pipe' : logFd, logFd],
  });
  closeSync(logFd);
  started.add(child);
  daemonLogs.push({ label, logPath, child });
  child.unref();
  let stdout = '';
  if (captureStdout) {
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stdout.unref();
  }
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    logPath,
    exited,
    get stdout() { return stdout; },
    log() { return readFileSync(logPath, 'utf8'); },
    running() { return child.exitCode === null && child.signalCode === null; },
    // Waits for the daemon to exit on its own; returns {code, signal}.
    async waitForExit() {
      const keepAlive = setInterval(() => {}, 1000); // the child is unref'd: hold the loop while waiting
      const result = await exited;
      clearInterval(keepAlive);
      return result;
    },
    // kill -9, and wait for it to be gone.
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await this.waitForExit();
    },
    // Stops with SIGTERM and returns the exit code (a clean shutdown is 0).
    async stop(timeoutMs = 15000) {
      if (child.exitCode !== null || child.signalCode !== null) return (await exited).code;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const { code } = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

// Runs a daemon binary to completion (for --help, bad options): {status, stdout, stderr}.
export function runDaemon(daemon, args, { env = {}, cwd } = {}) {
  const binary = join(buildDir, 'services', daemon, `tickerflow-${daemon}`);
  return new Promise((resolve) => {
    const child = spawn(binary, args, {
      cwd: cwd ?? mkdtempSync(join(tmpdir(), 'tickerflow-cwd-')),
      env: { ...baseEnvironment(), ...daemonEnvironment(daemon, env) },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => { stdout += chunk; });
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

// Starts producer, bridge and API server on a fresh database and topic.
export async function startStack(prefix, { tickers = 10, intervalMs = 200, producer = true, apiArgs = [] } = {}) {
  const db = createDatabase(prefix);
  const topic = createTopic(prefix);
  const port = await freePort();
  const env = { DATABASE_URL: db.url, KAFKA_TOPIC: topic };
  const startApi = () => startDaemon('api',
    ['--port', String(port), '--frontend-dir', join(root, 'frontend', 'dist'), ...apiArgs], { env, label: `${prefix}-api` });
  const daemons = {
    bridge: startDaemon('bridge', ['--group-id', uniqueName('group')], { env, label: `${prefix}-bridge` }),
    api: startApi(),
  };
  await waitFor('the API server to listen', async () => (await fetch(`http://127.0.0.1:${port}/api/tickers`)).ok);
  await waitFor('the live feed to be assigned', () => daemons.api.log().includes('live feed reading'));
  if (producer) {
    daemons.producer = startDaemon('producer',
      ['--tickers', String(tickers), '--interval-ms', String(intervalMs)], { env, label: `${prefix}-producer` });
  }
  return {
    db, topic, port, env, daemons,
    baseUrl: `http://127.0.0.1:${port}`,
    // A new API server on the same port and settings (after daemons.api was stopped or killed).
    async restartApi() {
      daemons.api = startApi();
      await waitFor('the API server to listen again', async () => (await fetch(`http://127.0.0.1:${port}/api/tickers`)).ok);
    },
    async stop() {
      const codes = {};
      for (const [name, daemon] of Object.entries(daemons)) codes[name] = await daemon.stop();
      return codes;
    },
  };
}

// ---- WebSocket -------------------------------------------------------------------------------

// A real WebSocket client that records every message it receives, parsed (by JSON.parse, or
// `parse`: tests/lib/exact-json.mjs keeps prices and volumes as the server's text).
export async function openClient(port, { parse = JSON.parse } = {}) {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  const messages = [];
  socket.on('message', (data) => messages.push(parse(data.toString())));
  await new Promise((resolve, reject) => { socket.once('open', resolve); socket.once('error', reject); });
  return {
    socket,
    messages,
    send(message) { socket.send(typeof message === 'string' || Buffer.isBuffer(message) ? message : JSON.stringify(message)); },
    ticks() { return messages.filter((m) => m.type === 'tick'); },
    async next(predicate, what = 'a message', timeoutMs = 10000) {
      return waitFor(what, () => messages.find(predicate), { timeoutMs, intervalMs: 20 });
    },
    close() { socket.close(); },
  };
}

// ---- metrics -----------------------------------------------------------------------------------

// The value of a counter or gauge (no labels) on a daemon's admin port; NaN when absent.
export async function readMetric(adminPort, name) {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

// ---- promtool ---------------------------------------------------------------------------------

// Runs Prometheus' promtool (scripts/install-deps takes it from Debian's prometheus package;
// scripts/test passes its path in PROMTOOL): {status, stdout, stderr}. Throws when it is
// nowhere to be found, so a check that needs it cannot pass unnoticed.
export function promtool(args, input) {
  const candidates = [process.env.PROMTOOL, 'promtool', join(homedir(), '.cache', 'tickerflow', 'promtool', 'promtool')];
  for (const candidate of candidates.filter(Boolean)) {
    const result = spawnSync(candidate, args, { input, encoding: 'utf8' });
    if (result.error?.code === 'ENOENT') continue;
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }
  throw new Error('promtool not found: run scripts/install-deps (or set PROMTOOL)');
}
