// Times as the API writes them (RFC 3339, microseconds) and as charts want them (seconds).

// Seconds since the epoch, keeping the microseconds Date.parse drops, so close ticks stay
// ordered.
export function toSeconds(isoTime) {
  const match = /\.(\d{3})(\d{0,3})/.exec(isoTime);
  const extra = match && match[2] ? Number(match[2].padEnd(3, '0')) / 1e6 : 0;
  return Date.parse(isoTime) / 1000 + extra;
}

export function isoSecondsAgo(seconds) {
  return new Date(Date.now() - seconds * 1000).toISOString();
}

// "5 min", "1 h", "1 day" for a number of seconds.
export function describeSeconds(seconds) {
  if (seconds % 86400 === 0) return `${seconds / 86400} day${seconds === 86400 ? '' : 's'}`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  return `${Math.round(seconds / 60)} min`;
}
