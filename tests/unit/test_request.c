#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "request.h"

static void expect_route_error(const char *path, int status, const char *reason)
{
    enum api_route route;
    char name[API_KEY_MAX + 1];
    int got_status = 0;
    struct error err = {0};
    assert_int_equal(api_route_parse(path, &route, name, &got_status, &err), -1);
    assert_int_equal(got_status, status);
    if (strstr(err.message, reason) == NULL)
        fail_msg("%s: expected '%s', got '%s'", path, reason, err.message);
}

static void routes_known_paths(void **unused)
{
    enum api_route route;
    char name[API_KEY_MAX + 1];
    int status;
    assert_int_equal(api_route_parse("/api/tickers", &route, name, &status, NULL), 0);
    assert_int_equal(route, API_ROUTE_TICKERS);
    assert_int_equal(api_route_parse("/api/tickers/ticker_07/history", &route, name, &status, NULL), 0);
    assert_int_equal(route, API_ROUTE_HISTORY);
    assert_string_equal(name, "ticker_07");
    assert_int_equal(api_route_parse("/api/tickers/t9/candles", &route, name, &status, NULL), 0);
    assert_int_equal(route, API_ROUTE_CANDLES);
    assert_string_equal(name, "t9");
    assert_int_equal(api_route_parse("/api/markets", &route, name, &status, NULL), 0);
    assert_int_equal(route, API_ROUTE_MARKETS);
    assert_int_equal(api_route_parse("/api/markets/bitcoin/tether/candles", &route, name, &status, NULL), 0);
    assert_int_equal(route, API_ROUTE_MARKET_CANDLES);
    assert_string_equal(name, "bitcoin/tether");
    assert_int_equal(api_route_parse("/api/markets/binance-coin/usd-coin/trades", &route, name, &status, NULL), 0);
    assert_int_equal(route, API_ROUTE_MARKET_TRADES);
    assert_string_equal(name, "binance-coin/usd-coin");
}

static void rejects_unknown_market_paths_and_bad_pairs(void **unused)
{
    expect_route_error("/api/marketsX", 404, "no such endpoint");
    expect_route_error("/api/markets/", 404, "no such endpoint");
    expect_route_error("/api/markets/bitcoin/candles", 404, "no such endpoint");
    expect_route_error("/api/markets/bitcoin/tether", 404, "no such endpoint");
    expect_route_error("/api/markets/bitcoin/tether/history", 404, "no such endpoint");
    expect_route_error("/api/markets/a/b/c/candles", 404, "no such endpoint");
    expect_route_error("/api/markets/BTC/tether/candles", 400, "invalid currency pair");
    expect_route_error("/api/markets//tether/trades", 400, "invalid currency pair");
    expect_route_error("/api/markets/bitcoin/te%20ther/trades", 400, "invalid currency pair");
}

static void trades_are_never_downsampled(void **unused)
{
    struct history_query query;
    struct error err = {0};
    const char *ok[] = {"from=2026-01-01T00:00:00Z", "limit=5"};
    assert_int_equal(trades_query_parse(ok, 2, 100, &query, &err), 0);
    assert_int_equal(query.limit, 5);
    const char *bad[] = {"max_points=10"};
    assert_int_equal(trades_query_parse(bad, 1, 100, &query, &err), -1);
    assert_non_null(strstr(err.message, "not downsampled"));
}

static void rejects_unknown_paths_and_bad_names(void **unused)
{
    expect_route_error("/api", 404, "no such endpoint");
    expect_route_error("/api/", 404, "no such endpoint");
    expect_route_error("/api/tickersX", 404, "no such endpoint");
    expect_route_error("/api/tickers/", 404, "no such endpoint");
    expect_route_error("/api/tickers/ticker_07", 404, "no such endpoint");
    expect_route_error("/api/tickers/ticker_07/", 404, "no such endpoint");
    expect_route_error("/api/tickers/ticker_07/historyX", 404, "no such endpoint");
    expect_route_error("/api/tickers/ticker_07/history/x", 404, "no such endpoint");
    expect_route_error("/api/tickers/ticker_07/candle", 404, "no such endpoint");
    expect_route_error("/api/tickers/ticker-07/candles", 400, "invalid ticker");
    expect_route_error("/api/tickers//history", 400, "invalid ticker: name is empty");
    expect_route_error("/api/tickers/ticker-07/history", 400, "invalid ticker: name has a character outside");
    expect_route_error("/api/tickers/ticker_0000007/history", 400, "14 bytes long");
}

