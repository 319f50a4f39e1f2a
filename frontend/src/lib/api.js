// The API server's HTTP side (docs/api.md).

export async function fetchJson(url, { signal } = {}) {
  const response = await fetch(url, { cache: 'no-store', signal });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

export function fetchTickers(options) {
  return fetchJson('/api/tickers', options);
}

// history(name, {from, to, limit} or {from, to, max_points}); undefined keys are left out.
export function fetchHistory(name, query, options) {
  const parameters = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== null) parameters.set(key, value);
  return fetchJson(`/api/tickers/${encodeURIComponent(name)}/history?${parameters}`, options);
}

// candles(name, {interval, from, to}): closed candles of the range (docs/api.md).
export function fetchCandles(name, query, options) {
  const parameters = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== null) parameters.set(key, value);
  return fetchJson(`/api/tickers/${encodeURIComponent(name)}/candles?${parameters}`, options);
}

// Runs task(item) for every item, at most `parallel` at once; resolves when all settled.
export async function forEachLimited(items, parallel, task) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      try { await task(item); } catch (error) { if (error.name !== 'AbortError') console.warn(error.message); }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
}

// Prices and volumes keep their exact decimal text: JSON numbers of these fields are read as
// strings (a double would turn 97000.10 into 97000.1 and 0.1 + 0.2 into 0.30000000000000004).
const EXACT_FIELDS = /"(price|volume|open|high|low|close|volume_buy|volume_sell|change_24h|change_24h_percent|volume_24h|volume_buy_24h|volume_sell_24h|price_usd)":(-?[0-9][0-9.eE+-]*)/g;

// JSON.parse, with the prices and volumes as their text.
export function parseExact(text) {
  return JSON.parse(text.replace(EXACT_FIELDS, '"$1":"$2"'));
}

export async function fetchExact(url, { signal } = {}) {
  const response = await fetch(url, { cache: 'no-store', signal });
  const text = await response.text();
  let body = {};
  try { body = parseExact(text); } catch { /* an error page */ }
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

function marketPath(pair) {
  const [base, quote] = pair.split('/');
  return `/api/markets/${encodeURIComponent(base)}/${encodeURIComponent(quote)}`;
}

function queryString(query) {
  const parameters = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== null) parameters.set(key, value);
  return parameters.toString();
}

// Every pair: last price, 24 h change and volumes (docs/api.md).
export function fetchMarkets(options) {
  return fetchExact('/api/markets', options);
}

// A pair's candlesticks and volumes: {interval, from, to}.
export function fetchMarketCandles(pair, query, options) {
  return fetchExact(`${marketPath(pair)}/candles?${queryString(query)}`, options);
}

// A pair's newest trades of a range: {from, to, limit}.
export function fetchMarketTrades(pair, query, options) {
  return fetchExact(`${marketPath(pair)}/trades?${queryString(query)}`, options);
}
