/*
 * The live feed: a thread with its own Kafka consumer that reads a topic (tickers, or
 * trades: one feed per topic) from
 * a little before its end (`backfill` messages per partition, so the recent windows of
 * the ticker table start full; partitions assigned directly: no consumer group, no
 * commits), decodes each message, and hands it with its position to the service thread.
 *
 * A topic that does not exist yet is waited for; one deleted while the feed reads it ends
 * the feed: live_feed_failed then says why, and the server stops (nothing would ever
 * arrive again).
 *
 * Threads: live_feed_start/stop, live_feed_take and live_feed_failed run on the service
 * thread; the consumer runs on the feed's own thread and calls `wake` (lws_cancel_service)
 * after queueing frames or failing.
 */
#ifndef API_LIVE_FEED_H
#define API_LIVE_FEED_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "ticker.h"
#include "trade.h"

enum live_feed_kind {
    LIVE_FEED_TICKERS, /* the ticker topic: each message a struct ticker */
    LIVE_FEED_TRADES,  /* the trades topic: each message a struct trade */
};

/* The longest key a live message has: a ticker's name, or a currency pair. */
#define LIVE_KEY_MAX TRADE_PAIR_MAX

/* A trade of the trades feed, with its price and volume as read while it was checked. */
struct live_trade {
    struct trade trade;
    struct trade_numbers numbers;
};

/* One message of the feed (free with free(): a trade is allocated with it). */
struct live_tick {
    struct live_tick *next;
    char key[LIVE_KEY_MAX + 1]; /* the ticker's name, or the trade's pair */
    /* Where the message stands in its key's sequence: a tick's time (each ticker's times
     * only grow), a trade's offset (a pair's trades share a partition: offsets only grow). */
    int64_t position;
    struct ticker ticker; /* LIVE_FEED_TICKERS */
    int32_t partition;
    int64_t offset;
    /* Not a value: the key's messages up to `position` (for tickers also ticker.time_us)
     * were dropped unseen (the service thread fell behind and the queue overflowed). Such
     * markers come first in a take: what was dropped is older than what is queued. */
    bool skipped;
    struct live_trade market[]; /* LIVE_FEED_TRADES, not a marker: one */
};

struct live_feed;

/* Starts the feed thread. `brokers` and `topic` are copied. Stop with live_feed_stop. */
struct live_feed *live_feed_start(enum live_feed_kind kind, const char *brokers, const char *topic,
                                  size_t queue_limit, int64_t backfill, void (*wake)(void *context), void *context,
                                  struct error *err);

/* Takes every message queued so far, oldest first, as a list linked by ->next, after a
 * `skipped` marker for each key of which messages were dropped since the last take. The
 * caller frees each with free(). */
struct live_tick *live_feed_take(struct live_feed *feed);

/* True once the feed has ended for good; *err (not NULL) then says why (ERROR_PERMANENT). */
bool live_feed_failed(struct live_feed *feed, struct error *err);

/* Stops and joins the thread (closing the consumer within a few seconds, whatever the
 * broker does), frees queued ticks. NULL does nothing. */
void live_feed_stop(struct live_feed *feed);

#endif
