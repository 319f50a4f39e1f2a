#include "trade.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flat_json.h"
#include "timestamp.h"

/* Trade times accepted: years 2000 to 9999 (a millisecond count from a feed that is not,
 * say, seconds or microseconds). */
#define TIMESTAMP_MIN_MS 946684800000LL
#define TIMESTAMP_MAX_MS (TIMESTAMP_MAX_US / 1000)

int trade_validate_name(const char *name, size_t length, const char *what, struct error *err)
{
    if (length == 0 || length > TRADE_NAME_MAX)
        return error_set(err, "%s must be 1 to %d bytes", what, TRADE_NAME_MAX);
    for (size_t i = 0; i < length; i++) {
        char c = name[i];
        bool letter_or_digit = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!letter_or_digit && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return error_set(err, "%s has a character outside [a-z0-9._-] (or does not start with [a-z0-9]) at byte %zu",
                             what, i);
    }
    return 0;
}

/* trade_validate_number, keeping the value read in *value. */
static int read_number(const char *text, size_t length, const char *what, bool positive, struct decimal *value,
                       struct error *err)
{
    if (length > TRADE_NUMBER_MAX)
        return error_set(err, "%s is longer than %d bytes", what, TRADE_NUMBER_MAX);
    if (decimal_parse(text, length, value, err) < 0)
        return error_wrap(err, "%s", what);
    if (positive ? !decimal_is_positive(value) : decimal_is_negative(value))
        return error_set(err, "%s must be %s", what, positive ? "positive" : "zero or more");
    return 0;
}

int trade_validate_number(const char *text, size_t length, const char *what, bool positive, struct error *err)
{
    struct decimal value;
    return read_number(text, length, what, positive, &value, err);
}

/* Every rule but the numbers' (trade_decode checks those as it reads them). */
static int validate_all_but_numbers(const struct trade *trade, struct error *err)
{
    if (trade_validate_name(trade->exchange, strlen(trade->exchange), "exchange", err) < 0 ||
        trade_validate_name(trade->base, strlen(trade->base), "base", err) < 0 ||
        trade_validate_name(trade->quote, strlen(trade->quote), "quote", err) < 0)
        return -1;
    if (trade->direction != TRADE_BUY && trade->direction != TRADE_SELL)
        return error_set(err, "direction must be buy or sell");
    if (trade->timestamp_ms < TIMESTAMP_MIN_MS || trade->timestamp_ms > TIMESTAMP_MAX_MS)
        return error_set(err, "timestamp %" PRId64 " is not milliseconds of the years 2000 to 9999", trade->timestamp_ms);
    if (trade->trade_id != TRADE_NO_ID && trade->trade_id < 0)
        return error_set(err, "tradeId must not be negative");
    return 0;
}

int trade_validate(const struct trade *trade, struct error *err)
{
    if (trade_validate_number(trade->price, strlen(trade->price), "price", true, err) < 0 ||
        trade_validate_number(trade->volume, strlen(trade->volume), "volume", false, err) < 0)
        return -1;
    if (trade->price_usd[0] != '\0' &&
        trade_validate_number(trade->price_usd, strlen(trade->price_usd), "priceUsd", false, err) < 0)
        return -1;
    return validate_all_but_numbers(trade, err);
}

const char *trade_direction_name(enum trade_direction direction)
{
    return direction == TRADE_SELL ? "sell" : "buy";
}

void trade_pair(const struct trade *trade, char out[TRADE_PAIR_MAX + 1])
{
    /* Both names hold at most TRADE_NAME_MAX bytes: the pair fits. */
    size_t base = strnlen(trade->base, TRADE_NAME_MAX), quote = strnlen(trade->quote, TRADE_NAME_MAX);
    memcpy(out, trade->base, base);
    out[base] = '/';
    memcpy(out + base + 1, trade->quote, quote);
    out[base + 1 + quote] = '\0';
}

int trade_encode(const struct trade *trade, char *out, size_t out_size, struct error *err)
{
    if (trade_validate(trade, err) < 0)
        return -1;
    /* Validated names and numbers need no escaping; numbers go out as the text they came in. */
    int length = snprintf(out, out_size,
                          "{\"exchange\":\"%s\",\"base\":\"%s\",\"quote\":\"%s\",\"direction\":\"%s\",\"price\":%s,"
                          "\"volume\":%s,\"timestamp\":%" PRId64,
                          trade->exchange, trade->base, trade->quote, trade_direction_name(trade->direction),
                          trade->price, trade->volume, trade->timestamp_ms);
    if (length >= 0 && (size_t)length < out_size && trade->price_usd[0] != '\0')
        length += snprintf(out + length, out_size - (size_t)length, ",\"priceUsd\":%s", trade->price_usd);
    if (length >= 0 && (size_t)length < out_size && trade->trade_id != TRADE_NO_ID)
        length += snprintf(out + length, out_size - (size_t)length, ",\"tradeId\":%" PRId64, trade->trade_id);
    if (length >= 0 && (size_t)length < out_size)
        length += snprintf(out + length, out_size - (size_t)length, "}");
    if (length < 0 || (size_t)length >= out_size)
        return error_set(err, "the encoded trade is longer than %zu bytes", out_size - 1);
    return length;
}

