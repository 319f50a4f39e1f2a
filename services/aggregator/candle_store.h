/*
 * Stores the aggregator's checkpoints in Postgres, exactly once.
 *
 * A checkpoint is what changed since the last one: candles to upsert into candles_1m, or
 * for trades into candlesticks and volumes (whole values, so writing one twice changes
 * nothing), anchors, and per partition the
 * next offset, the replay offset and the newest event time (aggregator_offsets). All of
 * it commits in one transaction, so the candles and the state that rebuilds the windows
 * behind them never disagree. Each partition's row moves only from the next offset the
 * caller expects: an aggregator that lost its partitions to another cannot overwrite the
 * new owner's state. Owns its connection; after a failure the next call reconnects.
 */
#ifndef AGGREGATOR_CANDLE_STORE_H
#define AGGREGATOR_CANDLE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "trade_book.h"
#include "window_book.h"

/* Returned by candle_store_save when a partition's next offset was not the expected one. */
#define CANDLE_STORE_CONFLICT (-2)

/* No saved state for a partition. */
#define CANDLE_STORE_NO_OFFSET (-1)

/* A partition's saved state. */
struct saved_partition {
    int32_t partition;
    int64_t next_offset;   /* CANDLE_STORE_NO_OFFSET when nothing was saved */
    int64_t replay_offset;
    int64_t newest_us;     /* WINDOW_BOOK_NO_TIME when none */
};

struct saved_anchor {
    int32_t partition;
    char name[TICKER_NAME_MAX + 1];
    int64_t time_us;
    int32_t value;
};

struct candle_store;

/* Does not connect yet. `group` and `topic` are copied. Destroy with candle_store_destroy. */
struct candle_store *candle_store_new(const char *database_url, const char *group, const char *topic,
                                      struct error *err);
void candle_store_destroy(struct candle_store *store);

/* Connects (and applies the schema) if needed. */
int candle_store_connect(struct candle_store *store, struct error *err);

/* Reads, in one snapshot, the saved state of `count` partitions into `saved` (the caller's
 * array of `count`, in the same order) and all their anchors (*anchors is the caller's to free). */
int candle_store_load(struct candle_store *store, const int32_t *partitions, size_t count,
                      struct saved_partition *saved, struct saved_anchor **anchors, size_t *anchor_count,
                      struct error *err);

/* Building the next checkpoint. These fail only when out of memory. */
int candle_store_add_candle(struct candle_store *store, const struct candle *candle, struct error *err);
/* A pair's candlestick and volumes (aggregator.kind trades): into candlesticks and volumes. */
int candle_store_add_trade_candle(struct candle_store *store, const struct trade_candle *candle, struct error *err);
int candle_store_add_anchor(struct candle_store *store, int32_t partition, const char *name, int64_t time_us,
                            int32_t value, struct error *err);
/* `expected` is the partition's saved next offset, or CANDLE_STORE_NO_OFFSET. */
int candle_store_add_partition(struct candle_store *store, int32_t partition, int64_t expected,
                               const struct saved_partition *state, struct error *err);

/* Candles (of either kind) added to the checkpoint being built. */
size_t candle_store_pending_candles(const struct candle_store *store);

/* Commits the checkpoint in one transaction and starts an empty one. Returns 0 once
 * committed; -1 on a database error or CANDLE_STORE_CONFLICT, and then nothing of it is
 * stored (the checkpoint is discarded all the same). */
int candle_store_save(struct candle_store *store, struct error *err);

/* Drops the checkpoint being built. */
void candle_store_discard(struct candle_store *store);

#endif
