// A local stand-in for the public trade feeds (CoinCap's trade stream and Binance's trade
// streams), speaking their protocol, WebSocket text frames of their JSON, for tests on a
// machine with no internet. The test decides what each connection gets: trades in either
// format, garbage, a dropped connection (TCP reset, no close frame), a clean close, or
// silence (a stalled feed).
import { once } from 'node:events';
import { WebSocketServer } from 'ws';

// Binance's symbols for the test pairs, and CoinCap's ids.
export const BINANCE_SYMBOLS = { 'bitcoin/tether': 'BTCUSDT', 'ethereum/tether': 'ETHUSDT', 'solana/usd-coin': 'SOLUSDC' };

// A Binance trade event: {"e":"trade","E":...,"s":"BTCUSDT","t":id,"p":"...","q":"...","T":ms,"m":bool,"M":true}.
// `combined` wraps it as the combined-stream endpoint does: {"stream":"btcusdt@trade","data":{...}}.
export function binanceFrame({ symbol, id, price, quantity, timeMs, buyerIsMaker }, { combined = false } = {}) {
  const event = { e: 'trade', E: timeMs + 3, s: symbol, t: id, p: price, q: quantity, T: timeMs, m: buyerIsMaker, M: true };
  return JSON.stringify(combined ? { stream: `${symbol.toLowerCase()}@trade`, data: event } : event);
}

// A CoinCap trade: numbers as JSON numbers, written with the text given.
export function coincapFrame({ exchange, base, quote, direction, price, volume, timestampMs, priceUsd }) {
  const head = JSON.stringify({ exchange, base, quote, direction });
  return `${head.slice(0, -1)},"price":${price},"volume":${volume},"timestamp":${timestampMs}` +
    `${priceUsd === undefined ? '' : `,"priceUsd":${priceUsd}`}}`;
}

export async function startTradeFeedServer() {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  const connections = []; // every connection so far: { socket, url }
  server.on('connection', (socket, request) => {
    socket.on('error', () => {});
    connections.push({ socket, url: request.url });
  });
  const open = () => connections.filter((c) => c.socket.readyState === 1);
  return {
    port: server.address().port,
    url(path) { return `ws://127.0.0.1:${server.address().port}${path}`; },
    connections,
    // Waits until the client has connected `count` times in all; returns the newest connection.
    async connected(count, timeoutMs = 20000) {
      const deadline = Date.now() + timeoutMs;
      while (connections.length < count || connections[count - 1].socket.readyState !== 1) {
        if (Date.now() > deadline) throw new Error(`the feed client connected ${connections.length} times, not ${count}, within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return connections[count - 1];
    },
    // Sends each frame (text) to every open connection; resolves once they are written.
    async send(frames) {
      for (const { socket } of open()) {
        await new Promise((resolve) => {
          if (frames.length === 0) resolve();
          frames.forEach((frame, i) => socket.send(frame, i === frames.length - 1 ? () => resolve() : undefined));
        });
      }
    },
    // Drops every open connection without a close frame (as a network failure does).
    drop() { for (const { socket } of open()) socket.terminate(); },
    // Closes every open connection cleanly (close frame 1001, as a server going away).
    closeAll() { for (const { socket } of open()) socket.close(1001, 'going away'); },
    async stop() {
      for (const { socket } of connections) socket.terminate();
      server.close();
    },
  };
}