static int parse(const char *const *arguments, size_t count, struct history_query *query, struct error *err)
{
    return history_query_parse(arguments, count, 10000, query, err);
}

static void history_defaults_and_values(void **unused)
{
    struct history_query query;
    assert_int_equal(parse(NULL, 0, &query, NULL), 0);
    assert_int_equal(query.limit, HISTORY_DEFAULT_LIMIT);
    assert_true(query.from_us == INT64_MIN);
    assert_true(query.to_us == INT64_MAX);

    const char *const arguments[] = {"from=2026-11-23T12:00:00Z", "to=2026-11-23T13:00:00.5+01:00", "limit=10000"};
    assert_int_equal(parse(arguments, 3, &query, NULL), 0);
    assert_int_equal(query.from_us, 1795435200000000LL);
    assert_int_equal(query.to_us, 1795435200500000LL);
    assert_int_equal(query.limit, 10000);

    assert_int_equal(query.max_points, 0);

    const char *const downsampled[] = {"max_points=200", "from=2026-11-23T12:00:00Z"};
    assert_int_equal(parse(downsampled, 2, &query, NULL), 0);
    assert_int_equal(query.max_points, 200);
    assert_int_equal(query.from_us, 1795435200000000LL);

    assert_int_equal(history_query_parse(NULL, 0, 50, &query, NULL), 0);
    assert_int_equal(query.limit, 50); /* the default never exceeds the configured maximum */
}

static void expect_history_error(const char *const *arguments, size_t count, const char *reason)
{
    struct history_query query;
    struct error err = {0};
    assert_int_equal(parse(arguments, count, &query, &err), -1);
    if (strstr(err.message, reason) == NULL)
        fail_msg("expected '%s', got '%s'", reason, err.message);
}

#define HISTORY_ERROR(reason, ...)                                                                   \
    do {                                                                                             \
        const char *const arguments[] = {__VA_ARGS__};                                               \
        expect_history_error(arguments, sizeof arguments / sizeof arguments[0], reason);             \
    } while (0)

static void history_rejects_every_bad_parameter(void **unused)
{
    HISTORY_ERROR("parameter 'limit': must be an integer from 1 to 10000", "limit=0");
    HISTORY_ERROR("parameter 'limit': must be an integer from 1 to 10000", "limit=10001");
    HISTORY_ERROR("parameter 'limit': must be an integer", "limit=ten");
    HISTORY_ERROR("parameter 'limit': must be an integer", "limit=5x");
    HISTORY_ERROR("parameter 'limit': must be an integer", "limit=-5");
    HISTORY_ERROR("parameter 'from': time is not RFC 3339", "from=yesterday");
    HISTORY_ERROR("parameter 'to': time lacks a time zone", "to=2026-11-23T12:00:00");
    HISTORY_ERROR("parameter 'from' is after 'to'", "from=2026-11-23T12:00:01Z", "to=2026-11-23T12:00:00Z");
    HISTORY_ERROR("parameter 'limit' given twice", "limit=1", "limit=2");
    HISTORY_ERROR("unknown parameter 'max' (expected from, to, limit or max_points)", "max=3");
    HISTORY_ERROR("parameter 'max_points': must be an integer from 1 to 10000", "max_points=0");
    HISTORY_ERROR("parameter 'max_points': must be an integer", "max_points=lots");
    HISTORY_ERROR("give either 'limit' (raw points) or 'max_points' (downsampled), not both", "limit=5",
                  "max_points=5");
    HISTORY_ERROR("parameter 'limit' has no value", "limit");
    HISTORY_ERROR("parameter 'from=' has no value", "from=");
}

