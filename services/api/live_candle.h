/*
 * The live candle of a ticker: its current minute's candle (common/candle.h, the same
 * arithmetic as the aggregator's candles_1m), updated from the live feed tick by tick, for
 * WebSocket clients that subscribe with "candles": true (docs/api.md).
 *
 * The live feed hands ticks in time order (the ticker table drops any that go back), so
 * one running candle is enough; a tick late for its minute is left to the aggregator,
 * whose stored candle is the final word. Pure: unit-tested.
 */
#ifndef API_LIVE_CANDLE_H
#define API_LIVE_CANDLE_H

#include <stdbool.h>
#include <stdint.h>

#include "candle.h"

#define LIVE_CANDLE_LENGTH_US 60000000LL

struct live_candle {
    struct candle candle; /* start_us INT64_MIN until the first tick */
    bool partial;         /* the server did not see every tick of the minute (it started
                           * within it, or missed some) */
    bool has_last;        /* last_value holds the ticker's previous tick */
    int32_t last_value;
};

/* No tick yet. */
void live_candle_init(struct live_candle *live);

/* Adds a tick newer than every one before it; a tick of a later minute starts a new candle. */
void live_candle_add(struct live_candle *live, int32_t value, int64_t time_us);

/* Ticks up to `time_us` went by unseen (the server fell behind and dropped them): the
 * candle of their minute is partial, and the next tick's move is not counted. */
void live_candle_skip(struct live_candle *live, int64_t time_us);

#endif
