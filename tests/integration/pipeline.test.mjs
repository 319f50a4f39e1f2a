// End to end on real services: producer -> Kafka -> bridge -> PostgreSQL -> API server
// (HTTP) and Kafka -> API server -> WebSocket clients, filtered per client.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { requireServices, startStack, openClient, consumeAll, waitFor, test, waitForValue, bridgeProgress } from '../lib/harness.mjs';

requireServices();

const MESSAGE_FORMAT = /^\{"name":"ticker_\d{2}","value":-?\d+,"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"\}$/;
let stack;

before(async () => {
  stack = await startStack('pipeline', { tickers: 10, intervalMs: 200 });
});

after(async () => {
  if (!stack) return;
  const codes = await stack.stop();
  assert.deepEqual(codes, { bridge: 0, api: 0, producer: 0 }, 'every daemon exits 0 on SIGTERM');
});

test('the topic carries the documented JSON, keyed by ticker name', async () => {
  await waitFor('messages on the topic', () => consumeAll(stack.topic, { max: 20 }).length >= 20);
  const messages = consumeAll(stack.topic, { max: 50 });
  for (const message of messages) assert.match(message, MESSAGE_FORMAT);
  const names = new Set(messages.map((m) => JSON.parse(m).name));
  assert.ok(names.size >= 5, `several tickers seen: ${[...names]}`);
});

test('every produced message becomes a row of records', async () => {
  await waitFor('rows for all 10 tickers', () => stack.db.count('SELECT count(DISTINCT name) FROM records') === 10);
  // Stop the producer: then Kafka and records must hold exactly the same messages.
  assert.equal(await stack.daemons.producer.stop(), 0);
  const produced = consumeAll(stack.topic).map((m) => JSON.parse(m));
  await waitForValue('the bridge to catch up', () => stack.db.count('SELECT count(*) FROM records'), (n) => n >= produced.length, { explain: () => bridgeProgress(stack.db, stack.topic) });
  const rows = stack.db.query(
    `SELECT name, to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), value FROM records`);
  const stored = new Set(rows.map(([name, time, value]) => `${name}|${time}|${value}`));
  assert.equal(rows.length, produced.length, 'one row per message');
  for (const m of produced) assert.ok(stored.has(`${m.name}|${m.time}|${m.value}`), `stored: ${JSON.stringify(m)}`);
  // Restart it for the live tests below.
  const { startDaemon } = await import('../lib/harness.mjs');
  stack.daemons.producer = startDaemon('producer', ['--tickers', '10', '--interval-ms', '200'],
    { env: stack.env, label: 'pipeline-producer-2' });
});

test('a WebSocket client gets only the ticker it watches, and what it gets is stored', async () => {
  const watcher = await openClient(stack.port);
  const other = await openClient(stack.port);
  watcher.send({ op: 'subscribe', ticker: 'ticker_03' });
  other.send({ op: 'subscribe', ticker: 'ticker_04' });
  await watcher.next((m) => m.type === 'subscribed' && m.tickers.includes('ticker_03'), 'subscribed reply');
  await waitFor('five live ticks of ticker_03', () => watcher.ticks().length >= 5);
  await waitFor('five live ticks of ticker_04', () => other.ticks().length >= 5);

  assert.ok(watcher.ticks().every((m) => m.name === 'ticker_03'), 'watcher saw only ticker_03');
  assert.ok(other.ticks().every((m) => m.name === 'ticker_04'), 'the other client never saw ticker_03');
  // Consecutive live values move by exactly one step.
  const values = watcher.ticks().map((m) => m.value);
  for (let i = 1; i < values.length; i++) assert.equal(Math.abs(values[i] - values[i - 1]), 1);

  const tick = watcher.ticks()[0];
  await waitFor('the live value to be in records', () => stack.db.count(
    `SELECT count(*) FROM records WHERE name = 'ticker_03' AND value = ${tick.value} AND time = '${tick.time}'`) === 1);

  // Switching: after unsubscribing, no more ticker_03; ticker_05 arrives instead.
  watcher.send({ op: 'unsubscribe', ticker: 'ticker_03' });
  watcher.send({ op: 'subscribe', ticker: 'ticker_05' });
  await watcher.next((m) => m.type === 'unsubscribed', 'unsubscribed reply');
  const cut = watcher.messages.findIndex((m) => m.type === 'unsubscribed');
  await waitFor('ticks of ticker_05', () => watcher.ticks().some((m) => m.name === 'ticker_05'));
  await new Promise((resolve) => setTimeout(resolve, 600));
  assert.ok(watcher.messages.slice(cut).every((m) => m.type !== 'tick' || m.name === 'ticker_05'));
  watcher.close();
  other.close();
});

