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
