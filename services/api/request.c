#include "request.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "timestamp.h"
#include "utf8.h"

/* "/api/tickers[/{name}/history|candles]". */
static int parse_ticker_route(const char *rest, enum api_route *route, char key[API_KEY_MAX + 1], int *http_status,
                              struct error *err)
{
    if (rest[0] == '\0') {
        *route = API_ROUTE_TICKERS;
        return 0;
    }
    if (rest[0] != '/')
        return error_set(err, "no such endpoint");
    rest++;
    const char *slash = strchr(rest, '/');
    if (slash != NULL && strcmp(slash, "/history") == 0)
        *route = API_ROUTE_HISTORY;
    else if (slash != NULL && strcmp(slash, "/candles") == 0)
        *route = API_ROUTE_CANDLES;
    else
        return error_set(err, "no such endpoint");
    size_t length = (size_t)(slash - rest);
    if (ticker_validate_name(rest, length, err) < 0) {
        *http_status = 400;
        return error_wrap(err, "invalid ticker");
    }
    memcpy(key, rest, length);
    key[length] = '\0';
    return 0;
}

/* "/api/markets[/{base}/{quote}/candles|trades]". */
static int parse_market_route(const char *rest, enum api_route *route, char key[API_KEY_MAX + 1], int *http_status,
                              struct error *err)
{
    if (rest[0] == '\0') {
        *route = API_ROUTE_MARKETS;
        return 0;
    }
    if (rest[0] != '/')
        return error_set(err, "no such endpoint");
    const char *base = rest + 1;
    const char *quote_slash = strchr(base, '/');
    const char *suffix = quote_slash != NULL ? strchr(quote_slash + 1, '/') : NULL;
    if (suffix != NULL && strcmp(suffix, "/candles") == 0)
        *route = API_ROUTE_MARKET_CANDLES;
    else if (suffix != NULL && strcmp(suffix, "/trades") == 0)
        *route = API_ROUTE_MARKET_TRADES;
    else
        return error_set(err, "no such endpoint (a market is named /api/markets/{base}/{quote}/...)");
    const char *quote = quote_slash + 1;
    size_t base_length = (size_t)(quote_slash - base), quote_length = (size_t)(suffix - quote);
    if (trade_validate_name(base, base_length, "base", err) < 0 ||
        trade_validate_name(quote, quote_length, "quote", err) < 0) {
        *http_status = 400;
        return error_wrap(err, "invalid currency pair");
    }
    snprintf(key, API_KEY_MAX + 1, "%.*s/%.*s", (int)base_length, base, (int)quote_length, quote);
    return 0;
}

int api_route_parse(const char *path, enum api_route *route, char key[API_KEY_MAX + 1], int *http_status,
                    struct error *err)
{
    static const char TICKERS[] = "/api/tickers", MARKETS[] = "/api/markets";
    *http_status = 404;
    key[0] = '\0';
    if (strncmp(path, TICKERS, sizeof TICKERS - 1) == 0)
        return parse_ticker_route(path + sizeof TICKERS - 1, route, key, http_status, err);
    if (strncmp(path, MARKETS, sizeof MARKETS - 1) == 0)
        return parse_market_route(path + sizeof MARKETS - 1, route, key, http_status, err);
    return error_set(err, "no such endpoint");
}

static int parse_count(const char *text, int max_limit, int *limit, struct error *err)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < 1 || value > max_limit)
        return error_set(err, "must be an integer from 1 to %d", max_limit);
    *limit = (int)value;
    return 0;
}

/* Splits one "key=value" argument and finds its key in `keys` (NULL-terminated): *key is its
 * index, *value the text after '='. Rejects a missing value, an unknown key (the reason
 * lists `expected`) and a key given before (`seen` has a flag per key, set here). */
static int take_argument(const char *argument, const char *const *keys, bool *seen, const char *expected,
                         size_t *key, const char **value, struct error *err)
{
    const char *equals = strchr(argument, '=');
    if (equals == NULL || equals[1] == '\0')
        return error_set(err, "parameter '%.32s' has no value", argument);
    size_t key_length = (size_t)(equals - argument);
    for (*key = 0; keys[*key] != NULL; (*key)++) {
        if (strlen(keys[*key]) == key_length && strncmp(argument, keys[*key], key_length) == 0)
            break;
    }
    if (keys[*key] == NULL)
        return error_set(err, "unknown parameter '%.*s' (expected %s)", (int)(key_length > 32 ? 32 : key_length),
                         argument, expected);
    if (seen[*key])
        return error_set(err, "parameter '%s' given twice", keys[*key]);
    seen[*key] = true;
    *value = equals + 1;
    return 0;
}

