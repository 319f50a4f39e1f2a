/*
 * The live feed: a thread with its own Kafka consumer that reads the ticker topic from
 * a little before its end (`backfill` messages per partition, so the recent windows of
 * the ticker table start full; partitions assigned directly: no consumer group, no
 * commits), decodes each message, and hands it with its position to the service thread.
 *
 * Threads: live_feed_start/stop and live_feed_take run on the service thread; the
 * consumer runs on the feed's own thread and calls `wake` (lws_cancel_service) after
 * queueing frames.
 */
#ifndef API_LIVE_FEED_H
#define API_LIVE_FEED_H

#include <stdint.h>

#include "error.h"
#include "ticker.h"

struct live_tick {
    struct live_tick *next;
    struct ticker ticker;
    int32_t partition;
    int64_t offset;
};

struct live_feed;

/* Starts the feed thread. `brokers` and `topic` are copied. Stop with live_feed_stop. */
struct live_feed *live_feed_start(const char *brokers, const char *topic, size_t queue_limit, int64_t backfill,
                                  void (*wake)(void *context), void *context, struct error *err);

/* Takes every tick queued so far, oldest first, as a list linked by ->next. The caller
 * frees each with free(). */
struct live_tick *live_feed_take(struct live_feed *feed);

/* Stops and joins the thread, frees queued ticks. NULL does nothing. */
void live_feed_stop(struct live_feed *feed);

#endif
