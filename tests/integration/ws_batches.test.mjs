// Batched and conflated live delivery (docs/api.md, "batch_ms" and "conflate") on real
// services: one frame per interval holding every tick in order, "*" boards sharing one
// encoded frame, conflated frames whose counts equal the values stored in records, resume
// reaching every value, members that change what they watch or stop reading.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { requireServices, startStack, openClient, waitFor, freePort, produceLines, readMetric, test } from '../lib/harness.mjs';
import { storedBetween as storedBetweenIn, assertChained, unbatched, byTicker } from '../lib/ticks.mjs';

requireServices();

let stack;
let adminPort;

before(async () => {
  adminPort = await freePort();
  stack = await startStack('wsbatch', {
    tickers: 10,
    intervalMs: 100,
    apiArgs: ['--admin-port', String(adminPort), '--heartbeat-interval-ms', '500', '--replay-ticks', '50',
      '--client-queue-max', '64', '--slow-client-timeout-ms', '1500'],
  });
  await waitFor('rows of all 10 tickers', () => stack.db.count('SELECT count(DISTINCT name) FROM records') === 10,
    { timeoutMs: 30000 });
  const probe = await openClient(stack.port);
  probe.send({ op: 'subscribe', tickers: '*' });
  try {
    await waitFor('the server to stream all 10 tickers', () => new Set(probe.ticks().map((m) => m.name)).size === 10,
      { timeoutMs: 10000 });
  } catch (error) {
    throw new Error(`${error.message}\n--- api log (last 4000 characters) ---\n${stack.daemons.api.log().slice(-4000)}`);
  } finally {
    probe.close();
  }
});

after(async () => {
  if (!stack) return;
  const codes = await stack.stop();
  assert.deepEqual(codes, { bridge: 0, api: 0, producer: 0 });
});

const metric = (name) => readMetric(adminPort, name);
const storedBetween = (name, after, until) => storedBetweenIn(stack.db, name, after, until);

// A client that also notes when each message arrived.
async function timedClient() {
  const client = await openClient(stack.port);
  client.arrivals = [];
  client.socket.on('message', () => client.arrivals.push(Date.now()));
  return client;
}

// Every ticker's ticks as the client got them, chained, and equal to records (each after the first).
async function assertComplete(ticks, what) {
  for (const [name, list] of byTicker(ticks)) {
    assertChained(list, `${what}: ${name}`);
    assert.equal(new Set(list.map((t) => t.time)).size, list.length, `${what}: ${name} has no value twice`);
    await waitFor(`records of ${name} to catch up`,
      () => storedBetween(name, list[0].time, list.at(-1).time).length === list.length - 1, { timeoutMs: 10000 });
    assert.deepEqual(list.slice(1).map((t) => `${t.time} ${t.value}`), storedBetween(name, list[0].time, list.at(-1).time),
      `${what}: ${name} equals records`);
  }
}

test('"batch_ms": one "ticks" frame per interval, holding every tick in order with the fields of a single tick', async () => {
  const client = await timedClient();
  client.send({ op: 'subscribe', tickers: ['ticker_01', 'ticker_02'], batch_ms: 250 });
  await client.next((m) => m.type === 'subscribed');
  await sleep(3000);
  client.close();
  const frames = client.messages.filter((m) => m.type === 'ticks');
  assert.equal(client.messages.filter((m) => m.type === 'tick').length, 0, 'no single tick frames');
  assert.ok(frames.length >= 8 && frames.length <= 15, `${frames.length} frames in 3 s at 250 ms`);
  const times = client.arrivals.filter((_, i) => client.messages[i].type === 'ticks');
  for (let i = 1; i < times.length; i++)
    assert.ok(times[i] - times[i - 1] >= 150, `frames ${i - 1} and ${i} ${times[i] - times[i - 1]} ms apart`);
  const ticks = unbatched(client.messages).filter((m) => m.type === 'tick');
  assert.ok(frames.every((f) => f.ticks.length >= 2), 'each frame holds several ticks');
  for (const tick of ticks) {
    assert.deepEqual(Object.keys(tick), ['type', 'name', 'value', 'time', 'prev', 'partition', 'offset']);
    assert.ok(['ticker_01', 'ticker_02'].includes(tick.name));
  }
  await assertComplete(ticks, 'batched');
});