int history_query_parse(const char *const *arguments, size_t count, int max_limit, struct history_query *query,
                        struct error *err)
{
    static const char *const KEYS[] = {"from", "to", "limit", "max_points", NULL};
    enum { FROM, TO, LIMIT, MAX_POINTS };
    bool seen[4] = {false};
    query->from_us = INT64_MIN;
    query->to_us = INT64_MAX;
    query->limit = HISTORY_DEFAULT_LIMIT < max_limit ? HISTORY_DEFAULT_LIMIT : max_limit;
    query->max_points = 0;

    for (size_t i = 0; i < count; i++) {
        size_t key;
        const char *value;
        if (take_argument(arguments[i], KEYS, seen, "from, to, limit or max_points", &key, &value, err) < 0)
            return -1;
        int rc = key == FROM    ? timestamp_parse(value, strlen(value), &query->from_us, err)
                 : key == TO    ? timestamp_parse(value, strlen(value), &query->to_us, err)
                 : key == LIMIT ? parse_count(value, max_limit, &query->limit, err)
                                : parse_count(value, max_limit, &query->max_points, err);
        if (rc < 0)
            return error_wrap(err, "parameter '%s'", KEYS[key]);
    }
    if (query->from_us > query->to_us)
        return error_set(err, "parameter 'from' is after 'to'");
    if (seen[LIMIT] && seen[MAX_POINTS])
        return error_set(err, "give either 'limit' (raw points) or 'max_points' (downsampled), not both");
    return 0;
}

int trades_query_parse(const char *const *arguments, size_t count, int max_limit, struct history_query *query,
                       struct error *err)
{
    for (size_t i = 0; i < count; i++) {
        if (strncmp(arguments[i], "max_points=", 11) == 0)
            return error_set(err, "unknown parameter 'max_points' (expected from, to or limit: trades are not "
                                  "downsampled)");
    }
    return history_query_parse(arguments, count, max_limit, query, err);
}

/* The intervals candles_1m rolls up to (db/init.sql, candles_rollup). */
static const struct {
    const char *name;
    int64_t seconds;
} CANDLE_INTERVALS[] = {{"1m", 60}, {"5m", 300}, {"15m", 900}, {"1h", 3600}, {"1d", 86400}};

static int parse_interval(const char *text, struct candles_query *query, struct error *err)
{
    for (size_t i = 0; i < sizeof CANDLE_INTERVALS / sizeof CANDLE_INTERVALS[0]; i++) {
        if (strcmp(text, CANDLE_INTERVALS[i].name) == 0) {
            query->interval = CANDLE_INTERVALS[i].name;
            query->interval_s = CANDLE_INTERVALS[i].seconds;
            return 0;
        }
    }
    return error_set(err, "must be one of 1m, 5m, 15m, 1h, 1d");
}

int candles_query_parse(const char *const *arguments, size_t count, int max_candles, int64_t now_us,
                        struct candles_query *query, struct error *err)
{
    static const char *const KEYS[] = {"interval", "from", "to", NULL};
    enum { INTERVAL, FROM, TO };
    bool seen[3] = {false};
    query->interval = "1m";
    query->interval_s = 60;
    for (size_t i = 0; i < count; i++) {
        size_t key;
        const char *value;
        if (take_argument(arguments[i], KEYS, seen, "interval, from or to", &key, &value, err) < 0)
            return -1;
        int rc = key == INTERVAL ? parse_interval(value, query, err)
                 : key == FROM   ? timestamp_parse(value, strlen(value), &query->from_us, err)
                                 : timestamp_parse(value, strlen(value), &query->to_us, err);
        if (rc < 0)
            return error_wrap(err, "parameter '%s'", KEYS[key]);
    }
    int64_t interval_us = query->interval_s * 1000000;
    int64_t span_us = (int64_t)(CANDLES_DEFAULT_COUNT < max_candles ? CANDLES_DEFAULT_COUNT : max_candles) * interval_us;
    if (!seen[TO])
        query->to_us = seen[FROM] && query->from_us < now_us - span_us ? query->from_us + span_us : now_us;
    if (!seen[FROM])
        query->from_us = query->to_us - span_us;
    if (query->from_us >= query->to_us)
        return error_set(err, "parameter 'from' is not before 'to'");
    /* Whole buckets: the one holding `from` up to the one holding the last microsecond. */
    int64_t first_bucket = query->from_us / interval_us - (query->from_us % interval_us < 0);
    int64_t last_bucket = (query->to_us - 1) / interval_us - ((query->to_us - 1) % interval_us < 0);
    if (last_bucket - first_bucket + 1 > max_candles)
        return error_set(err, "the range spans %" PRId64 " %s candles; at most %d: narrow it or take a larger "
                              "interval",
                         last_bucket - first_bucket + 1, query->interval, max_candles);
    return 0;
}

