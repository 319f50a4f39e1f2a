#include "feed_format.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flat_json.h"

int feed_format_of_url(const char *host, const char *path)
{
    if (strstr(host, "coincap") != NULL || strncmp(path, "/trades/", 8) == 0)
        return FEED_COINCAP;
    if (strstr(host, "binance") != NULL || strstr(path, "@trade") != NULL)
        return FEED_BINANCE;
    return -1;
}

/* ---- CoinCap -------------------------------------------------------------------------- */

/* A number member, or a string holding one (feeds are not always consistent). */
static int number_text(const struct json_member *member, char out[TRADE_NUMBER_MAX + 1], struct error *err)
{
    if (member == NULL)
        return error_set(err, "a number is missing");
    if (member->kind == JSON_STRING) {
        if (flat_json_string(member, out, TRADE_NUMBER_MAX + 1, err) < 0)
            return -1;
    } else if (member->kind == JSON_NUMBER && member->raw_length <= TRADE_NUMBER_MAX) {
        memcpy(out, member->raw, member->raw_length);
        out[member->raw_length] = '\0';
    } else {
        return error_set(err, "field '%s' must be a number", member->name);
    }
    return 0;
}

static int string_text(const struct json_member *member, const char *name, char *out, size_t size,
                       struct error *err)
{
    if (member == NULL)
        return error_set(err, "missing field '%s'", name);
    return flat_json_string(member, out, size, err);
}

static int integer_of(const struct json_member *member, const char *name, int64_t *out, struct error *err)
{
    if (member == NULL)
        return error_set(err, "missing field '%s'", name);
    return flat_json_integer(member, out, err);
}

static enum feed_result coincap_frame(const char *frame, size_t length, const char *exchange, struct trade *trade,
                                      struct error *err)
{
    struct flat_json object;
    if (flat_json_parse(frame, length, &object, err) < 0)
        return FEED_INVALID;
    *trade = (struct trade){.trade_id = TRADE_NO_ID};
    char direction[8];
    const struct json_member *named = flat_json_find(&object, "exchange");
    if (named != NULL) {
        if (flat_json_string(named, trade->exchange, sizeof trade->exchange, err) < 0)
            return FEED_INVALID;
    } else {
        snprintf(trade->exchange, sizeof trade->exchange, "%s", exchange);
    }
    if (string_text(flat_json_find(&object, "base"), "base", trade->base, sizeof trade->base, err) < 0 ||
        string_text(flat_json_find(&object, "quote"), "quote", trade->quote, sizeof trade->quote, err) < 0 ||
        string_text(flat_json_find(&object, "direction"), "direction", direction, sizeof direction, err) < 0 ||
        number_text(flat_json_find(&object, "price"), trade->price, err) < 0 ||
        number_text(flat_json_find(&object, "volume"), trade->volume, err) < 0 ||
        integer_of(flat_json_find(&object, "timestamp"), "timestamp", &trade->timestamp_ms, err) < 0)
        return FEED_INVALID;
    const struct json_member *usd = flat_json_find(&object, "priceUsd");
    if (usd != NULL && usd->kind != JSON_NULL && number_text(usd, trade->price_usd, err) < 0)
        return FEED_INVALID;
    if (strcmp(direction, "buy") == 0)
        trade->direction = TRADE_BUY;
    else if (strcmp(direction, "sell") == 0)
        trade->direction = TRADE_SELL;
    else
        return error_set(err, "direction must be buy or sell"), FEED_INVALID;
    return trade_validate(trade, err) == 0 ? FEED_TRADE : FEED_INVALID;
}

/* ---- Binance ---------------------------------------------------------------------------- */

struct asset {
    const char *symbol, *id;
};

/* Quote assets, longest first where one ends another (FDUSD before USD...). */
static const struct asset QUOTES[] = {
    {"FDUSD", "first-digital-usd"}, {"USDT", "tether"}, {"USDC", "usd-coin"}, {"BUSD", "binance-usd"},
    {"TUSD", "true-usd"}, {"DAI", "multi-collateral-dai"}, {"BTC", "bitcoin"}, {"ETH", "ethereum"},
    {"BNB", "binance-coin"}, {"EUR", "euro"}, {"TRY", "turkish-lira"}, {"BRL", "brazilian-real"},
    {"GBP", "british-pound"}, {NULL, NULL},
};

