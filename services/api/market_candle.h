/*
 * The live candle of a currency pair: its current minute's open/high/low/close price, bought
 * and sold volumes and trade count, updated trade by trade from the live trades feed, for
 * WebSocket clients that subscribe to a pair with "candles": true (docs/api.md). The
 * definitions are the aggregator's (candlesticks and volumes): open is the minute's first
 * trade by trade time (equal times: the topic's order), close its last, volumes exact
 * decimal sums.
 *
 * Trades come in the topic's order, which a pair's trade times mostly follow: a trade of a
 * minute before the current one is left to the aggregator, whose stored minute is the final
 * word. Pure: unit-tested (tests/unit/test_market_candle.c).
 */
#ifndef API_MARKET_CANDLE_H
#define API_MARKET_CANDLE_H

#include <stdbool.h>
#include <stdint.h>

#include "decimal.h"

#define MARKET_CANDLE_LENGTH_US 60000000LL

struct market_candle {
    int64_t start_us; /* INT64_MIN until the first trade */
    struct decimal open, high, low, close, volume_buy, volume_sell;
    int64_t open_time_us, close_time_us; /* the times of the trades that gave open and close */
    int64_t trades;
    bool partial;     /* the server did not see every trade of the minute (it started within
                       * it, or missed some) */
    bool seen_before; /* the trade before the current one was seen: a new minute is whole */
};

/* No trade yet. */
void market_candle_init(struct market_candle *candle);

/* Adds a trade, read after every one added before it. Returns false (nothing changed) for a
 * trade of a minute before the candle's, or one whose volume would overflow the sums. */
bool market_candle_add(struct market_candle *candle, const struct decimal *price, const struct decimal *volume,
                       bool bought, int64_t time_us);

/* Trades went by unseen (the server fell behind and dropped them): the current minute is
 * partial, and so is the next one to start. */
void market_candle_skip(struct market_candle *candle);

#endif
