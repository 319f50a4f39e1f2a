/*
 * Parsing and validation of what clients send the API server: HTTP paths and query
 * parameters, and WebSocket client messages. Pure functions, unit-tested; every
 * rejection has a message meant for the client (returned in a JSON error body).
 */
#ifndef API_REQUEST_H
#define API_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "ticker.h"

enum api_route {
    API_ROUTE_TICKERS, /* GET /api/tickers */
    API_ROUTE_HISTORY, /* GET /api/tickers/{name}/history */
};

/* Parses a request path ("/api/tickers", "/api/tickers/ticker_07/history"), without
 * the query string. On success
 * *route is set and, for history, `name` holds the validated ticker name.
 * Returns -1 with err set and *http_status 404 (no such endpoint) or 400 (invalid name). */
int api_route_parse(const char *path, enum api_route *route, char name[TICKER_NAME_MAX + 1], int *http_status,
                    struct error *err);

#define HISTORY_DEFAULT_LIMIT 1000

struct history_query {
    char name[TICKER_NAME_MAX + 1];
    int64_t from_us; /* inclusive; INT64_MIN when absent */
    int64_t to_us;   /* inclusive; INT64_MAX when absent */
    int limit;       /* raw points: the most recent `limit` points of the range */
    int max_points;  /* > 0: downsample the whole range into at most this many buckets */
};

/* Parses the URL-decoded "key=value" arguments of a history request. Accepted keys:
 * from, to (RFC 3339), and either limit (1..max_limit, default HISTORY_DEFAULT_LIMIT)
 * or max_points (1..max_limit). Rejects unknown, repeated or empty parameters, both
 * limit and max_points, and from > to. */
int history_query_parse(const char *const *arguments, size_t count, int max_limit, struct history_query *query,
                        struct error *err);

/* Rejects any argument: for endpoints that take none. */
int no_arguments_parse(const char *const *arguments, size_t count, struct error *err);

/* The JSON body of an error answer, {"error":"<reason>"} with the reason escaped.
 * Returns a string the caller frees, or NULL when out of memory. */
char *api_error_body(const char *reason);

enum client_op {
    CLIENT_SUBSCRIBE,
    CLIENT_UNSUBSCRIBE,
};

struct client_message {
    enum client_op op;
    char ticker[TICKER_NAME_MAX + 1];
};

/* Parses one WebSocket text message: {"op":"subscribe"|"unsubscribe","ticker":"<name>"}.
 * Rejects malformed JSON, a non-object, an unknown or missing op, a missing or invalid
 * ticker and unknown fields. */
int client_message_parse(const char *text, size_t length, struct client_message *message, struct error *err);

#endif