/* Bases CoinCap names otherwise than by their symbol. */
static const struct asset BASES[] = {
    {"BTC", "bitcoin"}, {"ETH", "ethereum"}, {"BNB", "binance-coin"}, {"SOL", "solana"}, {"ADA", "cardano"},
    {"DOGE", "dogecoin"}, {"DOT", "polkadot"}, {"LTC", "litecoin"}, {"TRX", "tron"}, {"AVAX", "avalanche"},
    {"LINK", "chainlink"}, {"MATIC", "polygon"}, {"SHIB", "shiba-inu"}, {"BCH", "bitcoin-cash"},
    {"XLM", "stellar"}, {"ATOM", "cosmos"}, {"UNI", "uniswap"}, {"ETC", "ethereum-classic"}, {"TON", "toncoin"},
    {"USDC", "usd-coin"}, {"USDT", "tether"}, {NULL, NULL},
};

static void asset_id(const char *symbol, size_t length, const struct asset *table, char out[TRADE_NAME_MAX + 1])
{
    for (const struct asset *asset = table; asset->symbol != NULL; asset++) {
        if (strlen(asset->symbol) == length && strncmp(asset->symbol, symbol, length) == 0) {
            snprintf(out, TRADE_NAME_MAX + 1, "%s", asset->id);
            return;
        }
    }
    size_t i = 0;
    for (; i < length && i < TRADE_NAME_MAX; i++)
        out[i] = (char)tolower((unsigned char)symbol[i]);
    out[i] = '\0';
}

int feed_binance_symbol(const char *symbol, char base[TRADE_NAME_MAX + 1], char quote[TRADE_NAME_MAX + 1],
                        struct error *err)
{
    size_t length = strlen(symbol);
    for (const struct asset *asset = QUOTES; asset->symbol != NULL; asset++) {
        size_t quote_length = strlen(asset->symbol);
        if (length > quote_length && strcmp(symbol + length - quote_length, asset->symbol) == 0) {
            asset_id(symbol, length - quote_length, BASES, base);
            snprintf(quote, TRADE_NAME_MAX + 1, "%s", asset->id);
            return 0;
        }
    }
    return error_set(err, "symbol %.32s does not end with a quote asset tickerflow knows", symbol);
}

static enum feed_result binance_frame(const char *frame, size_t length, struct trade *trade, struct error *err)
{
    struct flat_json object;
    if (flat_json_parse(frame, length, &object, err) < 0)
        return FEED_INVALID;
    /* A combined stream wraps each event: read the event itself. */
    const struct json_member *data = flat_json_find(&object, "data");
    if (data != NULL && flat_json_find(&object, "stream") != NULL) {
        if (data->kind != JSON_OBJECT)
            return error_set(err, "'data' must be an object"), FEED_INVALID;
        if (flat_json_parse(data->raw, data->raw_length, &object, err) < 0)
            return FEED_INVALID;
    }
    char event[32];
    const struct json_member *type = flat_json_find(&object, "e");
    if (type == NULL)
        return FEED_OTHER; /* {"result":null,"id":1}: the answer to a subscription */
    if (flat_json_string(type, event, sizeof event, err) < 0)
        return FEED_INVALID;
    if (strcmp(event, "trade") != 0)
        return FEED_OTHER;
    *trade = (struct trade){.exchange = "binance", .trade_id = TRADE_NO_ID};
    char symbol[32];
    const struct json_member *maker = flat_json_find(&object, "m");
    if (string_text(flat_json_find(&object, "s"), "s", symbol, sizeof symbol, err) < 0 ||
        feed_binance_symbol(symbol, trade->base, trade->quote, err) < 0 ||
        number_text(flat_json_find(&object, "p"), trade->price, err) < 0 ||
        number_text(flat_json_find(&object, "q"), trade->volume, err) < 0 ||
        integer_of(flat_json_find(&object, "T"), "T", &trade->timestamp_ms, err) < 0 ||
        integer_of(flat_json_find(&object, "t"), "t", &trade->trade_id, err) < 0)
        return FEED_INVALID;
    if (maker == NULL || (maker->kind != JSON_TRUE && maker->kind != JSON_FALSE))
        return error_set(err, "field 'm' must be true or false"), FEED_INVALID;
    /* The buyer made the market: the aggressor, who traded at once, sold. */
    trade->direction = maker->kind == JSON_TRUE ? TRADE_SELL : TRADE_BUY;
    return trade_validate(trade, err) == 0 ? FEED_TRADE : FEED_INVALID;
}

enum feed_result feed_parse_frame(enum feed_format format, const char *frame, size_t length, const char *exchange,
                                  struct trade *trade, struct error *err)
{
    return format == FEED_BINANCE ? binance_frame(frame, length, trade, err)
                                  : coincap_frame(frame, length, exchange, trade, err);
}
