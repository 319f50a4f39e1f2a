// The WebSocket /ws: one connection for the whole page, reconnecting with back-off.
//
// A view says what it watches: every ticker (the board: latest values, no history needed,
// conflated batches), one ticker from a position (the ticker view: gapless, with its live
// candle), or one currency pair from an offset (the market view: its trades, gapless), the
// views in batches of 100 ms. After a reconnect the connection asks again: '*' again, or
// `resume` from the newest position the view has shown, so the server sends exactly what was
// missed (docs/api.md).
import { parseExact } from './lib/api.js';

const RECONNECT_DELAYS_MS = [500, 1000, 2000, 5000];
// Batched delivery (docs/api.md): the page draws at most once per animation frame, so one
// frame of messages every 100 ms costs it nothing visible and the server a tenth of the
// writes. The boards show only each ticker's (pair's) newest value: conflated, they get one
// entry per ticker per interval, sharing one encoded frame with every other board.
const BOARD_DELIVERY = { batch_ms: 100, conflate: true };
const VIEW_DELIVERY = { batch_ms: 100 };

export class LiveConnection {
  // onState(state): 'connecting' | 'live' | 'reconnecting' | 'offline'; onMessage(message).
  constructor({ onState, onMessage }) {
    this.onState = onState;
    this.onMessage = onMessage;
    // null, { all: true }, { ticker, position }, { pair, position } (an offset) or { allPairs: true }
    this.interest = null;
    this.socket = null;
    this.attempt = 0;
    this.connect();
  }

  connect() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(`${scheme}//${location.host}/ws`);
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.attempt = 0;
      this.onState('live');
      this.ask(this.interest, true);
    });
    socket.addEventListener('message', (event) => {
      let message;
      // A pair's prices and volumes keep their digits (a double would not).
      try { message = event.data.includes('"pair":') ? parseExact(event.data) : JSON.parse(event.data); } catch { return; }
      if (message.type === 'error') console.warn('server rejected a message:', message.code, message.error);
      else if (message.type === 'ticks') message.ticks.forEach((entry) => this.onMessage(entry));
      else this.onMessage(message);
    });
    socket.addEventListener('close', () => {
      if (this.socket !== socket) return;
      const delay = RECONNECT_DELAYS_MS[Math.min(this.attempt, RECONNECT_DELAYS_MS.length - 1)];
      this.attempt++;
      this.onState(this.attempt > RECONNECT_DELAYS_MS.length ? 'offline' : 'reconnecting');
      setTimeout(() => this.connect(), delay);
    });
  }

  send(message) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  // Subscribes for `interest`; `reconnected`: resume a ticker (pair) from its position.
  ask(interest, reconnected) {
    if (interest?.all) this.send({ op: 'subscribe', tickers: '*', ...BOARD_DELIVERY });
    else if (interest?.allPairs) this.send({ op: 'subscribe', pairs: '*', ...BOARD_DELIVERY });
    else if (interest?.pair) {
      const hasPosition = interest.position !== undefined && interest.position !== null;
      this.send(hasPosition ? { op: 'subscribe', pair: interest.pair, since: interest.position, ...VIEW_DELIVERY }
        : { op: 'subscribe', pair: interest.pair, ...VIEW_DELIVERY });
    }
    else if (interest?.ticker && reconnected && interest.position) {
      // A resume takes no "candles": they are asked for right after it.
      this.send({ op: 'resume', positions: { [interest.ticker]: interest.position }, ...VIEW_DELIVERY });
      this.send({ op: 'subscribe', tickers: [interest.ticker], candles: true, ...VIEW_DELIVERY });
    } else if (interest?.ticker) {
      this.send(interest.position
        ? { op: 'subscribe', tickers: [interest.ticker], since: interest.position, candles: true, ...VIEW_DELIVERY }
        : { op: 'subscribe', tickers: [interest.ticker], candles: true, ...VIEW_DELIVERY });
    }
  }

  // Watches `interest` instead of what was watched before (null: nothing).
  watch(interest) {
    const previous = this.interest;
    if (previous?.all && !interest?.all) this.send({ op: 'unsubscribe', tickers: '*' });
    else if (previous?.ticker) this.send({ op: 'unsubscribe', tickers: [previous.ticker] });
    else if (previous?.pair) this.send({ op: 'unsubscribe', pairs: [previous.pair] });
    else if (previous?.allPairs && !interest?.allPairs) this.send({ op: 'unsubscribe', pairs: '*' });
    this.interest = interest;
    this.ask(interest, false);
  }

  // The ticker view's newest shown value (the market view's newest trade): where a reconnect
  // resumes.
  advance(key, position) {
    if (this.interest?.ticker === key || this.interest?.pair === key) this.interest.position = position;
  }
}
