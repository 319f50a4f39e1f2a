#include "candle.h"

#include <string.h>

int64_t candle_window_start(int64_t time_us, int64_t length_us)
{
    int64_t start = time_us / length_us * length_us;
    return start > time_us ? start - length_us : start; /* floor for times before the epoch */
}

void candle_start(struct candle *candle, const char *name, int64_t start_us, int64_t length_us)
{
    *candle = (struct candle){.start_us = start_us, .end_us = start_us + length_us};
    if (name != NULL)
        strncpy(candle->name, name, TICKER_NAME_MAX);
}

void candle_add(struct candle *candle, int32_t value, const int32_t *previous)
{
    if (candle->ticks == 0) {
        candle->open = candle->high = candle->low = value;
    } else {
        if (value > candle->high)
            candle->high = value;
        if (value < candle->low)
            candle->low = value;
    }
    candle->close = value;
    candle->ticks++;
    if (previous != NULL) {
        candle->up_moves += value > *previous;
        candle->down_moves += value < *previous;
    }
}
