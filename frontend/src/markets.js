// The markets board (#/markets): every currency pair with its last price, 24 h change and
// bought/sold volumes. The last prices move live: the board watches every pair's trades over
// the WebSocket ("pairs": "*"); the 24 h figures come from GET /api/markets, read again every
// ten seconds. Prices and volumes are shown with the digits the exchange sent (the API keeps
// them exact; see lib/api.js).
import { fetchMarkets } from './lib/api.js';

export const MARKETS_REFRESH_MS = 10000;

export class MarketsBoard {
  constructor(elements, live, { onOpen }) {
    this.elements = elements;
    this.live = live;
    this.onOpen = onOpen;
    this.lastStreamed = null; // the newest trade from the WebSocket, for tests and debugging
    this.markets = [];
    this.timer = null;
    this.generation = 0;
  }

  show() {
    this.elements.section.hidden = false;
    clearInterval(this.timer);
    this.timer = setInterval(() => this.load(), MARKETS_REFRESH_MS);
    this.live.watch({ allPairs: true });
    return this.load();
  }

  hide() {
    this.generation++;
    clearInterval(this.timer);
    this.live.watch(null);
    this.elements.section.hidden = true;
  }

  async load() {
    const generation = ++this.generation;
    try {
      const { markets } = await fetchMarkets();
      if (generation !== this.generation) return;
      this.markets = markets;
      this.render();
      this.elements.status.textContent = markets.length ? '' :
        'No trades yet: run the trades profile (docker compose --profile trades up, or scripts/run --trades).';
    } catch (error) {
      if (generation !== this.generation) return;
      this.elements.status.textContent = `Could not load the markets: ${error.message}`;
    }
  }

  // A trade from the WebSocket: its pair's last price, if it is not older than the one shown
  // (the last price is the last trade by trade time, as /api/markets says).
  onMessage(message) {
    if (message.type !== 'trade' || this.elements.section.hidden) return;
    this.lastStreamed = message;
    const market = this.markets.find((m) => m.pair === message.pair);
    if (!market || Date.parse(message.time) < Date.parse(market.time)) return;
    market.price = message.price;
    market.time = message.time;
    const cell = this.elements.body.querySelector(`tr[data-pair="${CSS.escape(message.pair)}"] td`);
    if (cell) cell.textContent = message.price;
  }

  render() {
    const body = this.elements.body;
    const rows = this.markets.map((m) => {
      const row = document.createElement('tr');
      row.dataset.pair = m.pair;
      row.tabIndex = 0;
      const change = m.change_24h === null ? '–' : `${m.change_24h} (${m.change_24h_percent}%)`;
      const direction = m.change_24h === null ? '' : m.change_24h.startsWith('-') ? 'down' : Number(m.change_24h) > 0 ? 'up' : '';
      const cells = [m.pair, m.price, change, m.volume_24h, m.volume_buy_24h, m.volume_sell_24h, String(m.trades_24h)];
      cells.forEach((text, i) => {
        const cell = document.createElement(i === 0 ? 'th' : 'td');
        if (i === 0) cell.scope = 'row';
        cell.textContent = text;
        if (i === 2) {
          cell.className = 'change';
          cell.dataset.direction = direction;
        }
        row.append(cell);
      });
      const open = () => this.onOpen(m.pair);
      row.addEventListener('click', open);
      row.addEventListener('keydown', (event) => { if (event.key === 'Enter') open(); });
      return row;
    });
    body.replaceChildren(...rows);
    this.elements.count.textContent = `${this.markets.length} pairs`;
  }
}
