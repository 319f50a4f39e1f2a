/*
 * Fuzz target: HTTP request paths and query parameters of the API server
 * (services/api/request.c): api_route_parse and the parsers of each endpoint's
 * arguments, which also exercise the RFC 3339 time parser.
 *
 * Input: the path, then '\n', then the URL-decoded query string; '&' separates the
 * "key=value" arguments, as libwebsockets hands them over (at most 16 of under 256 bytes).
 *
 * Beyond "no crash": every rejection has a reason whose JSON error body parses, and what
 * is accepted keeps the documented limits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_ARGUMENTS = 16, ARGUMENT_MAX = 256, MAX_ROWS = 10000 };
/* A fixed "now" keeps every run of an input the same. */
static const int64_t NOW_US = 1795000000000000; /* 2026-11-19 */

static void check_rejection(const struct error *err)
{
    if (err->message[0] == '\0')
        abort();
    char *body = api_error_body(err->message);
    if (body == NULL)
        abort();
    json_t *parsed = json_loads(body, 0, NULL);
    if (parsed == NULL || !json_is_string(json_object_get(parsed, "error")))
        abort();
    json_decref(parsed);
    free(body);
}

/* Splits the query into NUL-terminated arguments. Returns the count, or -1 when the
 * server would have refused the request before parsing (too many or too long). */
static int split_arguments(const char *query, size_t length, char storage[][ARGUMENT_MAX], const char *arguments[])
{
    int count = 0;
    size_t start = 0;
    if (length == 0)
        return 0;
    for (size_t i = 0; i <= length; i++) {
        if (i < length && query[i] != '&')
            continue;
        size_t piece = i - start;
        if (count == MAX_ARGUMENTS || piece >= ARGUMENT_MAX)
            return -1;
        memcpy(storage[count], query + start, piece);
        storage[count][piece] = '\0';
        arguments[count] = storage[count];
        count++;
        start = i + 1;
    }
    return count;
}

static void check_history(const char *const *arguments, size_t count)
{
    struct history_query query;
    struct error err;
    memset(&query, 0, sizeof query);
    if (history_query_parse(arguments, count, MAX_ROWS, &query, &err) < 0) {
        check_rejection(&err);
        return;
    }
    if (query.from_us > query.to_us || query.limit < 0 || query.limit > MAX_ROWS || query.max_points < 0 ||
        query.max_points > MAX_ROWS)
        abort();
}

static void check_candles(const char *const *arguments, size_t count)
{
    struct candles_query query;
    struct error err;
    memset(&query, 0, sizeof query);
    if (candles_query_parse(arguments, count, MAX_ROWS, NOW_US, &query, &err) < 0) {
        check_rejection(&err);
        return;
    }
    if (query.interval == NULL || query.interval_s <= 0 || query.from_us >= query.to_us)
        abort();
    /* At most MAX_ROWS buckets overlap the range (the first one may start before it). */
    int64_t interval_us = query.interval_s * 1000000;
    if ((query.to_us - query.from_us) / interval_us > MAX_ROWS)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *newline = memchr(text, '\n', size);
    size_t path_length = newline ? (size_t)(newline - text) : size;
    char *path = strndup(text, path_length);
    if (path == NULL)
        return 0;

    enum api_route route;
    char name[API_KEY_MAX + 1];
    int status = 0;
    struct error err;
    if (api_route_parse(path, &route, name, &status, &err) < 0) {
        if (status != 404 && status != 400)
            abort();
        check_rejection(&err);
    } else if ((route == API_ROUTE_HISTORY || route == API_ROUTE_CANDLES) &&
               ticker_validate_name(name, strlen(name), NULL) < 0) {
        abort();
    } else if ((route == API_ROUTE_MARKET_CANDLES || route == API_ROUTE_MARKET_TRADES) &&
               (strchr(name, '/') == NULL ||
                trade_validate_name(name, (size_t)(strchr(name, '/') - name), "base", NULL) < 0 ||
                trade_validate_name(strchr(name, '/') + 1, strlen(strchr(name, '/') + 1), "quote", NULL) < 0)) {
        abort();
    }
    free(path);

    static char storage[MAX_ARGUMENTS][ARGUMENT_MAX];
    const char *arguments[MAX_ARGUMENTS];
    const char *query = newline ? newline + 1 : "";
    size_t query_length = newline ? size - path_length - 1 : 0;
    int count = split_arguments(query, query_length, storage, arguments);
    if (count < 0)
        return 0;
    /* The Origin check, with the path as the Origin and the query as the allow-list: never
     * a crash, and "*" allows any. */
    char *origin = strndup(text, path_length);
    if (origin != NULL) {
        origin_allowed(origin, "localhost:5000", count > 0 ? arguments[0] : "");
        if (!origin_allowed(origin, "localhost:5000", "*"))
            abort();
        free(origin);
    }

    /* Every parser sees every query: the route only picks which one the server calls. */
    check_history(arguments, (size_t)count);
    check_candles(arguments, (size_t)count);
    if (no_arguments_parse(arguments, (size_t)count, &err) < 0)
        check_rejection(&err);
    return 0;
}
