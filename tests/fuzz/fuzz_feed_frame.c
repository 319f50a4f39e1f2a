/*
 * Fuzz target: the trade feeds' frames (services/producer/feed_format.c), read straight
 * from the network by the producer. The first byte picks the format (even: CoinCap, odd:
 * Binance); the rest is the frame.
 *
 * Beyond "no crash": a frame is a trade, not a trade, or invalid with a reason; a trade
 * read from it is valid (trade_validate), encodes, and decodes back to the same trade.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feed_format.h"
#include "trade.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    enum feed_format format = data[0] % 2 == 0 ? FEED_COINCAP : FEED_BINANCE;
    struct trade trade, again;
    struct error err = {0};
    enum feed_result result = feed_parse_frame(format, (const char *)data + 1, size - 1, "kraken", &trade, &err);
    if (result == FEED_INVALID) {
        if (err.message[0] == '\0')
            abort();
        return 0;
    }
    if (result != FEED_TRADE)
        return 0;
    if (trade_validate(&trade, &err) < 0)
        abort();
    char encoded[TRADE_JSON_MAX];
    int length = trade_encode(&trade, encoded, sizeof encoded, &err);
    if (length < 0 || trade_decode(encoded, (size_t)length, &again, &err) < 0)
        abort();
    if (strcmp(trade.price, again.price) != 0 || strcmp(trade.volume, again.volume) != 0 ||
        strcmp(trade.base, again.base) != 0 || strcmp(trade.quote, again.quote) != 0 ||
        trade.direction != again.direction || trade.timestamp_ms != again.timestamp_ms ||
        trade.trade_id != again.trade_id)
        abort();
    return 0;
}
