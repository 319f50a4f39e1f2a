// Test harness: starts the real daemons against the real Kafka broker and PostgreSQL
// server that scripts/test started, and talks to them with real clients (psql, kcat,
// curl-equivalent fetch, a WebSocket client). Each test gets its own database and
// topic, so tests never see each other's data.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
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
  return execFileSync('psql', [url, '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' }).trim();
}

// Creates an empty database owned by the daemons' role; returns its URL and a query helper.
export function createDatabase(prefix) {
  const name = uniqueName(prefix).toLowerCase();
  psqlAt(adminUrl, `CREATE DATABASE ${name} OWNER tickerflow`);
  const url = new URL(adminUrl);
  url.username = 'tickerflow';
  url.password = 'tickerflow';
  url.pathname = `/${name}`;
  return databaseAt(url.toString());
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

export function createTopic(prefix, partitions = 6) {
  const topic = uniqueName(prefix);
  execFileSync('bash', ['-c', `source "${root}/scripts/lib/services.sh" && kafka_create_topic "$0" "$1" "$2"`,
    brokers, topic, String(partitions)], { stdio: ['ignore', 'ignore', 'pipe'] });
  return topic;
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
export function consumeAll(topic, { max = 100000 } = {}) {
  const out = execFileSync('kcat', ['-C', '-b', brokers, '-t', topic, '-e', '-q', '-c', String(max), '-f', '%s\\n'],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return out.split('\n').filter((line) => line !== '');
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
    env: { ...baseEnvironment(), KAFKA_BROKERS: brokers, ...env },
    stdio: ['ignore', captureStdout ? 'pipe' : logFd, logFd],
  });
  closeSync(logFd);
  started.add(child);
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
      env: { ...baseEnvironment(), ...env },
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

// A real WebSocket client that records every message it receives, parsed.
export async function openClient(port) {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  const messages = [];
  socket.on('message', (data) => messages.push(JSON.parse(data.toString())));
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
