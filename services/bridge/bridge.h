/*
 * The bridge: Kafka consumer group -> record batches -> Postgres.
 *
 * Delivery is at-least-once: offsets are committed to Kafka only after the transaction
 * holding their rows has committed. A crash between the two re-delivers that batch.
 * Everything here runs on the main thread; librdkafka callbacks (rebalance, commit
 * results) are served from inside bridge_poll and bridge_flush.
 */
#ifndef BRIDGE_BRIDGE_H
#define BRIDGE_BRIDGE_H

#include <stdbool.h>

#include "error.h"
#include "settings.h"

struct bridge;

/* Creates the consumer (subscribed to the topic) and the writer, and connects to
 * Postgres, waiting with backoff until it answers or shutdown is requested.
 * `settings` must outlive the bridge. Destroy with bridge_close. */
struct bridge *bridge_open(const struct bridge_settings *settings, struct error *err);

/* Waits up to `timeout_ms` for one message and adds it to the batch (or, if malformed,
 * logs it with topic/partition/offset, counts it and marks it skipped). */
void bridge_poll(struct bridge *bridge, int timeout_ms);

/* Milliseconds until the current batch is due to be written (100 when it is empty). */
int bridge_time_to_flush_ms(const struct bridge *bridge);

/* Writes the batch and commits its offsets. While Postgres is unavailable, pauses
 * consumption and retries with backoff until it succeeds or shutdown is requested.
 * Returns -1 only when it gave up at shutdown (those offsets stay uncommitted). */
int bridge_flush(struct bridge *bridge);

/* Logs totals every minute, if anything happened. */
void bridge_report(struct bridge *bridge);

/* Flushes once more, commits, leaves the group and frees everything. NULL does nothing. */
void bridge_close(struct bridge *bridge);

#endif
