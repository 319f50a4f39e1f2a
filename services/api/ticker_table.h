/*
 * Every ticker the API server has seen: a small id, the newest ticks (the recent window
 * that subscriptions and resumes are served from), and who is subscribed to it.
 *
 * The live feed reads each partition from a little before its end, so the windows start
 * full; a tick is remembered only if it is newer than the ticker's last one (each
 * ticker's times only grow: they are its positions). Service thread only.
 */
#ifndef API_TICKER_TABLE_H
#define API_TICKER_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "frame.h"
#include "live_candle.h"

struct subscription; /* the server's: one client watching one ticker */

struct ticker_entry {
    int id; /* 0, 1, 2, ... in order of first sight */
    char name[TICKER_NAME_MAX + 1];
    int64_t last_time_us; /* the newest tick's time; INT64_MIN before the first */
    struct frame **window; /* ring of the newest ticks (NULL with a window of 0) */
    size_t window_head, window_count;
    struct live_candle candle; /* the current minute's, from the ticks remembered */
    struct subscription **subscribers; /* owned array; the subscriptions are the server's */
    size_t subscriber_count, subscriber_capacity;
};

struct ticker_table;

/* Room for `max_tickers` tickers with `window` ticks each. */
struct ticker_table *ticker_table_new(size_t window, size_t max_tickers, struct error *err);

/* Releases every frame held. NULL does nothing. */
void ticker_table_destroy(struct ticker_table *table);

/* The ticker called `name`, or NULL. */
struct ticker_entry *ticker_table_find(const struct ticker_table *table, const char *name);

/* The ticker called `name`, added if new; NULL when the table is full or out of memory. */
struct ticker_entry *ticker_table_add(struct ticker_table *table, const char *name);

/* The ticker with id `id` (0 <= id < ticker_table_count). */
struct ticker_entry *ticker_table_at(const struct ticker_table *table, int id);
size_t ticker_table_count(const struct ticker_table *table);

/* Keeps `frame` (a FRAME_TICK of `entry`, newer than entry->last_time_us) in the window,
 * with a reference of its own, and makes it the ticker's last tick. */
void ticker_table_remember(struct ticker_table *table, struct ticker_entry *entry, struct frame *frame);

/* Ticks of `entry` up to `time_us` went by unseen (the live feed fell behind and dropped
 * them): the ticker's last time moves there, so the next tick's `prev` names the last one
 * missed (clients see the hole and fetch it), and its live candle is partial. */
void ticker_table_skip(struct ticker_entry *entry, int64_t time_us);

/* The window's i-th tick, oldest first (i < entry->window_count). No reference added. */
struct frame *ticker_window_at(const struct ticker_table *table, const struct ticker_entry *entry, size_t i);

/* Adds or removes a subscriber. Adding returns -1 when out of memory. */
int ticker_entry_subscribe(struct ticker_entry *entry, struct subscription *subscription);
void ticker_entry_unsubscribe(struct ticker_entry *entry, struct subscription *subscription);

#endif
