#include "market_candle.h"

#include "candle.h"

void market_candle_init(struct market_candle *candle)
{
    *candle = (struct market_candle){.start_us = INT64_MIN};
}

static void start_minute(struct market_candle *candle, int64_t start_us, const struct decimal *price,
                         int64_t time_us)
{
    candle->partial = !candle->seen_before;
    candle->start_us = start_us;
    candle->open = candle->high = candle->low = candle->close = *price;
    candle->open_time_us = candle->close_time_us = time_us;
    candle->volume_buy = candle->volume_sell = decimal_zero(0);
    candle->trades = 0;
}

bool market_candle_add(struct market_candle *candle, const struct decimal *price, const struct decimal *volume,
                       bool bought, int64_t time_us)
{
    int64_t start_us = candle_window_start(time_us, MARKET_CANDLE_LENGTH_US);
    if (candle->start_us != INT64_MIN && start_us < candle->start_us)
        return false; /* late for the live candle: the aggregator counts it */
    struct decimal buy = candle->volume_buy, sell = candle->volume_sell;
    if (start_us != candle->start_us) {
        buy = sell = decimal_zero(0);
    }
    if (decimal_add(bought ? &buy : &sell, volume, NULL) < 0)
        return false;
    if (start_us != candle->start_us) {
        start_minute(candle, start_us, price, time_us);
    } else {
        if (time_us < candle->open_time_us) {
            candle->open = *price;
            candle->open_time_us = time_us;
        }
        if (time_us >= candle->close_time_us) {
            candle->close = *price;
            candle->close_time_us = time_us;
        }
        if (decimal_compare(price, &candle->high) > 0)
            candle->high = *price;
        if (decimal_compare(price, &candle->low) < 0)
            candle->low = *price;
    }
    candle->volume_buy = buy;
    candle->volume_sell = sell;
    candle->trades++;
    candle->seen_before = true;
    return true;
}

void market_candle_skip(struct market_candle *candle)
{
    candle->partial = true;
    candle->seen_before = false;
}