/* ---- decoding ------------------------------------------------------------------------- */

static int string_field(const struct json_member *member, char *out, size_t out_size, struct error *err)
{
    if (member->kind != JSON_STRING)
        return error_set(err, "field '%s' must be a string", member->name);
    return flat_json_string(member, out, out_size, err);
}

static int number_field(const struct json_member *member, char *out, bool positive, struct decimal *value,
                        struct error *err)
{
    if (member->kind != JSON_NUMBER)
        return error_set(err, "field '%s' must be a number", member->name);
    if (read_number(member->raw, member->raw_length, member->name, positive, value, err) < 0)
        return -1;
    memcpy(out, member->raw, member->raw_length);
    out[member->raw_length] = '\0';
    return 0;
}

enum field { EXCHANGE, BASE, QUOTE, DIRECTION, PRICE, VOLUME, TIMESTAMP, PRICE_USD, TRADE_ID, FIELD_COUNT };
static const char *const FIELDS[FIELD_COUNT] = {"exchange", "base", "quote", "direction", "price", "volume",
                                                "timestamp", "priceUsd", "tradeId"};
enum { REQUIRED_FIELDS = 7 }; /* the first seven */

/* The field a member name is, FIELD_COUNT for none: one comparison per member (every
 * consumer decodes every record, so this is on the hot path). */
static enum field field_of(const char *name, size_t length)
{
    enum field candidate;
    switch (name[0]) {
    case 'e': candidate = EXCHANGE; break;
    case 'b': candidate = BASE; break;
    case 'q': candidate = QUOTE; break;
    case 'd': candidate = DIRECTION; break;
    case 'v': candidate = VOLUME; break;
    case 'p': candidate = length == 5 ? PRICE : PRICE_USD; break;
    case 't': candidate = name[1] == 'i' ? TIMESTAMP : TRADE_ID; break;
    default: return FIELD_COUNT;
    }
    return strcmp(name, FIELDS[candidate]) == 0 ? candidate : FIELD_COUNT;
}

int trade_decode(const char *data, size_t length, struct trade *trade, struct error *err)
{
    struct trade_numbers numbers;
    return trade_decode_numbers(data, length, trade, &numbers, err);
}

int trade_decode_numbers(const char *data, size_t length, struct trade *trade, struct trade_numbers *numbers,
                         struct error *err)
{
    struct flat_json object;
    if (flat_json_parse(data, length, &object, err) < 0)
        return -1;
    const struct json_member *fields[FIELD_COUNT] = {NULL};
    for (size_t i = 0; i < object.count; i++) {
        enum field field = field_of(object.members[i].name, object.members[i].name_length);
        if (field == FIELD_COUNT)
            return error_set(err, "unknown field '%.40s'", object.members[i].name);
        fields[field] = &object.members[i]; /* flat_json_parse refused duplicates */
    }
    for (size_t i = 0; i < REQUIRED_FIELDS; i++) {
        if (fields[i] == NULL)
            return error_set(err, "missing field '%s'", FIELDS[i]);
    }
    *trade = (struct trade){.trade_id = TRADE_NO_ID};
    char direction[8];
    if (string_field(fields[EXCHANGE], trade->exchange, sizeof trade->exchange, err) < 0 ||
        string_field(fields[BASE], trade->base, sizeof trade->base, err) < 0 ||
        string_field(fields[QUOTE], trade->quote, sizeof trade->quote, err) < 0 ||
        string_field(fields[DIRECTION], direction, sizeof direction, err) < 0 ||
        number_field(fields[PRICE], trade->price, true, &numbers->price, err) < 0 ||
        number_field(fields[VOLUME], trade->volume, false, &numbers->volume, err) < 0 ||
        flat_json_integer(fields[TIMESTAMP], &trade->timestamp_ms, err) < 0)
        return -1;
    if (strcmp(direction, "buy") == 0)
        trade->direction = TRADE_BUY;
    else if (strcmp(direction, "sell") == 0)
        trade->direction = TRADE_SELL;
    else
        return error_set(err, "field 'direction' must be \"buy\" or \"sell\"");
    const struct json_member *price_usd = fields[PRICE_USD];
    struct decimal price_usd_value;
    if (price_usd != NULL && price_usd->kind != JSON_NULL &&
        number_field(price_usd, trade->price_usd, false, &price_usd_value, err) < 0)
        return -1;
    const struct json_member *trade_id = fields[TRADE_ID];
    if (trade_id != NULL && flat_json_integer(trade_id, &trade->trade_id, err) < 0)
        return -1;
    if (trade_id != NULL && trade->trade_id < 0)
        return error_set(err, "field 'tradeId' must not be negative");
    return validate_all_but_numbers(trade, err);
}
