#include "trade.h"

#include <errno.h>
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

int trade_validate_number(const char *text, size_t length, const char *what, bool positive, struct error *err)
{
    if (length > TRADE_NUMBER_MAX)
        return error_set(err, "%s is longer than %d bytes", what, TRADE_NUMBER_MAX);
    struct decimal value;
    if (decimal_parse(text, length, &value, err) < 0)
        return error_wrap(err, "%s", what);
    if (positive ? !decimal_is_positive(&value) : decimal_is_negative(&value))
        return error_set(err, "%s must be %s", what, positive ? "positive" : "zero or more");
    return 0;
}

int trade_validate(const struct trade *trade, struct error *err)
{
    if (trade_validate_name(trade->exchange, strlen(trade->exchange), "exchange", err) < 0 ||
        trade_validate_name(trade->base, strlen(trade->base), "base", err) < 0 ||
        trade_validate_name(trade->quote, strlen(trade->quote), "quote", err) < 0 ||
        trade_validate_number(trade->price, strlen(trade->price), "price", true, err) < 0 ||
        trade_validate_number(trade->volume, strlen(trade->volume), "volume", false, err) < 0)
        return -1;
    if (trade->price_usd[0] != '\0' &&
        trade_validate_number(trade->price_usd, strlen(trade->price_usd), "priceUsd", false, err) < 0)
        return -1;
    if (trade->direction != TRADE_BUY && trade->direction != TRADE_SELL)
        return error_set(err, "direction must be buy or sell");
    if (trade->timestamp_ms < TIMESTAMP_MIN_MS || trade->timestamp_ms > TIMESTAMP_MAX_MS)
        return error_set(err, "timestamp %" PRId64 " is not milliseconds of the years 2000 to 9999", trade->timestamp_ms);
    if (trade->trade_id != TRADE_NO_ID && trade->trade_id < 0)
        return error_set(err, "tradeId must not be negative");
    return 0;
}

const char *trade_direction_name(enum trade_direction direction)
{
    return direction == TRADE_SELL ? "sell" : "buy";
}

void trade_pair(const struct trade *trade, char out[TRADE_PAIR_MAX + 1])
{
    snprintf(out, TRADE_PAIR_MAX + 1, "%s/%s", trade->base, trade->quote);
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

static int number_field(const struct json_member *member, char *out, bool positive, struct error *err)
{
    if (member->kind != JSON_NUMBER)
        return error_set(err, "field '%s' must be a number", member->name);
    if (trade_validate_number(member->raw, member->raw_length, member->name, positive, err) < 0)
        return -1;
    memcpy(out, member->raw, member->raw_length);
    out[member->raw_length] = '\0';
    return 0;
}

/* A JSON integer (no fraction, no exponent) within int64. */
static int integer_field(const struct json_member *member, int64_t *out, struct error *err)
{
    if (member->kind != JSON_NUMBER)
        return error_set(err, "field '%s' must be an integer", member->name);
    char text[32];
    if (member->raw_length >= sizeof text || memchr(member->raw, '.', member->raw_length) != NULL ||
        memchr(member->raw, 'e', member->raw_length) != NULL || memchr(member->raw, 'E', member->raw_length) != NULL)
        return error_set(err, "field '%s' must be an integer", member->name);
    memcpy(text, member->raw, member->raw_length);
    text[member->raw_length] = '\0';
    errno = 0;
    char *end;
    long long value = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0')
        return error_set(err, "field '%s' is outside the 64-bit range", member->name);
    *out = value;
    return 0;
}

static const char *const FIELDS[] = {"exchange", "base", "quote", "direction", "price", "volume", "timestamp",
                                     "priceUsd", "tradeId", NULL};
enum { REQUIRED_FIELDS = 7 };

int trade_decode(const char *data, size_t length, struct trade *trade, struct error *err)
{
    struct flat_json object;
    if (flat_json_parse(data, length, &object, err) < 0)
        return -1;
    for (size_t i = 0; i < object.count; i++) {
        size_t known = 0;
        while (FIELDS[known] != NULL && strcmp(FIELDS[known], object.members[i].name) != 0)
            known++;
        if (FIELDS[known] == NULL)
            return error_set(err, "unknown field '%.40s'", object.members[i].name);
    }
    for (size_t i = 0; i < REQUIRED_FIELDS; i++) {
        if (flat_json_find(&object, FIELDS[i]) == NULL)
            return error_set(err, "missing field '%s'", FIELDS[i]);
    }
    *trade = (struct trade){.trade_id = TRADE_NO_ID};
    char direction[8];
    if (string_field(flat_json_find(&object, "exchange"), trade->exchange, sizeof trade->exchange, err) < 0 ||
        string_field(flat_json_find(&object, "base"), trade->base, sizeof trade->base, err) < 0 ||
        string_field(flat_json_find(&object, "quote"), trade->quote, sizeof trade->quote, err) < 0 ||
        string_field(flat_json_find(&object, "direction"), direction, sizeof direction, err) < 0 ||
        number_field(flat_json_find(&object, "price"), trade->price, true, err) < 0 ||
        number_field(flat_json_find(&object, "volume"), trade->volume, false, err) < 0 ||
        integer_field(flat_json_find(&object, "timestamp"), &trade->timestamp_ms, err) < 0)
        return -1;
    if (strcmp(direction, "buy") == 0)
        trade->direction = TRADE_BUY;
    else if (strcmp(direction, "sell") == 0)
        trade->direction = TRADE_SELL;
    else
        return error_set(err, "field 'direction' must be \"buy\" or \"sell\"");
    const struct json_member *price_usd = flat_json_find(&object, "priceUsd");
    if (price_usd != NULL && price_usd->kind != JSON_NULL &&
        number_field(price_usd, trade->price_usd, false, err) < 0)
        return -1;
    const struct json_member *trade_id = flat_json_find(&object, "tradeId");
    if (trade_id != NULL && integer_field(trade_id, &trade->trade_id, err) < 0)
        return -1;
    if (trade_id != NULL && trade->trade_id < 0)
        return error_set(err, "field 'tradeId' must not be negative");
    return trade_validate(trade, err);
}
