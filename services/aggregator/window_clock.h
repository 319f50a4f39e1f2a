/*
 * The event time of one Kafka partition and the window rules judged by it: what both books
 * (window_book.h for ticks, trade_book.h for trades) decide windows with. Pure.
 *
 * The watermark is the newest event time seen minus the out-of-orderness. A window
 * [start, start + length) closes once the watermark reaches its end, and is purged (no later
 * event may change it) once the watermark reaches its end plus the allowed lateness.
 */
#ifndef AGGREGATOR_WINDOW_CLOCK_H
#define AGGREGATOR_WINDOW_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* No event seen yet: the watermark is below every event time. */
#define WINDOW_BOOK_NO_TIME INT64_MIN

struct window_rules {
    int64_t length_us;             /* 60,000,000 for one-minute candles */
    int64_t out_of_orderness_us;   /* how far the watermark trails the newest event */
    int64_t allowed_lateness_us;   /* how long a closed window still takes corrections */
    /* Memory bounds (0: none). A window keeps its ticks (a late one may land anywhere in
     * it), and the book every ticker it has seen (its anchor), so a flood of ticks or of
     * new names would grow it without them. A trade book bounds its pairs and the trades
     * its windows count the same way. */
    size_t max_tickers;            /* distinct tickers (or pairs) held */
    size_t max_ticks;              /* ticks (or trades) held, over all windows */
};

struct window_clock {
    struct window_rules rules;
    int64_t newest_us; /* WINDOW_BOOK_NO_TIME before any event */
};

/* Fails (err set) for rules that make no sense. */
int window_clock_init(struct window_clock *clock, const struct window_rules *rules, struct error *err);

/* Moves the newest event time forward to `newest_us` (never back). */
void window_clock_advance(struct window_clock *clock, int64_t newest_us);

/* WINDOW_BOOK_NO_TIME before any event. */
int64_t window_clock_watermark(const struct window_clock *clock);

bool window_clock_closed(const struct window_clock *clock, int64_t start_us);
bool window_clock_purged(const struct window_clock *clock, int64_t start_us);

#endif