static void endpoints_without_parameters_reject_any(void **unused)
{
    const char *const arguments[] = {"x=1"};
    struct error err;
    assert_int_equal(no_arguments_parse(NULL, 0, &err), 0);
    assert_int_equal(no_arguments_parse(arguments, 1, &err), -1);
    assert_string_equal(err.message, "unknown parameter 'x' (this endpoint takes none)");
}

/* The messages are big (CLIENT_TICKERS_MAX names): one, off the stack. */
static struct client_message message;

static void expect_client_error(const char *text, const char *code, const char *reason)
{
    struct error err = {0};
    const char *got_code = NULL;
    assert_int_equal(client_message_parse(text, strlen(text), &message, &got_code, &err), -1);
    if (got_code == NULL || strcmp(got_code, code) != 0)
        fail_msg("%s: expected code '%s', got '%s'", text, code, got_code ? got_code : "(none)");
    if (strstr(err.message, reason) == NULL)
        fail_msg("%s: expected '%s', got '%s'", text, reason, err.message);
}

static void parse_ok(const char *text)
{
    struct error err = {0};
    const char *code = NULL;
    if (client_message_parse(text, strlen(text), &message, &code, &err) != 0)
        fail_msg("%s: rejected (%s): %s", text, code, err.message);
}

static void client_messages(void **unused)
{
    parse_ok("{\"op\":\"subscribe\",\"ticker\":\"ticker_07\"}");
    assert_int_equal(message.op, CLIENT_SUBSCRIBE);
    assert_int_equal(message.count, 1);
    assert_false(message.all);
    assert_string_equal(message.tickers[0].name, "ticker_07");
    assert_true(message.tickers[0].since == CLIENT_NO_SINCE);
    assert_false(message.candles);
    parse_ok("{\"op\":\"subscribe\",\"ticker\":\"ticker_07\",\"candles\":true}");
    assert_true(message.candles);
    parse_ok("{\"op\":\"subscribe\",\"tickers\":\"*\",\"candles\":false}");
    assert_false(message.candles);

    parse_ok("{\"tickers\":[\"a\",\"b\",\"a\"],\"op\":\"subscribe\",\"since\":\"2026-11-23T12:00:00.000001Z\"}");
    assert_int_equal(message.count, 2); /* duplicates merged */
    assert_string_equal(message.tickers[1].name, "b");
    assert_true(message.tickers[1].since == 1795435200000001LL);

    parse_ok("{\"op\":\"subscribe\",\"tickers\":\"*\"}");
    assert_true(message.all);
    assert_int_equal(message.count, 0);
    assert_true(message.all_since == CLIENT_NO_SINCE);

    parse_ok("{\"ticker\":\"t\",\"op\":\"unsubscribe\"}");
    assert_int_equal(message.op, CLIENT_UNSUBSCRIBE);
    parse_ok("{\"op\":\"unsubscribe\",\"tickers\":\"*\"}");
    assert_true(message.all);

    parse_ok("{\"op\":\"resume\",\"positions\":{\"a\":\"2026-11-23T12:00:00Z\",\"b\":\"2026-11-23T12:00:01Z\"}}");
    assert_int_equal(message.op, CLIENT_RESUME);
    assert_int_equal(message.count, 2);
    assert_true(message.tickers[1].since - message.tickers[0].since == 1000000);

    parse_ok("{\"op\":\"ping\"}");
    assert_int_equal(message.op, CLIENT_PING);
}