test('bad WebSocket messages get an error each and the connection keeps working', async () => {
  const client = await openClient(stack.port);
  const bad = [
    ['not json', 'invalid_json', /invalid JSON/],
    [JSON.stringify({ op: 'dance', ticker: 'ticker_01' }), 'unknown_op', /unknown op 'dance'/],
    [JSON.stringify({ op: 'subscribe' }), 'invalid_message', /give either 'tickers'/],
    [JSON.stringify({ op: 'subscribe', ticker: 'way_too_long_name' }), 'invalid_ticker', /invalid ticker: name is 17 bytes long/],
    [JSON.stringify({ op: 'subscribe', ticker: 'x', extra: 1 }), 'invalid_message', /unknown field 'extra'/],
    [Buffer.from([0, 1, 2]), 'binary_frame', /binary frames are not supported/],
    ['{"op":"subscribe","ticker":"' + 'x'.repeat(20000) + '"}', 'message_too_long', /longer than the limit of 16384/],
  ];
  for (const [payload] of bad) client.send(payload);
  await waitFor('one error per bad message', () => client.messages.filter((m) => m.type === 'error').length === bad.length);
  const errors = client.messages.filter((m) => m.type === 'error');
  bad.forEach(([, code, pattern], i) => {
    assert.equal(errors[i].code, code);
    assert.match(errors[i].error, pattern);
  });
  client.send({ op: 'subscribe', ticker: 'ticker_01' });
  await waitFor('live ticks after the errors', () => client.ticks().some((m) => m.name === 'ticker_01'));
  assert.match(stack.daemons.api.log(), /WebSocket request rejected \(7 so far\)/);
  client.close();

  // Text that is not UTF-8 breaks the WebSocket protocol itself: closed with 1007.
  const broken = await openClient(stack.port);
  const closed = new Promise((resolve) => broken.socket.on('close', (code) => resolve(code)));
  broken.socket.send(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), { binary: false });
  assert.equal(await closed, 1007);
  assert.ok(stack.daemons.api.running());
});

test('GET /api/tickers returns every ticker in records with its latest value', async () => {
  const response = await fetch(`${stack.baseUrl}/api/tickers`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type'), /application\/json/);
  const { tickers } = await response.json();
  assert.deepEqual(tickers.map((t) => t.name), Array.from({ length: 10 }, (_, i) => `ticker_0${i}`));
  // Compare with the table at a moment the producer has stopped writing.
  await stack.daemons.producer.stop();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const latest = Object.fromEntries(stack.db.query(
    `SELECT DISTINCT ON (name) name, value, to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
     FROM records ORDER BY name, time DESC, id DESC`).map(([name, value, time]) => [name, { value: Number(value), time }]));
  const { tickers: after } = await (await fetch(`${stack.baseUrl}/api/tickers`)).json();
  for (const t of after) assert.deepEqual({ value: t.value, time: t.time }, latest[t.name], t.name);
});

test('GET history returns exactly the rows of the range, oldest first', async () => {
  const rows = stack.db.query(`SELECT to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), value
                               FROM records WHERE name = 'ticker_02' ORDER BY time, id`);
  assert.ok(rows.length > 10);
  const all = await (await fetch(`${stack.baseUrl}/api/tickers/ticker_02/history?limit=10000`)).json();
  assert.equal(all.name, 'ticker_02');
  assert.equal(all.truncated, false);
  assert.deepEqual(all.points.map((p) => [p.time, String(p.value)]), rows);

  const from = rows[2][0];
  const to = rows[6][0];
  const range = await (await fetch(`${stack.baseUrl}/api/tickers/ticker_02/history?from=${from}&to=${to}`)).json();
  assert.deepEqual(range.points.map((p) => [p.time, String(p.value)]), rows.slice(2, 7));

  const limited = await (await fetch(`${stack.baseUrl}/api/tickers/ticker_02/history?limit=3`)).json();
  assert.equal(limited.truncated, true);
  assert.deepEqual(limited.points.map((p) => [p.time, String(p.value)]), rows.slice(-3), 'the newest three');
});

test('bad HTTP parameters get 400 with a JSON error, unknown tickers 404', async () => {
  const cases = [
    ['/api/tickers/ticker_02/history?limit=0', 400, /parameter 'limit': must be an integer from 1 to 10000/],
    ['/api/tickers/ticker_02/history?limit=abc', 400, /parameter 'limit'/],
    ['/api/tickers/ticker_02/history?from=yesterday', 400, /parameter 'from': time is not RFC 3339/],
    ['/api/tickers/ticker_02/history?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', 400, /'from' is after 'to'/],
    ['/api/tickers/ticker_02/history?colour=red', 400, /unknown parameter 'colour'/],
    ['/api/tickers/ticker_02/history?limit=1&limit=2', 400, /given twice/],
    ['/api/tickers/bad-name/history', 400, /invalid ticker/],
    ['/api/tickers?page=2', 400, /unknown parameter 'page'/],
    ['/api/tickers/ticker_77/history', 404, /unknown ticker/],
    ['/api/nothing', 404, /no such endpoint/],
  ];
  for (const [path, status, pattern] of cases) {
    const response = await fetch(`${stack.baseUrl}${path}`);
    assert.equal(response.status, status, path);
    assert.match(response.headers.get('content-type'), /application\/json/, path);
    assert.match((await response.json()).error, pattern, path);
  }
  const post = await fetch(`${stack.baseUrl}/api/tickers`, { method: 'POST' });
  assert.equal(post.status, 405);
  assert.ok(stack.daemons.api.running(), 'the API server is still up');
});

test('the dashboard files are served from the same origin', async () => {
  const index = await fetch(`${stack.baseUrl}/`);
  assert.equal(index.status, 200);
  assert.match(await index.text(), /<title>tickerflow<\/title>/);
  const script = await fetch(`${stack.baseUrl}/app.js`);
  assert.equal(script.status, 200);
  assert.match(script.headers.get('content-type'), /javascript/);
});
