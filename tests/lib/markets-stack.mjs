// A stack of kind trades for the API and browser tests: the shipped sample hour moved to end
// about two minutes ago, stored by a bridge of kind trades, aggregated by an aggregator of
// kind trades (every pair's last minute closed), served by an API server that follows the
// trades topic's pairs live (WebSocket subscriptions to pairs) beside a ticker topic of its own.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createDatabase, createTopic, freePort, produceLines, root, startDaemon, uniqueName, waitFor, waitForValue,
} from './harness.mjs';

export const SAMPLE = join(root, 'services', 'producer', 'samples', 'trades-sample.jsonl');

export async function startMarketsStack(prefix, { apiArgs = [] } = {}) {
  const db = createDatabase(prefix);
  const topic = createTopic(prefix, 3);
  const tickerTopic = createTopic(`${prefix}-tickers`, 1);
  // The last trade 2 to 3 minutes ago, half a second before a minute's end: the aggregator's
  // idle partitions then close that minute 2.5 s after it, not up to a minute later.
  const lines = readFileSync(SAMPLE, 'utf8').split('\n').filter((l) => l !== '');
  const last = JSON.parse(lines[lines.length - 1]).timestamp;
  const shift = Math.floor((Date.now() - 180000) / 60000) * 60000 + 59500 - last;
  await produceLines(topic, lines.map((l) => {
    const t = JSON.parse(l);
    return `${t.base}/${t.quote}\t${l.replace(/"timestamp":(\d+)/, (m, ms) => `"timestamp":${Number(ms) + shift}`)}`;
  }));
  const env = { DATABASE_URL: db.url, KAFKA_TOPIC: topic };
  const port = await freePort();
  const group = uniqueName('group');
  const daemons = [
    startDaemon('bridge', ['--kind', 'trades', '--group-id', `${group}-b`], { env, label: `${prefix}-bridge` }),
    startDaemon('aggregator', ['--kind', 'trades', '--group-id', `${group}-a`, '--idle-timeout-ms', '1000'],
      { env, label: `${prefix}-aggregator` }),
    startDaemon('api', ['--port', String(port), '--frontend-dir', join(root, 'frontend', 'dist'), '--trades-topic', topic,
      ...apiArgs], { env: { ...env, KAFKA_TOPIC: tickerTopic }, label: `${prefix}-api` }),
  ];
  await waitForValue('every trade stored', () => db.count('SELECT count(*) FROM trades'), lines.length);
  await waitFor('every pair\'s last minute aggregated', () => db.count(`SELECT count(*) FROM
    (SELECT currency_pair, date_bin('1 minute', max(time), timestamptz 'epoch') AS m FROM trades GROUP BY 1) l
    WHERE NOT EXISTS (SELECT 1 FROM candlesticks c WHERE c.currency_pair = l.currency_pair AND c.ts_start = l.m)`) === 0,
  { timeoutMs: 90000 });
  await waitFor('the API server to listen', async () => (await fetch(`http://127.0.0.1:${port}/api/markets`)).ok);
  return { db, topic, env, port, daemons, sampleLines: lines, base: `http://127.0.0.1:${port}` };
}