/* Batched delivery: "batch_ms" (10..10000) and "conflate", on subscribe and resume. */
static void client_messages_with_batching(void **unused)
{
    parse_ok("{\"op\":\"subscribe\",\"tickers\":\"*\"}");
    assert_int_equal(message.batch_ms, 0);
    assert_false(message.conflate);
    parse_ok("{\"op\":\"subscribe\",\"tickers\":\"*\",\"batch_ms\":100}");
    assert_int_equal(message.batch_ms, 100);
    assert_false(message.conflate);
    parse_ok("{\"op\":\"subscribe\",\"tickers\":\"*\",\"conflate\":true}");
    assert_int_equal(message.batch_ms, CLIENT_BATCH_DEFAULT_MS); /* conflation needs an interval */
    assert_true(message.conflate);
    parse_ok("{\"op\":\"subscribe\",\"pairs\":\"*\",\"conflate\":false,\"batch_ms\":10000}");
    assert_int_equal(message.batch_ms, 10000);
    assert_false(message.conflate);
    parse_ok("{\"op\":\"resume\",\"positions\":{\"a\":\"2026-11-23T12:00:00Z\"},\"batch_ms\":10,\"conflate\":true}");
    assert_int_equal(message.batch_ms, 10);
    assert_true(message.conflate);
    parse_ok("{\"op\":\"subscribe\",\"ticker\":\"a\"}"); /* nothing carried over from the message before */
    assert_int_equal(message.batch_ms, 0);
    assert_false(message.conflate);

    expect_client_error("{\"op\":\"subscribe\",\"ticker\":\"a\",\"batch_ms\":9}", "invalid_batch", "from 10 to 10000");
    expect_client_error("{\"op\":\"subscribe\",\"ticker\":\"a\",\"batch_ms\":10001}", "invalid_batch", "integer");
    expect_client_error("{\"op\":\"subscribe\",\"ticker\":\"a\",\"batch_ms\":1.5}", "invalid_batch", "integer");
    expect_client_error("{\"op\":\"subscribe\",\"ticker\":\"a\",\"batch_ms\":\"100\"}", "invalid_batch", "integer");
    expect_client_error("{\"op\":\"subscribe\",\"ticker\":\"a\",\"conflate\":1}", "invalid_message",
                        "'conflate' must be true or false");
    expect_client_error("{\"op\":\"unsubscribe\",\"ticker\":\"a\",\"batch_ms\":100}", "invalid_message",
                        "unknown field 'batch_ms'");
    expect_client_error("{\"op\":\"ping\",\"conflate\":true}", "invalid_message", "unknown field 'conflate'");
}

/* Currency pairs: named "base/quote", placed by their trades' offsets. */
static void client_messages_for_pairs(void **unused)
{
    parse_ok("{\"op\":\"subscribe\",\"pair\":\"bitcoin/tether\"}");
    assert_true(message.pairs);
    assert_int_equal(message.count, 1);
    assert_true(message.tickers[0].pair);
    assert_string_equal(message.tickers[0].name, "bitcoin/tether");
    assert_true(message.tickers[0].since == CLIENT_NO_SINCE);

    parse_ok("{\"op\":\"subscribe\",\"pairs\":[\"bitcoin/tether\",\"ethereum/tether\",\"bitcoin/tether\"],"
             "\"since\":81234,\"candles\":true}");
    assert_int_equal(message.count, 2);
    assert_true(message.candles);
    assert_true(message.tickers[1].since == 81234);

    parse_ok("{\"op\":\"subscribe\",\"pairs\":\"*\",\"since\":0}");
    assert_true(message.all);
    assert_true(message.pairs);
    assert_true(message.all_since == 0);

    parse_ok("{\"op\":\"subscribe\",\"tickers\":\"*\"}");
    assert_false(message.pairs); /* a later message does not inherit it */

    parse_ok("{\"op\":\"unsubscribe\",\"pairs\":\"*\"}");
    assert_true(message.all && message.pairs);

    /* A resume names both: the key says which ('/' only in pairs), the position's type follows. */
    parse_ok("{\"op\":\"resume\",\"positions\":{\"ticker_07\":\"2026-11-23T12:00:00Z\",\"xrp/tether\":7}}");
    assert_int_equal(message.count, 2);
    assert_false(message.tickers[0].pair);
    assert_true(message.tickers[1].pair);
    assert_true(message.tickers[1].since == 7);

    expect_client_error("{\"op\":\"subscribe\",\"pair\":\"bitcoin\"}", "invalid_pair", "not a currency pair");
    expect_client_error("{\"op\":\"subscribe\",\"pair\":\"Bitcoin/tether\"}", "invalid_pair", "invalid currency pair");
    expect_client_error("{\"op\":\"subscribe\",\"pair\":\"bitcoin/\"}", "invalid_pair", "invalid currency pair");
    expect_client_error("{\"op\":\"subscribe\",\"pairs\":[7]}", "invalid_pair", "must be strings");
    expect_client_error("{\"op\":\"subscribe\",\"pair\":\"a/b\",\"ticker\":\"t\"}", "invalid_message",
                        "give either 'tickers'");
    expect_client_error("{\"op\":\"subscribe\",\"pair\":\"a/b\",\"since\":\"2026-11-23T12:00:00Z\"}",
                        "invalid_since", "offset");
    expect_client_error("{\"op\":\"subscribe\",\"pair\":\"a/b\",\"since\":-1}", "invalid_since", "offset");
    expect_client_error("{\"op\":\"subscribe\",\"pair\":\"a/b\",\"since\":1.5}", "invalid_since", "offset");
    expect_client_error("{\"op\":\"resume\",\"positions\":{\"a/b\":\"2026-11-23T12:00:00Z\"}}", "invalid_since",
                        "position of 'a/b'");
    expect_client_error("{\"op\":\"resume\",\"positions\":{\"a/b/c\":3}}", "invalid_pair", "invalid currency pair");
}

