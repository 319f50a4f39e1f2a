/*
 * A live trade feed over WebSocket (ws:// or wss://), read with libwebsockets' client:
 * every frame becomes a trade (feed_format.h) handed to the caller's sink, which publishes
 * it. The connection is kept up: after any close, failed connect or silence (no frame for
 * `silence_ms`: the watchdog), it connects again after a backoff with jitter
 * (common/backoff.h). Malformed frames are counted and logged, and reading goes on. Where
 * the feed numbers its trades (Binance), a trade already published is never published
 * again: after a reconnect a feed may send the last ones twice. With --log-level debug,
 * every frame received is logged (how a user explores a feed).
 *
 * One thread: trade_feed_service runs the client and calls the sink.
 */
#ifndef PRODUCER_TRADE_FEED_H
#define PRODUCER_TRADE_FEED_H

#include <stdbool.h>

#include "error.h"
#include "feed_format.h"
#include "trade.h"

struct trade_feed_settings {
    const char *url;      /* ws://host[:port]/path[?query] or wss://... */
    const char *format;   /* "auto", "coincap" or "binance" */
    const char *api_key;  /* "" or a key, sent as the apiKey query parameter (CoinCap) */
    int silence_ms;       /* the watchdog */
};

/* Publishes one trade; -1 (err set) stops the feed. */
typedef int trade_sink_fn(void *context, const struct trade *trade, struct error *err);

struct trade_feed;

/* Checks the URL (a usage error when it is not one: ERROR_PERMANENT, naming it) and
 * prepares the client; connects at the first trade_feed_service. The strings of `settings`
 * must outlive the feed. */
struct trade_feed *trade_feed_open(const struct trade_feed_settings *settings, trade_sink_fn *sink, void *context,
                                   struct error *err);

/* Serves the connection for about `timeout_ms`: connects when due, reads frames and hands
 * their trades to the sink, enforces the watchdog. Returns -1 when the sink failed (its
 * error), else 0. */
int trade_feed_service(struct trade_feed *feed, int timeout_ms, struct error *err);

/* True while connected; `reason` (size bytes) says why not otherwise. Any thread. */
bool trade_feed_connected(struct trade_feed *feed, char *reason, size_t size);

void trade_feed_close(struct trade_feed *feed);

#endif