int no_arguments_parse(const char *const *arguments, size_t count, struct error *err)
{
    if (count > 0)
        return error_set(err, "unknown parameter '%.*s' (this endpoint takes none)",
                         (int)strcspn(arguments[0], "="), arguments[0]);
    return 0;
}

char *api_error_body(const char *reason)
{
    /* The reason may quote the request's bytes: see utf8.h. */
    char valid[ERROR_MESSAGE_MAX];
    utf8_copy_valid(valid, sizeof valid, reason);
    json_t *object = json_pack("{s:s}", "error", valid);
    char *body = object != NULL ? json_dumps(object, JSON_COMPACT) : NULL;
    json_decref(object);
    return body;
}

/* Fails parsing with a client-facing reason and its error code. */
static int reject(const char **code, const char *code_text, struct error *err, const char *format, ...)
    __attribute__((format(printf, 4, 5)));
static int reject(const char **code, const char *code_text, struct error *err, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(err->message, sizeof err->message, format, args);
    va_end(args);
    *code = code_text;
    return -1;
}

static int parse_since(json_t *value, const char *what, int64_t *since_us, const char **code, struct error *err)
{
    if (!json_is_string(value))
        return reject(code, "invalid_since", err, "%s must be an RFC 3339 time string", what);
    struct error parse_err;
    if (timestamp_parse(json_string_value(value), json_string_length(value), since_us, &parse_err) < 0)
        return reject(code, "invalid_since", err, "%s: %s", what, parse_err.message);
    return 0;
}

/* A pair's position: the offset of a trade in the trades topic. */
static int parse_offset(json_t *value, const char *what, int64_t *offset, const char **code, struct error *err)
{
    if (!json_is_integer(value) || json_integer_value(value) < 0)
        return reject(code, "invalid_since", err, "%s must be a trade's offset (an integer, 0 or more)", what);
    *offset = json_integer_value(value);
    return 0;
}

/* "base/quote", each an id trade.h accepts. */
static int validate_pair(const char *text, size_t length, struct error *err)
{
    const char *slash = memchr(text, '/', length);
    if (slash == NULL)
        return error_set(err, "'%.100s' is not a currency pair 'base/quote'", text);
    size_t base_length = (size_t)(slash - text);
    if (trade_validate_name(text, base_length, "base", err) < 0 ||
        trade_validate_name(slash + 1, length - base_length - 1, "quote", err) < 0)
        return -1;
    return 0;
}

_Static_assert((CLIENT_NAME_SLOTS & (CLIENT_NAME_SLOTS - 1)) == 0 && CLIENT_NAME_SLOTS >= 2 * CLIENT_TICKERS_MAX,
               "name_slots: a power of two with free slots to spare");

/* Adds a validated name (merging a duplicate) with its since: a ticker's, or with `pair`,
 * a currency pair's. */
static int add_name(struct client_message *message, json_t *name, bool pair, int64_t since, const char **code,
                    struct error *err)
{
    const char *invalid = pair ? "invalid_pair" : "invalid_ticker";
    if (!json_is_string(name))
        return reject(code, invalid, err, pair ? "currency pairs must be strings" : "ticker names must be strings");
    const char *text = json_string_value(name);
    struct error name_err;
    if (pair ? validate_pair(text, json_string_length(name), &name_err) < 0
             : ticker_validate_name(text, json_string_length(name), &name_err) < 0)
        return reject(code, invalid, err, "invalid %s: %s", pair ? "currency pair" : "ticker", name_err.message);
    /* Open addressing with linear probing over name_slots (FNV-1a hash of the name). */
    uint32_t hash = 2166136261u;
    for (const char *c = text; *c != '\0'; c++)
        hash = (hash ^ (unsigned char)*c) * 16777619u;
    size_t slot = hash & (CLIENT_NAME_SLOTS - 1);
    for (; message->name_slots[slot] != 0; slot = (slot + 1) & (CLIENT_NAME_SLOTS - 1)) {
        struct client_ticker *seen = &message->tickers[message->name_slots[slot] - 1];
        if (strcmp(seen->name, text) == 0) {
            seen->since = since;
            return 0;
        }
    }
    if (message->count == CLIENT_TICKERS_MAX)
        return reject(code, "too_many_tickers", err, "more than %d tickers or pairs in one message", CLIENT_TICKERS_MAX);
    message->name_slots[slot] = (uint16_t)(message->count + 1);
    struct client_ticker *entry = &message->tickers[message->count++];
    memcpy(entry->name, text, json_string_length(name) + 1);
    entry->pair = pair;
    entry->since = since;
    return 0;
}