static void client_message_errors(void **unused)
{
    expect_client_error("", "invalid_json", "invalid JSON");
    expect_client_error("hello", "invalid_json", "invalid JSON");
    expect_client_error("{\"op\":\"subscribe\",\"op\":\"subscribe\",\"ticker\":\"t\"}", "invalid_json", "invalid JSON");
    expect_client_error("[\"subscribe\"]", "invalid_message", "must be a JSON object");
    expect_client_error("\"subscribe\"", "invalid_message", "must be a JSON object");
    expect_client_error("{\"ticker\":\"t\"}", "invalid_message", "field 'op' must be a string");
    expect_client_error("{\"op\":1,\"ticker\":\"t\"}", "invalid_message", "field 'op' must be a string");
    expect_client_error("{\"op\":\"dance\",\"ticker\":\"t\"}", "unknown_op", "unknown op 'dance'");
    expect_client_error("{\"op\":\"subscribe\"}", "invalid_message", "give either 'tickers'");
    expect_client_error("{\"op\":\"subscribe\",\"ticker\":\"a\",\"tickers\":[\"b\"]}", "invalid_message",
                        "give either 'tickers'");
    expect_client_error("{\"op\":\"subscribe\",\"tickers\":[]}", "invalid_message", "non-empty list");
    expect_client_error("{\"op\":\"subscribe\",\"tickers\":\"all\"}", "invalid_message", "non-empty list");
    expect_client_error("{\"op\":\"subscribe\",\"ticker\":[\"t\"]}", "invalid_ticker", "must be strings");
    expect_client_error("{\"op\":\"subscribe\",\"tickers\":[\"a\",3]}", "invalid_ticker", "must be strings");
    expect_client_error("{\"op\":\"subscribe\",\"ticker\":\"\"}", "invalid_ticker", "invalid ticker: name is empty");
    expect_client_error("{\"op\":\"subscribe\",\"ticker\":\"a b\"}", "invalid_ticker", "invalid ticker");
    expect_client_error("{\"op\":\"subscribe\",\"ticker\":\"t\",\"x\":1}", "invalid_message", "unknown field 'x'");
    expect_client_error("{\"op\":\"unsubscribe\",\"ticker\":\"t\",\"since\":\"2026-11-23T12:00:00Z\"}",
                        "invalid_message", "unknown field 'since'");
    expect_client_error("{\"op\":\"subscribe\",\"ticker\":\"t\",\"candles\":1}", "invalid_message",
                        "field 'candles' must be true or false");
    expect_client_error("{\"op\":\"unsubscribe\",\"ticker\":\"t\",\"candles\":true}", "invalid_message",
                        "unknown field 'candles'");
    expect_client_error("{\"op\":\"subscribe\",\"ticker\":\"t\",\"since\":\"yesterday\"}", "invalid_since",
                        "'since'");
    expect_client_error("{\"op\":\"subscribe\",\"ticker\":\"t\",\"since\":12}", "invalid_since", "RFC 3339");
    expect_client_error("{\"op\":\"resume\"}", "invalid_message", "'positions' must be a non-empty object");
    expect_client_error("{\"op\":\"resume\",\"positions\":{}}", "invalid_message", "non-empty object");
    expect_client_error("{\"op\":\"resume\",\"positions\":{\"a\":\"nope\"}}", "invalid_since", "position of 'a'");
    expect_client_error("{\"op\":\"resume\",\"positions\":{\"a b\":\"2026-11-23T12:00:00Z\"}}", "invalid_ticker",
                        "invalid ticker");
    expect_client_error("{\"op\":\"ping\",\"ticker\":\"t\"}", "invalid_message", "unknown field 'ticker'");

    /* One more name than a message may hold. */
    size_t size = 64 + (CLIENT_TICKERS_MAX + 1) * 12;
    char *text = malloc(size);
    size_t length = (size_t)snprintf(text, size, "{\"op\":\"subscribe\",\"tickers\":[");
    for (int i = 0; i <= CLIENT_TICKERS_MAX; i++)
        length += (size_t)snprintf(text + length, size - length, "%s\"t%d\"", i ? "," : "", i);
    snprintf(text + length, size - length, "]}");
    expect_client_error(text, "too_many_tickers", "more than 1000 tickers");
    free(text);
}

