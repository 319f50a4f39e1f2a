/*
 * Parsing and validation of what clients send the API server: HTTP paths and query
 * parameters, and WebSocket client messages. Pure functions, unit-tested; every
 * rejection has a message meant for the client (returned in a JSON error body).
 */
#ifndef API_REQUEST_H
#define API_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "ticker.h"
#include "trade.h"

enum api_route {
    API_ROUTE_TICKERS,        /* GET /api/tickers */
    API_ROUTE_HISTORY,        /* GET /api/tickers/{name}/history */
    API_ROUTE_CANDLES,        /* GET /api/tickers/{name}/candles */
    API_ROUTE_MARKETS,        /* GET /api/markets */
    API_ROUTE_MARKET_CANDLES, /* GET /api/markets/{base}/{quote}/candles */
    API_ROUTE_MARKET_TRADES,  /* GET /api/markets/{base}/{quote}/trades */
};

/* The longest key a route names: a ticker, or a currency pair "base/quote". */
#define API_KEY_MAX TRADE_PAIR_MAX

/* Parses a request path ("/api/tickers", "/api/tickers/ticker_07/history",
 * "/api/tickers/ticker_07/candles", "/api/markets", "/api/markets/bitcoin/tether/candles",
 * "/api/markets/bitcoin/tether/trades"), without the query string. On success *route is set
 * and `key` holds the validated ticker name or currency pair ("bitcoin/tether") of the
 * routes that name one. Returns -1 with err set and *http_status 404 (no such endpoint) or
 * 400 (invalid name). */
int api_route_parse(const char *path, enum api_route *route, char key[API_KEY_MAX + 1], int *http_status,
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

#define CANDLES_DEFAULT_COUNT 1000

/* A candles request: candles_1m rolled up to `interval_s`, for the buckets that overlap
 * [from_us, to_us). */
struct candles_query {
    char name[TICKER_NAME_MAX + 1];
    const char *interval;  /* as given: "1m", "5m", "15m", "1h" or "1d" (a static string) */
    int64_t interval_s;
    int64_t from_us, to_us;
};

/* Parses the arguments of a candles request: interval (default 1m), from and to (RFC
 * 3339). Without `to`: now_us, or CANDLES_DEFAULT_COUNT intervals after `from` if that is
 * earlier; without `from`: that many intervals before `to`.
 * Rejects unknown, repeated or empty parameters, another interval, from >= to, and a
 * range of more than max_candles intervals. */
int candles_query_parse(const char *const *arguments, size_t count, int max_candles, int64_t now_us,
                        struct candles_query *query, struct error *err);

/* A market's trades: the newest `limit` of the range (history_query's from, to and limit;
 * max_points is refused: trades are never downsampled). */
int trades_query_parse(const char *const *arguments, size_t count, int max_limit, struct history_query *query,
                       struct error *err);

/* Rejects any argument: for endpoints that take none. */
int no_arguments_parse(const char *const *arguments, size_t count, struct error *err);

/* The JSON body of an error answer, {"error":"<reason>"} with the reason escaped (and
 * any invalid UTF-8 in it, e.g. a quoted query parameter, replaced by '?').
 * Returns a string the caller frees, or NULL when out of memory. */
char *api_error_body(const char *reason);

/* Whether a browser page from `origin` (the WebSocket handshake's Origin header, e.g.
 * "https://dash.example.com"; NULL or "" when absent) may open a WebSocket to the server
 * reached as `host` (the Host header, e.g. "localhost:5000"). Allowed: no Origin (not a
 * browser: Origin is what browsers send to let servers refuse cross-site pages), the
 * server's own origin (scheme://Host), an origin listed in `allowed` (comma-separated,
 * compared without case and trailing '/'), or any origin when `allowed` lists "*". */
bool origin_allowed(const char *origin, const char *host, const char *allowed);

/* ---- WebSocket client messages (docs/api.md) ---- */

#define CLIENT_TICKERS_MAX 1000 /* names (tickers or pairs) one message may list */
#define CLIENT_NAME_SLOTS 2048  /* a power of two, at least twice CLIENT_TICKERS_MAX */
#define CLIENT_NO_SINCE INT64_MIN
#define CLIENT_BATCH_MIN_MS 10       /* "batch_ms" accepted: 10 ms .. 10 s */
#define CLIENT_BATCH_MAX_MS 10000
#define CLIENT_BATCH_DEFAULT_MS 100  /* "conflate": true without "batch_ms" */

enum client_op {
    CLIENT_SUBSCRIBE,   /* {"op":"subscribe","tickers":[...]|"*"[,"since":T][,"candles":true][,"batch_ms":N]
                         * [,"conflate":true]}  ("ticker":"x" also
                         * accepted; "pairs"/"pair" instead, with "since" an offset) */
    CLIENT_UNSUBSCRIBE, /* {"op":"unsubscribe","tickers":[...]|"*"} (or "pairs") */
    CLIENT_RESUME,      /* {"op":"resume","positions":{"ticker_07":T, "bitcoin/tether":OFFSET, ...}} */
    CLIENT_PING,        /* {"op":"ping"}: answered {"type":"pong"} */
};

/* A ticker or a pair the message names. Positions: a ticker's value's time, a pair's
 * trade's offset in the trades topic (docs/api.md). */
struct client_ticker {
    char name[API_KEY_MAX + 1];
    bool pair;     /* a currency pair "base/quote", not a ticker */
    int64_t since; /* send everything after this position first; CLIENT_NO_SINCE: live only */
};

struct client_message {
    enum client_op op;
    bool pairs;           /* subscribe, unsubscribe: the message names pairs ("pairs", "pair") */
    bool all;             /* "tickers":"*" (or "pairs":"*") */
    bool candles;         /* subscribe: also the live candle of each tick's (trade's) minute */
    int batch_ms;         /* subscribe, resume: > 0: one "ticks" frame per this many ms (batched delivery) */
    bool conflate;        /* ... holding only the newest value of each ticker, with its count */
    int64_t all_since;    /* with `all`: the "since" for every ticker (pair) */
    size_t count;         /* entries of `tickers` (0 with `all`) */
    struct client_ticker tickers[CLIENT_TICKERS_MAX];
    /* The parser's own: `tickers` indexed by name (slot = index + 1, 0 = free), so that
     * merging duplicates stays linear in the message's length. */
    uint16_t name_slots[CLIENT_NAME_SLOTS];
};

/* Parses one WebSocket text message. On failure returns -1 with err set to a reason for
 * the client and *code to the documented error code: "invalid_json", "invalid_message"
 * (not an object, unknown or missing field, wrong type), "unknown_op", "invalid_ticker",
 * "invalid_pair", "invalid_since", "invalid_batch" or "too_many_tickers". Duplicate names are merged. */
int client_message_parse(const char *text, size_t length, struct client_message *message, const char **code,
                         struct error *err);

#endif