test('"*" boards with the same options share one frame per interval: identical, complete', async () => {
  const sharedBefore = await metric('tickerflow_api_ws_shared_frames_total');
  const boards = [];
  for (let i = 0; i < 3; i++) {
    const board = await openClient(stack.port);
    board.send({ op: 'subscribe', tickers: '*', batch_ms: 200 });
    boards.push(board);
  }
  await waitFor('the three boards in one stream', async () => (await metric('tickerflow_api_ws_stream_members')) === 3);
  await sleep(2500);
  for (const board of boards) board.close();
  assert.ok(await metric('tickerflow_api_ws_shared_frames_total') >= sharedBefore + 3 * 8, 'shared frames written');
  // The last frames each received are the same bytes.
  const lastFrames = boards.map((b) => b.messages.filter((m) => m.type === 'ticks').slice(-5).map((m) => JSON.stringify(m)));
  assert.deepEqual(lastFrames[1], lastFrames[0]);
  assert.deepEqual(lastFrames[2], lastFrames[0]);
  for (const [i, board] of boards.entries()) {
    const ticks = unbatched(board.messages).filter((m) => m.type === 'tick');
    assert.equal(new Set(ticks.map((t) => t.name)).size, 10, 'every ticker');
    await assertComplete(ticks, `board ${i}`);
  }
  await waitFor('the stream to be left', async () => (await metric('tickerflow_api_ws_stream_members')) === 0);
});

// A conflated entry stands for exactly the stored values after the previous one received.
function assertCountsTruthful(ticks, what) {
  let merged = 0;
  for (const [name, list] of byTicker(ticks)) {
    for (let i = 1; i < list.length; i++) {
      const [previous, entry] = [list[i - 1], list[i]];
      const stored = storedBetween(name, previous.time, entry.time);
      assert.equal(entry.count, stored.length, `${what}: ${name} ${entry.time} stands for the ${stored.length} stored values`);
      assert.equal(stored.at(-1), `${entry.time} ${entry.value}`, `${what}: ${name}: the newest of them`);
      assert.equal(entry.prev, entry.count === 1 ? previous.time : stored.at(-2).split(' ')[0], `${what}: its prev`);
      if (entry.count > 1) merged++;
    }
  }
  return merged;
}

test('"conflate": only the newest value per ticker and interval, each with the count of values it stands for', async () => {
  const conflatedBefore = await metric('tickerflow_api_ws_ticks_conflated_total');
  const board = await openClient(stack.port);
  board.send({ op: 'subscribe', tickers: '*', conflate: true, batch_ms: 500 });
  await board.next((m) => m.type === 'subscribed');
  await sleep(4000);
  board.close();
  const frames = board.messages.filter((m) => m.type === 'ticks');
  for (const frame of frames)
    assert.equal(new Set(frame.ticks.map((t) => t.name)).size, frame.ticks.length, 'one entry per ticker per frame');
  const ticks = unbatched(board.messages).filter((m) => m.type === 'tick');
  assert.ok(ticks.every((t) => Number.isInteger(t.count) && t.count >= 1), 'every entry has its count');
  await waitFor('records to catch up', () => {
    const last = ticks.at(-1);
    return storedBetween(last.name, ticks[0].time, last.time).length > 0 && storedBetween(last.name, last.prev ?? last.time, last.time).length === 1;
  }, { timeoutMs: 10000 });
  await sleep(500);
  const merged = assertCountsTruthful(ticks, 'conflated');
  assert.ok(merged >= 30, `${merged} entries stood for several values (10 Hz in 500 ms frames)`);
  assert.ok(await metric('tickerflow_api_ws_ticks_conflated_total') > conflatedBefore);

  // What a conflated board skipped, resume reaches: every value after its last one of ticker_03.
  const last = byTicker(ticks).get('ticker_03').at(-1);
  const again = await openClient(stack.port);
  again.send({ op: 'resume', positions: { ticker_03: last.time }, batch_ms: 100 });
  await waitFor('20 values of ticker_03', () => unbatched(again.messages).filter((m) => m.type === 'tick').length >= 20);
  again.close();
  const resumed = unbatched(again.messages).filter((m) => m.type === 'tick');
  assert.equal(resumed[0].prev, last.time, 'resumed right after the last value the board had');
  assert.ok(resumed.every((t) => t.count === undefined), 'not conflated: every value');
  await assertComplete([last, ...resumed], 'resumed after conflation');
});

