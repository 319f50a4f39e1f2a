// Checks of what WebSocket clients receive against what PostgreSQL stored (records).
import assert from 'node:assert/strict';

// The stored values of `name` after `after` (exclusive) up to `until` (inclusive), as "time value".
export function storedBetween(db, name, after, until) {
  return db.query(
    `SELECT to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), value FROM records
     WHERE name = '${name}' AND time > '${after}' AND time <= '${until}' ORDER BY time`).map(([t, v]) => `${t} ${v}`);
}

// Ticks of one ticker must chain: each one's prev is the time of the one before.
export function assertChained(ticks, what) {
  for (let i = 1; i < ticks.length; i++) {
    assert.equal(ticks[i].prev, ticks[i - 1].time, `${what}: tick ${i} follows tick ${i - 1}`);
    assert.equal(Math.abs(ticks[i].value - ticks[i - 1].value), 1, `${what}: one step`);
  }
}

// The messages a client received, batches ({"type":"ticks","ticks":[...]}) opened up, in order.
export function unbatched(messages) {
  return messages.flatMap((m) => (m.type === 'ticks' ? m.ticks : [m]));
}

// Groups ticks by ticker name: Map name -> [tick...] in order received.
export function byTicker(ticks) {
  const groups = new Map();
  for (const tick of ticks) {
    if (!groups.has(tick.name)) groups.set(tick.name, []);
    groups.get(tick.name).push(tick);
  }
  return groups;
}
