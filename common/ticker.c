#include "ticker.h"

#include <jansson.h>
#include <stdbool.h>
#include <string.h>

#include "timestamp.h"

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

int ticker_validate_name(const char *name, size_t length, struct error *err)
{
    if (length == 0)
        return error_set(err, "name is empty");
    if (length > TICKER_NAME_MAX)
        return error_set(err, "name is %zu bytes long, the limit is %d", length, TICKER_NAME_MAX);
    for (size_t i = 0; i < length; i++) {
        if (!is_name_char(name[i]))
            return error_set(err, "name has a character outside [A-Za-z0-9_] at byte %zu", i);
    }
    return 0;
}

int ticker_encode(const struct ticker *ticker, char *out, size_t out_size, struct error *err)
{
    char time_text[TIMESTAMP_TEXT_SIZE];
    if (ticker_validate_name(ticker->name, strlen(ticker->name), err) < 0)
        return -1;
    if (timestamp_format(ticker->time_us, time_text) < 0)
        return error_set(err, "time is outside years 0001..9999");

    json_t *object = json_pack("{s:s, s:I, s:s}", "name", ticker->name, "value", (json_int_t)ticker->value,
                               "time", time_text);
    if (object == NULL)
        return error_set(err, "out of memory encoding a ticker");
    /* json_dumpb writes into the caller's buffer: no allocation for the output. */
    size_t length = json_dumpb(object, out, out_size, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(object);
    if (length == 0 || length >= out_size)
        return error_set(err, "encoded ticker does not fit %zu bytes", out_size);
    out[length] = '\0';
    return (int)length;
}

static int decode_name(json_t *field, struct ticker *ticker, struct error *err)
{
    if (!json_is_string(field))
        return error_set(err, "field 'name' must be a string");
    const char *name = json_string_value(field);
    size_t length = json_string_length(field);
    if (ticker_validate_name(name, length, err) < 0)
        return -1;
    memcpy(ticker->name, name, length);
    ticker->name[length] = '\0';
    return 0;
}

static int decode_value(json_t *field, struct ticker *ticker, struct error *err)
{
    if (!json_is_integer(field))
        return error_set(err, "field 'value' must be an integer");
    json_int_t value = json_integer_value(field);
    if (value < INT32_MIN || value > INT32_MAX)
        return error_set(err, "field 'value' is outside the 32-bit range");
    ticker->value = (int32_t)value;
    return 0;
}

static int decode_time(json_t *field, struct ticker *ticker, struct error *err)
{
    if (!json_is_string(field))
        return error_set(err, "field 'time' must be a string");
    if (timestamp_parse(json_string_value(field), json_string_length(field), &ticker->time_us, err) < 0)
        return error_wrap(err, "field 'time'");
    return 0;
}

int ticker_decode_json(const char *data, size_t length, struct ticker *ticker, struct error *err)
{
    static const char *const FIELDS[] = {"name", "value", "time"};
    int (*const decoders[])(json_t *, struct ticker *, struct error *) = {decode_name, decode_value, decode_time};

    if (length == 0)
        return error_set(err, "invalid JSON: empty message");

    json_error_t json_error;
    /* Jansson rejects invalid UTF-8 and embedded NUL by default; duplicates only if asked. */
    json_t *root = json_loadb(data, length, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &json_error);
    if (root == NULL)
        return error_set(err, "invalid JSON at byte %d: %s", json_error.position, json_error.text);

    int result = -1;
    if (!json_is_object(root)) {
        error_set(err, "message must be a JSON object");
        goto done;
    }
    const char *key;
    json_t *field;
    json_object_foreach(root, key, field) {
        if (strcmp(key, "name") != 0 && strcmp(key, "value") != 0 && strcmp(key, "time") != 0) {
            error_set(err, "unknown field '%.32s'", key);
            goto done;
        }
    }
    for (size_t i = 0; i < sizeof FIELDS / sizeof FIELDS[0]; i++) {
        field = json_object_get(root, FIELDS[i]);
        if (field == NULL) {
            error_set(err, "missing field '%s'", FIELDS[i]);
            goto done;
        }
        if (decoders[i](field, ticker, err) < 0)
            goto done;
    }
    result = 0;
done:
    json_decref(root);
    return result;
}

/* ---- the compact form, read without a JSON parser -------------------------------------- */

/* Every message our producer writes is in ticker_encode's compact form. Through jansson, a
 * message costs a tree of allocations: ~55% of the aggregator's CPU when it drains a backlog
 * (bench/aggregator-drain). This reader takes that one form and declines anything else, which
 * ticker_decode then hands to ticker_decode_json: whatever it accepts, jansson would accept
 * with the same result (tests/fuzz/fuzz_ticker_decode.c checks it). */

struct cursor {
    const char *at, *end;
};

static bool take_literal(struct cursor *cursor, const char *literal)
{
    size_t length = strlen(literal);
    if ((size_t)(cursor->end - cursor->at) < length || memcmp(cursor->at, literal, length) != 0)
        return false;
    cursor->at += length;
    return true;
}

/* RFC 3339's characters; none needs escaping in JSON, so the raw bytes are the string. */
static bool is_time_char(char c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == ':' || c == '.' || c == '+' || c == ' ' || c == 'T' ||
           c == 't' || c == 'Z' || c == 'z';
}

/* A JSON string whose every byte passes `allowed` (so it has no escapes); *text points into
 * the input. */
static bool take_plain_string(struct cursor *cursor, bool (*allowed)(char), const char **text, size_t *length)
{
    if (cursor->at == cursor->end || *cursor->at != '"')
        return false;
    const char *start = ++cursor->at;
    while (cursor->at < cursor->end && *cursor->at != '"') {
        if (!allowed(*cursor->at))
            return false;
        cursor->at++;
    }
    if (cursor->at == cursor->end)
        return false;
    *text = start;
    *length = (size_t)(cursor->at - start);
    cursor->at++;
    return true;
}

/* A JSON integer (-?(0|[1-9][0-9]*)) within int32; larger ones are left to jansson's path,
 * which says why it refuses them. */
static bool take_int32(struct cursor *cursor, int32_t *value)
{
    bool negative = cursor->at < cursor->end && *cursor->at == '-';
    if (negative)
        cursor->at++;
    const char *digits = cursor->at;
    int64_t magnitude = 0;
    while (cursor->at < cursor->end && *cursor->at >= '0' && *cursor->at <= '9' && cursor->at - digits < 11) {
        magnitude = magnitude * 10 + (*cursor->at - '0');
        cursor->at++;
    }
    ptrdiff_t count = cursor->at - digits;
    if (count == 0 || count > 10 || (count > 1 && digits[0] == '0'))
        return false;
    int64_t signed_value = negative ? -magnitude : magnitude;
    if (signed_value < INT32_MIN || signed_value > INT32_MAX)
        return false;
    *value = (int32_t)signed_value;
    return true;
}

int ticker_decode_compact(const char *data, size_t length, struct ticker *ticker)
{
    struct cursor cursor = {data, data + length};
    const char *name, *time;
    size_t name_length, time_length;
    int32_t value;
    if (!take_literal(&cursor, "{\"name\":") || !take_plain_string(&cursor, is_name_char, &name, &name_length) ||
        name_length == 0 || name_length > TICKER_NAME_MAX || !take_literal(&cursor, ",\"value\":") ||
        !take_int32(&cursor, &value) || !take_literal(&cursor, ",\"time\":") ||
        !take_plain_string(&cursor, is_time_char, &time, &time_length) || !take_literal(&cursor, "}") ||
        cursor.at != cursor.end)
        return 0;
    struct error ignored;
    int64_t time_us;
    if (timestamp_parse(time, time_length, &time_us, &ignored) < 0)
        return 0;
    memcpy(ticker->name, name, name_length);
    ticker->name[name_length] = '\0';
    ticker->value = value;
    ticker->time_us = time_us;
    return 1;
}

int ticker_decode(const char *data, size_t length, struct ticker *ticker, struct error *err)
{
    if (ticker_decode_compact(data, length, ticker) == 1)
        return 0;
    return ticker_decode_json(data, length, ticker, err);
}
