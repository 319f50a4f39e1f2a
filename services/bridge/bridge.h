/*
 * The bridge: Kafka consumer group -> record batches -> Postgres, exactly once.
 *
 * Each batch's rows, dead letters and next offsets commit in one Postgres transaction
 * (record_writer). Where to read is always what Postgres says: on every assignment,
 * and after any failed write, the bridge pauses its partitions, reads bridge_offsets,
 * seeks there and resumes. A kill at any instant therefore neither loses nor repeats a
 * row. Kafka's committed offsets are written after each batch only for monitoring (and
 * are the starting point of partitions Postgres has no offset for yet).
 *
 * Consuming and batching run on the main thread; librdkafka callbacks (rebalance, commit
 * results) are served from inside bridge_poll. Each batch streams its rows on a
 * connection of its own (a "lane"); a full batch goes to the store worker's thread, which
 * ends its COPY and commits it while the main thread fills the next on another lane.
 * Batches commit one at a time, in order, so each one's expected offsets are those the
 * previous one stored.
 */
#ifndef BRIDGE_BRIDGE_H
#define BRIDGE_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "settings.h"

struct bridge;

/* Creates the consumer (subscribed to the topic) and the writer, and connects to
 * Postgres, waiting with backoff until it answers (err: ERROR_STOPPED if a stop is
 * requested meanwhile, ERROR_PERMANENT if it refuses the bridge's credentials).
 * `settings` must outlive the bridge. Destroy with bridge_close. */
struct bridge *bridge_open(const struct bridge_settings *settings, struct error *err);

/* Waits up to `timeout_ms` for one message and batches it (a message that fails to
 * decode becomes a dead letter). While positions are unknown (after an assignment or a
 * failed write), instead tries to read them from Postgres, with backoff. Returns 0, or -1
 * with err set (ERROR_PERMANENT) when the bridge cannot go on: the topic was deleted, its
 * role may not write, out of memory. */
int bridge_poll(struct bridge *bridge, int timeout_ms, struct error *err);

/* Milliseconds until the current batch is due to be written (100 when it is empty). */
int bridge_time_to_flush_ms(const struct bridge *bridge);

/* Writes the batch. On failure drops it (nothing of it was stored, its messages will be
 * read again) and pauses consumption until Postgres tells where to resume; returns -1
 * (err set) only for a failure no retry mends, as bridge_poll. */
int bridge_flush(struct bridge *bridge, struct error *err);

/* Logs totals every minute, if anything happened. */
void bridge_report(struct bridge *bridge);

/* True unless consumption is paused waiting for Postgres (then `reason` says so).
 * Any thread: reads only atomic metrics. */
bool bridge_is_healthy(const struct bridge *bridge, char *reason, size_t size);

/* Stores the last batch if it can, leaves the group and frees everything. NULL does nothing. */
void bridge_close(struct bridge *bridge);

#endif