/* "ticker": "x", "tickers": [...] | "*", "pair": "b/q" or "pairs": [...] | "*" (exactly
 * one of them): sets message->pairs, and the since of each from the "since" field (a time
 * for tickers, an offset for pairs). */
static int parse_names(json_t *root, struct client_message *message, const char **code, struct error *err)
{
    json_t *ticker = json_object_get(root, "ticker"), *tickers = json_object_get(root, "tickers");
    json_t *pair = json_object_get(root, "pair"), *pairs = json_object_get(root, "pairs");
    if ((ticker != NULL) + (tickers != NULL) + (pair != NULL) + (pairs != NULL) != 1)
        return reject(code, "invalid_message", err,
                      "give either 'tickers' (a list of names, or \"*\") or 'ticker', or for currency pairs "
                      "'pairs' or 'pair'");
    message->pairs = pair != NULL || pairs != NULL;
    int64_t since = CLIENT_NO_SINCE;
    json_t *since_value = json_object_get(root, "since");
    if (since_value != NULL && (message->pairs ? parse_offset(since_value, "'since'", &since, code, err)
                                               : parse_since(since_value, "'since'", &since, code, err)) < 0)
        return -1;
    json_t *one = message->pairs ? pair : ticker, *many = message->pairs ? pairs : tickers;
    const char *field = message->pairs ? "pairs" : "tickers";
    if (one != NULL)
        return add_name(message, one, message->pairs, since, code, err);
    if (json_is_string(many) && strcmp(json_string_value(many), "*") == 0) {
        message->all = true;
        message->all_since = since;
        return 0;
    }
    if (!json_is_array(many) || json_array_size(many) == 0)
        return reject(code, "invalid_message", err, "'%s' must be a non-empty list of names, or \"*\"", field);
    size_t index;
    json_t *name;
    json_array_foreach(many, index, name) {
        if (add_name(message, name, message->pairs, since, code, err) < 0)
            return -1;
    }
    return 0;
}