test('a board that changes what it watches leaves its stream without losing or repeating a value, and rejoins', async () => {
  const board = await openClient(stack.port);
  board.send({ op: 'subscribe', tickers: '*', batch_ms: 300 });
  await waitFor('the board in a stream', async () => (await metric('tickerflow_api_ws_stream_members')) === 1);
  await sleep(1100);
  // Mid-interval: ticker_05 becomes unbatched (the board leaves the stream: options differ).
  board.send({ op: 'subscribe', tickers: ['ticker_05'] });
  await waitFor('out of the stream', async () => (await metric('tickerflow_api_ws_stream_members')) === 0);
  await sleep(1300);
  board.send({ op: 'ping' });
  board.send({ op: 'subscribe', tickers: '*', batch_ms: 300 });
  await waitFor('back in the stream', async () => (await metric('tickerflow_api_ws_stream_members')) === 1);
  await sleep(1300);
  board.close();
  const messages = unbatched(board.messages);
  assert.ok(board.messages.some((m) => m.type === 'tick' && m.name === 'ticker_05'), 'ticker_05 came single while unbatched');
  const ticks = messages.filter((m) => m.type === 'tick');
  assert.equal(new Set(ticks.map((t) => t.name)).size, 10);
  await assertComplete(ticks, 'a board through leave and rejoin');
  await waitFor('the stream to be left', async () => (await metric('tickerflow_api_ws_stream_members')) === 0);
});

test('bad "batch_ms" or "conflate" get their documented errors', async () => {
  const client = await openClient(stack.port);
  const cases = [
    [{ op: 'subscribe', tickers: ['ticker_01'], batch_ms: 5 }, 'invalid_batch'],
    [{ op: 'subscribe', tickers: ['ticker_01'], batch_ms: 10001 }, 'invalid_batch'],
    [{ op: 'subscribe', tickers: ['ticker_01'], batch_ms: '100' }, 'invalid_batch'],
    [{ op: 'subscribe', tickers: ['ticker_01'], batch_ms: 100.5 }, 'invalid_batch'],
    [{ op: 'subscribe', tickers: ['ticker_01'], conflate: 'yes' }, 'invalid_message'],
    [{ op: 'unsubscribe', tickers: ['ticker_01'], batch_ms: 100 }, 'invalid_message'],
  ];
  for (const [message, code] of cases) {
    const seen = client.messages.length;
    client.send(message);
    const error = await client.next((m) => client.messages.indexOf(m) >= seen && m.type === 'error', `error for ${JSON.stringify(message)}`);
    assert.equal(error.code, code, JSON.stringify(message));
  }
  client.send({ op: 'ping' });
  await client.next((m) => m.type === 'pong');
  client.close();
});

// Lines for `count` messages on ten tickers of their own (burst_0..9), a microsecond apart.
function burstLines(startUs, count) {
  const lines = [];
  for (let i = 0; i < count; i++) {
    const name = `burst_${i % 10}`;
    const us = startUs + i;
    const time = `${new Date(Math.floor(us / 1000)).toISOString().slice(0, 23)}${String(us % 1000).padStart(3, '0')}Z`;
    lines.push(`${name}\t{"name":"${name}","value":${Math.floor(i / 10) % 2},"time":"${time}"}`);
  }
  return lines;
}

test('a board that stops reading is conflated further, then closed with 4008; its stream goes on for the others', async () => {
  const watcher = await openClient(stack.port);
  watcher.send({ op: 'subscribe', tickers: '*', batch_ms: 100 });
  const slow = new WebSocket(`ws://127.0.0.1:${stack.port}/ws`);
  await new Promise((resolve, reject) => { slow.once('open', resolve); slow.once('error', reject); });
  const closed = new Promise((resolve) => slow.on('close', (code) => resolve(code)));
  slow.send(JSON.stringify({ op: 'subscribe', tickers: '*', batch_ms: 100 }));
  await waitFor('both boards in the stream', async () => (await metric('tickerflow_api_ws_stream_members')) === 2);
  slow._socket.pause();
  const coalescedBefore = await metric('tickerflow_api_ws_ticks_coalesced_total');
  try {
    await produceLines(stack.topic, burstLines(Date.now() * 1000, 200000));
    await waitFor('the slow board to be closed', async () => (await metric('tickerflow_api_ws_closed_slow_total')) >= 1,
      { timeoutMs: 30000, intervalMs: 250 });
    assert.ok(await metric('tickerflow_api_ws_ticks_coalesced_total') > coalescedBefore, 'its ticks were coalesced first');
    slow._socket.resume();
    assert.equal(await closed, 4008);
    await sleep(1000);
    const ticks = unbatched(watcher.messages).filter((m) => m.type === 'tick');
    const serverDropped = await metric('tickerflow_api_live_queue_dropped_total');
    if (serverDropped === 0) {
      assert.ok(unbatched(watcher.messages).every((m) => m.type !== 'gap'), 'the watcher kept up: no gap');
      await assertComplete(ticks, 'the watcher'); // the burst's 20,000 values of each burst_N too
    }
    console.log(`watcher: ${ticks.length} ticks (server dropped ${serverDropped})`);
  } finally {
    watcher.close();
    slow.terminate();
  }
});
