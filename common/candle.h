/*
 * Candlesticks of ticker values: the one definition that the aggregator's stored candles
 * (candles_1m) and the API server's live candle both compute with.
 *
 * A tick at event time t belongs to the window [s, s + length) with s = floor(t / length)
 * × length, aligned to the Unix epoch (also before it). Per window and ticker the candle
 * holds, over its ticks in event-time order:
 *   open / close  the value of the first / last tick,
 *   high / low    the largest / smallest value,
 *   up / down     how many of its ticks moved the ticker up / down from the tick before
 *                 it in event time, which may lie in an earlier window: summed over
 *                 windows, the moves add up exactly, so larger candles roll up by plain
 *                 sums (candles_rollup() in db/init.sql),
 *   ticks         how many ticks it holds.
 *
 * Pure: unit-tested (tests/unit/test_candle.c).
 */
#ifndef TICKERFLOW_CANDLE_H
#define TICKERFLOW_CANDLE_H

#include <stdint.h>

#include "ticker.h"

/* One ticker's candle of one window: plain data. */
struct candle {
    char name[TICKER_NAME_MAX + 1];
    int64_t start_us, end_us;
    int32_t open, high, low, close;
    int64_t up_moves, down_moves, ticks;
};

/* The start of the window of `length_us` that holds `time_us`. */
int64_t candle_window_start(int64_t time_us, int64_t length_us);

/* An empty candle (no tick yet) of `name` (may be NULL: no name) for the window
 * [start_us, start_us + length_us). */
void candle_start(struct candle *candle, const char *name, int64_t start_us, int64_t length_us);

/* Adds the window's next tick in event-time order. `previous` points at the value of the
 * ticker's tick before it (in this window or an earlier one), NULL when there is none or it
 * is unknown: then the tick counts no move. */
void candle_add(struct candle *candle, int32_t value, const int32_t *previous);

#endif