static int parse_positions(json_t *root, struct client_message *message, const char **code, struct error *err)
{
    json_t *positions = json_object_get(root, "positions");
    if (!json_is_object(positions) || json_object_size(positions) == 0)
        return reject(code, "invalid_message", err,
                      "'positions' must be a non-empty object: {\"<ticker>\": \"<time of the last value you have>\", "
                      "\"<base/quote>\": <offset of the last trade you have>}");
    const char *name;
    json_t *position;
    json_object_foreach(positions, name, position) {
        int64_t since;
        char what[128];
        bool pair = strchr(name, '/') != NULL;
        snprintf(what, sizeof what, "position of '%.100s'", name);
        json_t *name_value = json_string(name);
        int rc = (pair ? parse_offset(position, what, &since, code, err) : parse_since(position, what, &since, code, err)) < 0
                     ? -1
                     : add_name(message, name_value, pair, since, code, err);
        json_decref(name_value);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* Only the fields `allowed` (NULL-terminated) may appear. */
static int check_fields(json_t *root, const char *const *allowed, const char **code, struct error *err)
{
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value) {
        bool known = false;
        for (size_t i = 0; allowed[i] != NULL && !known; i++)
            known = strcmp(key, allowed[i]) == 0;
        if (!known)
            return reject(code, "invalid_message", err, "unknown field '%.32s'", key);
    }
    return 0;
}

/* "batch_ms" and "conflate": how the subscriptions made deliver (docs/api.md, batched delivery). */
static int parse_delivery(json_t *root, struct client_message *message, const char **code, struct error *err)
{
    json_t *batch = json_object_get(root, "batch_ms"), *conflate = json_object_get(root, "conflate");
    if (conflate != NULL && !json_is_boolean(conflate))
        return reject(code, "invalid_message", err, "field 'conflate' must be true or false");
    message->conflate = json_is_true(conflate);
    if (batch == NULL) {
        message->batch_ms = message->conflate ? CLIENT_BATCH_DEFAULT_MS : 0;
        return 0;
    }
    if (!json_is_integer(batch) || json_integer_value(batch) < CLIENT_BATCH_MIN_MS ||
        json_integer_value(batch) > CLIENT_BATCH_MAX_MS)
        return reject(code, "invalid_batch", err,
                      "'batch_ms' must be an integer from %d to %d (milliseconds between batched frames)",
                      CLIENT_BATCH_MIN_MS, CLIENT_BATCH_MAX_MS);
    message->batch_ms = (int)json_integer_value(batch);
    return 0;
}

static int parse_op(json_t *root, struct client_message *message, const char **code, struct error *err)
{
    json_t *op = json_object_get(root, "op");
    if (!json_is_string(op))
        return reject(code, "invalid_message", err, "field 'op' must be a string: subscribe, unsubscribe, resume or ping");
    const char *name = json_string_value(op);
    static const char *const subscribe_fields[] = {"op",    "ticker",  "tickers",  "pair",     "pairs",
                                                   "since", "candles", "batch_ms", "conflate", NULL};
    static const char *const unsubscribe_fields[] = {"op", "ticker", "tickers", "pair", "pairs", NULL};
    static const char *const resume_fields[] = {"op", "positions", "batch_ms", "conflate", NULL};
    static const char *const ping_fields[] = {"op", NULL};
    if (strcmp(name, "subscribe") == 0) {
        message->op = CLIENT_SUBSCRIBE;
        json_t *candles = json_object_get(root, "candles");
        if (check_fields(root, subscribe_fields, code, err) < 0)
            return -1;
        if (candles != NULL && !json_is_boolean(candles))
            return reject(code, "invalid_message", err, "field 'candles' must be true or false");
        message->candles = json_is_true(candles);
        return parse_delivery(root, message, code, err) < 0 ? -1 : parse_names(root, message, code, err);
    }
    if (strcmp(name, "unsubscribe") == 0) {
        message->op = CLIENT_UNSUBSCRIBE;
        if (check_fields(root, unsubscribe_fields, code, err) < 0)
            return -1;
        return parse_names(root, message, code, err);
    }
    if (strcmp(name, "resume") == 0) {
        message->op = CLIENT_RESUME;
        if (check_fields(root, resume_fields, code, err) < 0 || parse_delivery(root, message, code, err) < 0)
            return -1;
        return parse_positions(root, message, code, err);
    }
    if (strcmp(name, "ping") == 0) {
        message->op = CLIENT_PING;
        return check_fields(root, ping_fields, code, err);
    }
    return reject(code, "unknown_op", err, "unknown op '%.32s' (expected subscribe, unsubscribe, resume or ping)", name);
}

int client_message_parse(const char *text, size_t length, struct client_message *message, const char **code,
                         struct error *err)
{
    json_error_t json_error;
    json_t *root = json_loadb(text, length, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &json_error);
    if (root == NULL)
        return reject(code, "invalid_json", err, "invalid JSON at byte %d: %s", json_error.position, json_error.text);
    message->all = false;
    message->pairs = false;
    message->candles = false;
    message->batch_ms = 0;
    message->conflate = false;
    message->count = 0;
    memset(message->name_slots, 0, sizeof message->name_slots);
    int rc = json_is_object(root) ? parse_op(root, message, code, err)
                                  : reject(code, "invalid_message", err, "message must be a JSON object");
    json_decref(root);
    return rc;
}

/* ---- Origin ---- */

/* Length of `text` without trailing '/' characters. */
static size_t trimmed_length(const char *text, size_t length)
{
    while (length > 0 && text[length - 1] == '/')
        length--;
    return length;
}

static bool listed(const char *origin, size_t origin_length, const char *allowed)
{
    for (const char *entry = allowed; *entry != '\0';) {
        while (*entry == ' ' || *entry == ',')
            entry++;
        size_t length = strcspn(entry, ",");
        size_t trimmed = length;
        while (trimmed > 0 && entry[trimmed - 1] == ' ')
            trimmed--;
        trimmed = trimmed_length(entry, trimmed);
        if ((trimmed == 1 && entry[0] == '*') ||
            (trimmed > 0 && trimmed == origin_length && strncasecmp(entry, origin, trimmed) == 0))
            return true;
        entry += length;
    }
    return false;
}

bool origin_allowed(const char *origin, const char *host, const char *allowed)
{
    if (origin == NULL || origin[0] == '\0')
        return true;
    size_t origin_length = trimmed_length(origin, strlen(origin));
    const char *authority = strstr(origin, "://");
    if (authority != NULL && host != NULL && host[0] != '\0') {
        authority += 3;
        size_t authority_length = origin_length - (size_t)(authority - origin);
        if (authority_length == strlen(host) && strncasecmp(authority, host, authority_length) == 0)
            return true;
    }
    return allowed != NULL && listed(origin, origin_length, allowed);
}