#define MINUTE_US 60000000LL
#define NOW_US 1800000000000000LL /* 2027-01-15T08:00:00Z, a whole day */

static void candles_defaults_and_values(void **unused)
{
    struct candles_query query;
    assert_int_equal(candles_query_parse(NULL, 0, 10000, NOW_US, &query, NULL), 0);
    assert_string_equal(query.interval, "1m");
    assert_int_equal(query.interval_s, 60);
    assert_int_equal(query.to_us, NOW_US);
    assert_int_equal(query.from_us, NOW_US - CANDLES_DEFAULT_COUNT * MINUTE_US);

    const char *const hours[] = {"interval=1h", "from=2027-01-14T00:00:00Z", "to=2027-01-15T00:00:00Z"};
    assert_int_equal(candles_query_parse(hours, 3, 10000, NOW_US, &query, NULL), 0);
    assert_string_equal(query.interval, "1h");
    assert_int_equal(query.interval_s, 3600);
    assert_int_equal(query.to_us - query.from_us, 24 * 60 * MINUTE_US);

    /* Only `from`: a default count of intervals after it, or up to now if sooner. */
    const char *const old[] = {"interval=5m", "from=2020-01-01T00:00:00Z"};
    assert_int_equal(candles_query_parse(old, 2, 10000, NOW_US, &query, NULL), 0);
    assert_int_equal(query.to_us - query.from_us, CANDLES_DEFAULT_COUNT * 5 * MINUTE_US);
    const char *const recent[] = {"from=2027-01-15T07:00:00Z"};
    assert_int_equal(candles_query_parse(recent, 1, 10000, NOW_US, &query, NULL), 0);
    assert_int_equal(query.to_us, NOW_US);

    /* Exactly max_candles whole buckets is fine; a microsecond more spans one more. */
    const char *const full[] = {"interval=1d", "from=2027-01-01T00:00:00Z", "to=2027-01-11T00:00:00Z"};
    assert_int_equal(candles_query_parse(full, 3, 10, NOW_US, &query, NULL), 0);
    const char *const over[] = {"interval=1d", "from=2027-01-01T00:00:00Z", "to=2027-01-11T00:00:00.000001Z"};
    struct error err;
    assert_int_equal(candles_query_parse(over, 3, 10, NOW_US, &query, &err), -1);
    assert_string_equal(err.message, "the range spans 11 1d candles; at most 10: narrow it or take a larger interval");
}

static void expect_candles_error(const char *const *arguments, size_t count, const char *reason)
{
    struct candles_query query;
    struct error err = {0};
    assert_int_equal(candles_query_parse(arguments, count, 10000, NOW_US, &query, &err), -1);
    if (strstr(err.message, reason) == NULL)
        fail_msg("expected '%s', got '%s'", reason, err.message);
}

