/*
 * The live feed: a thread with its own Kafka consumer that reads the ticker topic from
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

struct live_tick {
    struct live_tick *next;
    struct ticker ticker;
    int32_t partition;
    int64_t offset;
    /* Not a value: the ticker's ticks up to ticker.time_us were dropped unseen (the service
     * thread fell behind and the queue overflowed). Such markers come first in a take: what
     * was dropped is older than what is queued. */
    bool skipped;
};

struct live_feed;

/* Starts the feed thread. `brokers` and `topic` are copied. Stop with live_feed_stop. */
struct live_feed *live_feed_start(const char *brokers, const char *topic, size_t queue_limit, int64_t backfill,
                                  void (*wake)(void *context), void *context, struct error *err);

/* Takes every tick queued so far, oldest first, as a list linked by ->next, after a
 * `skipped` marker for each ticker of which ticks were dropped since the last take. The
 * caller frees each with free(). */
struct live_tick *live_feed_take(struct live_feed *feed);

/* True once the feed has ended for good; *err (not NULL) then says why (ERROR_PERMANENT). */
bool live_feed_failed(struct live_feed *feed, struct error *err);

/* Stops and joins the thread (closing the consumer within a few seconds, whatever the
 * broker does), frees queued ticks. NULL does nothing. */
void live_feed_stop(struct live_feed *feed);

#endif
