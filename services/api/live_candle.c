#include "live_candle.h"

void live_candle_init(struct live_candle *candle)
{
    *candle = (struct live_candle){.start_us = INT64_MIN};
}

static int64_t minute_of(int64_t time_us)
{
    int64_t start = time_us / LIVE_CANDLE_LENGTH_US * LIVE_CANDLE_LENGTH_US;
    return start > time_us ? start - LIVE_CANDLE_LENGTH_US : start; /* floor before the epoch */
}

void live_candle_add(struct live_candle *candle, int32_t value, int64_t time_us)
{
    int64_t start_us = minute_of(time_us);
    if (start_us != candle->start_us) {
        /* Whole only if the previous tick was seen: then every tick since was too. */
        bool partial = !candle->has_last;
        *candle = (struct live_candle){.start_us = start_us, .open = value, .high = value, .low = value,
                                       .partial = partial, .has_last = candle->has_last,
                                       .last_value = candle->last_value};
    }
    if (value > candle->high)
        candle->high = value;
    if (value < candle->low)
        candle->low = value;
    candle->close = value;
    if (candle->has_last) {
        candle->up_moves += value > candle->last_value;
        candle->down_moves += value < candle->last_value;
    }
    candle->ticks++;
    candle->has_last = true;
    candle->last_value = value;
}
