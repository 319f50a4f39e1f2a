/*
 * The aggregator: Kafka consumer group -> per-partition window books -> candles_1m, exactly once.
 *
 * Each partition has a window_book (the candle math). Every checkpoint interval the
 * aggregator flushes the books (closed candles that changed, anchors that moved) and
 * commits them with each partition's next offset, replay offset and newest event time in
 * one Postgres transaction (candle_store). Where to read is always what Postgres says: on
 * every assignment, and after any failed checkpoint, the aggregator drops its books,
 * pauses, restores them from the saved state and reads again from the replay offsets.
 * Candles are written whole, so what a replay writes again is the same value: a kill at
 * any instant neither loses nor double-counts a tick.
 *
 * Everything runs on the main thread; librdkafka callbacks (rebalance) are served from
 * inside aggregator_poll.
 */
#ifndef AGGREGATOR_AGGREGATOR_H
#define AGGREGATOR_AGGREGATOR_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "settings.h"

struct aggregator;

/* Creates the consumer (subscribed to the topic) and the store, and connects to Postgres,
 * waiting with backoff until it answers (err: ERROR_STOPPED if a stop is requested
 * meanwhile, ERROR_PERMANENT if it refuses the aggregator's credentials). `settings` must
 * outlive the aggregator. Destroy with aggregator_close. */
struct aggregator *aggregator_open(const struct aggregator_settings *settings, struct error *err);

/* Waits up to `timeout_ms` for one message and adds it to its partition's book. While
 * positions are unknown, instead tries to restore them from Postgres, with backoff.
 * Returns 0, or -1 with err set (ERROR_PERMANENT) when the aggregator cannot go on (the
 * topic was deleted, out of memory). */
int aggregator_poll(struct aggregator *aggregator, int timeout_ms, struct error *err);

/* Milliseconds until the next checkpoint is due (100 when nothing changed). */
int aggregator_time_to_checkpoint_ms(const struct aggregator *aggregator);

/* Commits what changed. On failure pauses until the state is restored from Postgres;
 * returns -1 (err set) only for a failure no retry mends (its role may not write). */
int aggregator_checkpoint(struct aggregator *aggregator, struct error *err);

/* Logs totals every minute, if anything happened. */
void aggregator_report(struct aggregator *aggregator);

/* True unless paused waiting for Postgres. Any thread: reads only atomic metrics. */
bool aggregator_is_healthy(const struct aggregator *aggregator, char *reason, size_t size);

/* Commits a last checkpoint if it can, leaves the group and frees everything. NULL does nothing. */
void aggregator_close(struct aggregator *aggregator);

#endif