#define CANDLES_ERROR(reason, ...)                                                                   \
    do {                                                                                             \
        const char *const arguments[] = {__VA_ARGS__};                                               \
        expect_candles_error(arguments, sizeof arguments / sizeof arguments[0], reason);             \
    } while (0)

static void candles_reject_every_bad_parameter(void **unused)
{
    CANDLES_ERROR("parameter 'interval': must be one of 1m, 5m, 15m, 1h, 1d", "interval=2m");
    CANDLES_ERROR("parameter 'interval': must be one of", "interval=1M");
    CANDLES_ERROR("parameter 'interval' given twice", "interval=1m", "interval=5m");
    CANDLES_ERROR("parameter 'interval=' has no value", "interval=");
    CANDLES_ERROR("parameter 'from'", "from=yesterday");
    CANDLES_ERROR("unknown parameter 'limit' (expected interval, from or to)", "limit=5");
    CANDLES_ERROR("'from' is not before 'to'", "from=2027-01-01T00:00:00Z", "to=2027-01-01T00:00:00Z");
    CANDLES_ERROR("the range spans 20161 1m candles", "from=2027-01-01T00:00:00Z", "to=2027-01-15T00:00:30Z");
}

static void error_bodies_are_escaped_json(void **unused)
{
    char *body = api_error_body("bad \"quote\" and \\ slash");
    assert_string_equal(body, "{\"error\":\"bad \\\"quote\\\" and \\\\ slash\"}");
    free(body);
}

static void origin_same_site_and_non_browsers_are_allowed(void **state)
{
    assert_true(origin_allowed(NULL, "localhost:5000", ""));
    assert_true(origin_allowed("", "localhost:5000", ""));
    assert_true(origin_allowed("http://localhost:5000", "localhost:5000", ""));
    assert_true(origin_allowed("HTTP://LocalHost:5000/", "localhost:5000", ""));
    assert_true(origin_allowed("https://dash.example.com", "dash.example.com", NULL));
}

static void origin_other_sites_need_the_allow_list(void **state)
{
    assert_false(origin_allowed("http://evil.example", "localhost:5000", ""));
    assert_false(origin_allowed("http://localhost:5001", "localhost:5000", ""));
    assert_false(origin_allowed("null", "localhost:5000", ""));
    assert_false(origin_allowed("http://localhost:5000.evil.example", "localhost:5000", ""));
    assert_false(origin_allowed("http://evil.example", "", ""));
    const char *allowed = "https://dash.example.com, http://localhost:3000/";
    assert_true(origin_allowed("https://dash.example.com", "localhost:5000", allowed));
    assert_true(origin_allowed("http://localhost:3000", "localhost:5000", allowed));
    assert_true(origin_allowed("https://DASH.example.com/", "localhost:5000", allowed));
    assert_false(origin_allowed("https://dash.example.co", "localhost:5000", allowed));
    assert_false(origin_allowed("https://dash.example.com.evil", "localhost:5000", allowed));
    assert_false(origin_allowed("http://evil.example", "localhost:5000", ",,"));
    assert_true(origin_allowed("http://anything.example", "localhost:5000", "*"));
    assert_true(origin_allowed("http://anything.example", "localhost:5000", "https://a.example,*"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(routes_known_paths),
        cmocka_unit_test(rejects_unknown_market_paths_and_bad_pairs),
        cmocka_unit_test(trades_are_never_downsampled),
        cmocka_unit_test(rejects_unknown_paths_and_bad_names),
        cmocka_unit_test(history_defaults_and_values),
        cmocka_unit_test(history_rejects_every_bad_parameter),
        cmocka_unit_test(endpoints_without_parameters_reject_any),
        cmocka_unit_test(client_messages),
        cmocka_unit_test(client_messages_for_pairs),
        cmocka_unit_test(client_messages_with_batching),
        cmocka_unit_test(client_message_errors),
        cmocka_unit_test(candles_defaults_and_values),
        cmocka_unit_test(candles_reject_every_bad_parameter),
        cmocka_unit_test(error_bodies_are_escaped_json),
        cmocka_unit_test(origin_same_site_and_non_browsers_are_allowed),
        cmocka_unit_test(origin_other_sites_need_the_allow_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
