/*
 * Every ticker the API server has seen: a small id, the newest ticks (the recent window
 * that subscriptions and resumes are served from), and who is subscribed to it. A second
 * table of the same kind holds the currency pairs of the trades topic, their newest trades
 * and live candles.
 *
 * The live feed reads each partition from a little before its end, so the windows start
 * full; a tick is remembered only if it is newer than the ticker's last one (each
 * ticker's times only grow: they are its positions; a pair's are its trades' offsets).
 * Service thread only.
 */
#ifndef API_TICKER_TABLE_H
#define API_TICKER_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "frame.h"
#include "live_candle.h"
#include "market_candle.h"
#include "trade.h"

struct subscription; /* the server's: one client watching one ticker or pair */

struct ticker_entry {
    int id;    /* the table's first id, then +1, +2, ... in order of first sight */
    bool pair; /* a currency pair of the pairs table */
    char name[TRADE_PAIR_MAX + 1]; /* a ticker's name, or a pair "base/quote" */
    int64_t last_position; /* the newest tick's time, trade's offset; INT64_MIN before the first */
    struct frame **window; /* ring of the newest ticks (NULL with a window of 0) */
    size_t window_head, window_count;
    union {                          /* the current minute, from what was remembered: */
        struct live_candle candle;   /* a ticker's */
        struct market_candle market; /* a pair's */
    };
    struct subscription **subscribers; /* owned array; the subscriptions are the server's */
    size_t **subscriber_indexes;       /* owned array: where each subscriber keeps its index here */
    size_t subscriber_count, subscriber_capacity;
};

struct ticker_table;

/* Room for `max_tickers` tickers (pairs, with `pairs`) with `window` ticks each, their ids
 * from `first_id` on (the two tables' ids do not meet: send queues tell keys by id). */
struct ticker_table *ticker_table_new(size_t window, size_t max_tickers, bool pairs, int first_id, struct error *err);

/* Releases every frame held. NULL does nothing. */
void ticker_table_destroy(struct ticker_table *table);

/* The ticker called `name`, or NULL. */
struct ticker_entry *ticker_table_find(const struct ticker_table *table, const char *name);

/* The ticker called `name`, added if new; NULL when the table is full or out of memory. */
struct ticker_entry *ticker_table_add(struct ticker_table *table, const char *name);

/* The table's index-th ticker in order of first sight (index < ticker_table_count). */
struct ticker_entry *ticker_table_at(const struct ticker_table *table, size_t index);
size_t ticker_table_count(const struct ticker_table *table);

/* Keeps `frame` (a FRAME_TICK of `entry`, newer than entry->last_position) in the window,
 * with a reference of its own, and makes it the ticker's last tick. */
void ticker_table_remember(struct ticker_table *table, struct ticker_entry *entry, struct frame *frame);

/* Ticks of `entry` up to `position` went by unseen (the live feed fell behind and dropped
 * them): the ticker's last position moves there, so the next tick's `prev` names the last
 * one missed (clients see the hole and fetch it), and its live candle is partial. */
void ticker_table_skip(struct ticker_entry *entry, int64_t position);

/* The window's i-th tick, oldest first (i < entry->window_count). No reference added. */
struct frame *ticker_window_at(const struct ticker_table *table, const struct ticker_entry *entry, size_t i);

/* Adds a subscriber, which keeps its place in the list in *index (updated as others leave,
 * so that leaving costs the same with 10,000 subscribers as with one). -1 when out of memory. */
int ticker_entry_subscribe(struct ticker_entry *entry, struct subscription *subscription, size_t *index);

/* Removes the subscriber whose place `index` keeps. */
void ticker_entry_unsubscribe(struct ticker_entry *entry, size_t *index);

#endif
