/*
 * The live candle of a ticker: its current minute's open, high, low, close, up and down
 * moves and ticks, updated from the live feed tick by tick, for WebSocket clients that
 * subscribe with "candles": true (docs/api.md).
 *
 * Same definitions as the aggregator's candles_1m (services/aggregator/window_book.h):
 * minutes aligned to the Unix epoch, a move measured from the ticker's previous tick even
 * across minutes. The live feed hands ticks in time order (the ticker table drops any that
 * go back), so one running candle is enough; a tick late for its minute is left to the
 * aggregator, whose stored candle is the final word. Pure: unit-tested.
 */
#ifndef API_LIVE_CANDLE_H
#define API_LIVE_CANDLE_H

#include <stdbool.h>
#include <stdint.h>

#define LIVE_CANDLE_LENGTH_US 60000000LL

struct live_candle {
    int64_t start_us; /* INT64_MIN until the first tick */
    int32_t open, high, low, close;
    int64_t up_moves, down_moves, ticks;
    bool partial;     /* the server did not see the minute from its first tick (it started within it) */
    bool has_last;    /* last_value holds the ticker's previous tick */
    int32_t last_value;
};

/* No tick yet. */
void live_candle_init(struct live_candle *candle);

/* Adds a tick newer than every one before it; a tick of a later minute starts a new candle. */
void live_candle_add(struct live_candle *candle, int32_t value, int64_t time_us);

#endif
