#include "request.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "timestamp.h"

int api_route_parse(const char *path, enum api_route *route, char name[TICKER_NAME_MAX + 1], int *http_status,
                    struct error *err)
{
    static const char PREFIX[] = "/api/tickers";
    static const char HISTORY_SUFFIX[] = "/history";
    *http_status = 404;
    if (strncmp(path, PREFIX, sizeof PREFIX - 1) != 0)
        return error_set(err, "no such endpoint");
    const char *rest = path + sizeof PREFIX - 1;
    if (rest[0] == '\0') {
        *route = API_ROUTE_TICKERS;
        return 0;
    }
    if (rest[0] != '/')
        return error_set(err, "no such endpoint");
    rest++;
    const char *slash = strchr(rest, '/');
    if (slash == NULL || strcmp(slash, HISTORY_SUFFIX) != 0)
        return error_set(err, "no such endpoint");
    size_t length = (size_t)(slash - rest);
    if (ticker_validate_name(rest, length, err) < 0) {
        *http_status = 400;
        return error_wrap(err, "invalid ticker");
    }
    memcpy(name, rest, length);
    name[length] = '\0';
    *route = API_ROUTE_HISTORY;
    return 0;
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

int history_query_parse(const char *const *arguments, size_t count, int max_limit, struct history_query *query,
                        struct error *err)
{
    bool seen_from = false, seen_to = false, seen_limit = false, seen_max_points = false;
    query->from_us = INT64_MIN;
    query->to_us = INT64_MAX;
    query->limit = HISTORY_DEFAULT_LIMIT < max_limit ? HISTORY_DEFAULT_LIMIT : max_limit;
    query->max_points = 0;

    for (size_t i = 0; i < count; i++) {
        const char *equals = strchr(arguments[i], '=');
        if (equals == NULL || equals[1] == '\0')
            return error_set(err, "parameter '%.32s' has no value", arguments[i]);
        size_t key_length = (size_t)(equals - arguments[i]);
        const char *value = equals + 1;
        bool *seen;
        int rc;
        if (key_length == 4 && strncmp(arguments[i], "from", 4) == 0) {
            seen = &seen_from;
            rc = timestamp_parse(value, strlen(value), &query->from_us, err);
        } else if (key_length == 2 && strncmp(arguments[i], "to", 2) == 0) {
            seen = &seen_to;
            rc = timestamp_parse(value, strlen(value), &query->to_us, err);
        } else if (key_length == 5 && strncmp(arguments[i], "limit", 5) == 0) {
            seen = &seen_limit;
            rc = parse_count(value, max_limit, &query->limit, err);
        } else if (key_length == 10 && strncmp(arguments[i], "max_points", 10) == 0) {
            seen = &seen_max_points;
            rc = parse_count(value, max_limit, &query->max_points, err);
        } else {
            return error_set(err, "unknown parameter '%.*s' (expected from, to, limit or max_points)",
                             (int)(key_length > 32 ? 32 : key_length), arguments[i]);
        }
        if (*seen)
            return error_set(err, "parameter '%.*s' given twice", (int)key_length, arguments[i]);
        *seen = true;
        if (rc < 0)
            return error_wrap(err, "parameter '%.*s'", (int)key_length, arguments[i]);
    }
    if (query->from_us > query->to_us)
        return error_set(err, "parameter 'from' is after 'to'");
    if (seen_limit && seen_max_points)
        return error_set(err, "give either 'limit' (raw points) or 'max_points' (downsampled), not both");
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
    json_t *object = json_pack("{s:s}", "error", reason);
    char *body = object != NULL ? json_dumps(object, JSON_COMPACT) : NULL;
    json_decref(object);
    return body;
}

int client_message_parse(const char *text, size_t length, struct client_message *message, struct error *err)
{
    json_error_t json_error;
    json_t *root = json_loadb(text, length, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &json_error);
    if (root == NULL)
        return error_set(err, "invalid JSON at byte %d: %s", json_error.position, json_error.text);

    int rc = -1;
    const char *key;
    json_t *value;
    if (!json_is_object(root)) {
        error_set(err, "message must be a JSON object");
        goto done;
    }
    json_object_foreach(root, key, value) {
        if (strcmp(key, "op") != 0 && strcmp(key, "ticker") != 0) {
            error_set(err, "unknown field '%.32s'", key);
            goto done;
        }
    }
    json_t *op = json_object_get(root, "op");
    if (!json_is_string(op)) {
        error_set(err, "field 'op' must be a string: subscribe or unsubscribe");
        goto done;
    }
    if (strcmp(json_string_value(op), "subscribe") == 0) {
        message->op = CLIENT_SUBSCRIBE;
    } else if (strcmp(json_string_value(op), "unsubscribe") == 0) {
        message->op = CLIENT_UNSUBSCRIBE;
    } else {
        error_set(err, "unknown op '%.32s' (expected subscribe or unsubscribe)", json_string_value(op));
        goto done;
    }
    json_t *ticker = json_object_get(root, "ticker");
    if (!json_is_string(ticker)) {
        error_set(err, "field 'ticker' must be a string");
        goto done;
    }
    if (ticker_validate_name(json_string_value(ticker), json_string_length(ticker), err) < 0) {
        error_wrap(err, "invalid ticker");
        goto done;
    }
    memcpy(message->ticker, json_string_value(ticker), json_string_length(ticker) + 1);
    rc = 0;
done:
    json_decref(root);
    return rc;
}
