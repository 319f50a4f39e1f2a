#include "live_candle.h"

void live_candle_init(struct live_candle *live)
{
    *live = (struct live_candle){0};
    live->candle.start_us = INT64_MIN;
}

void live_candle_add(struct live_candle *live, int32_t value, int64_t time_us)
{
    int64_t start_us = candle_window_start(time_us, LIVE_CANDLE_LENGTH_US);
    if (start_us != live->candle.start_us) {
        /* Whole only if the previous tick was seen: then every tick since was too. */
        live->partial = !live->has_last;
        candle_start(&live->candle, NULL, start_us, LIVE_CANDLE_LENGTH_US);
    }
    candle_add(&live->candle, value, live->has_last ? &live->last_value : NULL);
    live->has_last = true;
    live->last_value = value;
}

void live_candle_skip(struct live_candle *live, int64_t time_us)
{
    if (candle_window_start(time_us, LIVE_CANDLE_LENGTH_US) == live->candle.start_us)
        live->partial = true;
    live->has_last = false; /* a later minute then starts partial (live_candle_add) */
}
