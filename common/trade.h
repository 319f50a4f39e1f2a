/*
 * The trade record: one market trade as the producer publishes it to the `trades` topic
 * and the bridge, the aggregator and the API server read it. CoinCap's trade format, with
 * an optional trade id when the feed gives one:
 *
 *   {"exchange":"bitso","base":"xrp","quote":"tether","direction":"buy","price":0.6174,
 *    "volume":180,"timestamp":1651686997237,"priceUsd":0.6178606418423568,"tradeId":42}
 *
 * Prices and volumes are JSON numbers whose text is kept exactly as received, from the feed
 * to the NUMERIC columns: never a binary floating-point value on the way (flat_json.h,
 * decimal.h). The format and every rejection rule are in docs/message-format.md.
 */
#ifndef TICKERFLOW_TRADE_H
#define TICKERFLOW_TRADE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decimal.h"
#include "error.h"

#define TRADE_NAME_MAX 48   /* an exchange's, base's or quote's id, e.g. "binance-coin" */
#define TRADE_PAIR_MAX (2 * TRADE_NAME_MAX + 1)
#define TRADE_NUMBER_MAX 80 /* a price's or volume's text */
#define TRADE_JSON_MAX 512  /* any encoded record */
#define TRADE_NO_ID INT64_MIN

enum trade_direction {
    TRADE_BUY,  /* the aggressor bought */
    TRADE_SELL, /* the aggressor sold */
};

/* A trade: plain data, owned by whoever holds it. */
struct trade {
    char exchange[TRADE_NAME_MAX + 1];
    char base[TRADE_NAME_MAX + 1];
    char quote[TRADE_NAME_MAX + 1];
    enum trade_direction direction;
    char price[TRADE_NUMBER_MAX + 1];     /* decimal text as received, > 0 */
    char volume[TRADE_NUMBER_MAX + 1];    /* decimal text as received, >= 0 */
    char price_usd[TRADE_NUMBER_MAX + 1]; /* "" when the feed gives none */
    int64_t timestamp_ms;                 /* trade time, milliseconds since the epoch */
    int64_t trade_id;                     /* the exchange's id, TRADE_NO_ID when none */
};

/* Checks an exchange, base or quote id: 1..TRADE_NAME_MAX bytes of [a-z0-9._-] starting with
 * a letter or digit. */
int trade_validate_name(const char *name, size_t length, const char *what, struct error *err);

/* Checks a price's, volume's or USD price's text: a JSON number that decimal.h takes,
 * within TRADE_NUMBER_MAX bytes; the price must be positive, the volume not negative. */
int trade_validate_number(const char *text, size_t length, const char *what, bool positive, struct error *err);

/* Checks every field of a trade. */
int trade_validate(const struct trade *trade, struct error *err);

/* Encodes as compact JSON into out (at least TRADE_JSON_MAX bytes, NUL-terminated); returns
 * the length, or -1 with err set if the trade is not valid. */
int trade_encode(const struct trade *trade, char *out, size_t out_size, struct error *err);

/* Strictly decodes one record (need not be NUL-terminated): one JSON object with exactly
 * the fields above (priceUsd and tradeId optional), each of its type and rules. */
int trade_decode(const char *data, size_t length, struct trade *trade, struct error *err);

/* A trade's price and volume as exact decimals. */
struct trade_numbers {
    struct decimal price, volume;
};

/* trade_decode, also giving the price and volume as decimals: they are read while checked,
 * so a consumer that adds them up (the aggregator) need not parse them again. */
int trade_decode_numbers(const char *data, size_t length, struct trade *trade, struct trade_numbers *numbers,
                         struct error *err);

/* "base/quote": the currency pair, the records' Kafka key and the tables' currency_pair. */
void trade_pair(const struct trade *trade, char out[TRADE_PAIR_MAX + 1]);

/* "buy" or "sell". */
const char *trade_direction_name(enum trade_direction direction);

#endif
