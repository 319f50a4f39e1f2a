/*
 * The live feed: a thread with its own Kafka consumer that reads the ticker topic from
 * its end (partitions assigned directly: no consumer group, no commits), decodes each
 * message, and hands a ready-to-send frame to the service thread.
 *
 * Threads: live_feed_start/stop and live_feed_take run on the service thread; the
 * consumer runs on the feed's own thread and calls `wake` (lws_cancel_service) after
 * queueing frames.
 */
#ifndef API_LIVE_FEED_H
#define API_LIVE_FEED_H

#include "error.h"
#include "frame.h"

struct live_feed;

/* Starts the feed thread. `brokers` and `topic` are copied. Stop with live_feed_stop. */
struct live_feed *live_feed_start(const char *brokers, const char *topic, size_t queue_limit,
                                  void (*wake)(void *context), void *context, struct error *err);

/* Takes every frame queued so far, oldest first, as a list linked by frame->next. The
 * caller owns one reference to each. */
struct frame *live_feed_take(struct live_feed *feed);

/* Stops and joins the thread, frees queued frames. NULL does nothing. */
void live_feed_stop(struct live_feed *feed);

#endif
