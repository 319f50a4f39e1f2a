#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ticker.h"

static void expect_rejected(const char *json, size_t length, const char *reason)
{
    struct ticker ticker;
    struct error err = {0};
    assert_int_equal(ticker_decode(json, length, &ticker, &err), -1);
    if (strstr(err.message, reason) == NULL)
        fail_msg("%.*s: expected error containing '%s', got '%s'", (int)length, json, reason, err.message);
}

#define REJECT(json, reason) expect_rejected(json, sizeof(json) - 1, reason)

static void decodes_the_documented_message(void **unused)
{
    const char json[] = "{\"name\": \"ticker_07\", \"value\": -3, \"time\": \"2026-11-23T12:34:56.789012Z\"}";
    struct ticker ticker;
    struct error err;
    assert_int_equal(ticker_decode(json, sizeof json - 1, &ticker, &err), 0);
    assert_string_equal(ticker.name, "ticker_07");
    assert_int_equal(ticker.value, -3);
    assert_int_equal(ticker.time_us, 1795437296789012LL);
}

static void encodes_compact_json_in_field_order(void **unused)
{
    struct ticker ticker = {.name = "ticker_07", .value = -3, .time_us = 1795437296789012LL};
    char json[TICKER_JSON_MAX];
    struct error err;
    int length = ticker_encode(&ticker, json, sizeof json, &err);
    assert_string_equal(json, "{\"name\":\"ticker_07\",\"value\":-3,\"time\":\"2026-11-23T12:34:56.789012Z\"}");
    assert_int_equal(length, (int)strlen(json));
}

static void round_trips_extremes(void **unused)
{
    struct ticker extremes[] = {
        {.name = "A", .value = INT32_MIN, .time_us = 0},
        {.name = "abcdefghij", .value = INT32_MAX, .time_us = 253402300799999999LL},
        {.name = "x_9", .value = 0, .time_us = -62135596800000000LL},
    };
    for (size_t i = 0; i < sizeof extremes / sizeof extremes[0]; i++) {
        char json[TICKER_JSON_MAX];
        struct ticker decoded;
        int length = ticker_encode(&extremes[i], json, sizeof json, NULL);
        assert_true(length > 0);
        assert_int_equal(ticker_decode(json, (size_t)length, &decoded, NULL), 0);
        assert_string_equal(decoded.name, extremes[i].name);
        assert_int_equal(decoded.value, extremes[i].value);
        assert_int_equal(decoded.time_us, extremes[i].time_us);
    }
}

static void encode_refuses_invalid_tickers(void **unused)
{
    char json[TICKER_JSON_MAX];
    struct error err;
    struct ticker empty = {.name = "", .value = 1, .time_us = 0};
    assert_int_equal(ticker_encode(&empty, json, sizeof json, &err), -1);
    assert_non_null(strstr(err.message, "name is empty"));
    struct ticker bad = {.name = "a-b", .value = 1, .time_us = 0};
    assert_int_equal(ticker_encode(&bad, json, sizeof json, &err), -1);
    struct ticker small = {.name = "ticker_07", .value = 1, .time_us = 0};
    assert_int_equal(ticker_encode(&small, json, 20, &err), -1);
    assert_non_null(strstr(err.message, "does not fit"));
}

static void rejects_invalid_json(void **unused)
{
    expect_rejected("", 0, "empty message");
    REJECT("{", "invalid JSON");
    REJECT("{\"name\":\"a\",}", "invalid JSON");
    REJECT("not json", "invalid JSON");
    REJECT("{\"name\":\"a\",\"value\":1,\"time\":\"2026-11-23T12:34:56Z\"} trailing", "invalid JSON");
    REJECT("{\"name\":\"\xff\",\"value\":1,\"time\":\"2026-11-23T12:34:56Z\"}", "invalid JSON"); /* invalid UTF-8 */
    REJECT("{\"name\":\"a\\u0000b\",\"value\":1,\"time\":\"2026-11-23T12:34:56Z\"}", "invalid JSON"); /* NUL */
    REJECT("{\"name\":\"a\",\"name\":\"b\",\"value\":1,\"time\":\"2026-11-23T12:34:56Z\"}", "invalid JSON"); /* dup */
}

static void rejects_wrong_shapes_and_fields(void **unused)
{
    REJECT("[1,2]", "must be a JSON object");
    REJECT("42", "must be a JSON object");
    REJECT("null", "must be a JSON object");
    REJECT("{\"value\":1,\"time\":\"2026-11-23T12:34:56Z\"}", "missing field 'name'");
    REJECT("{\"name\":\"a\",\"time\":\"2026-11-23T12:34:56Z\"}", "missing field 'value'");
    REJECT("{\"name\":\"a\",\"value\":1}", "missing field 'time'");
    REJECT("{\"name\":\"a\",\"value\":1,\"time\":\"2026-11-23T12:34:56Z\",\"extra\":1}", "unknown field 'extra'");
    REJECT("{\"name\":7,\"value\":1,\"time\":\"2026-11-23T12:34:56Z\"}", "'name' must be a string");
    REJECT("{\"name\":null,\"value\":1,\"time\":\"2026-11-23T12:34:56Z\"}", "'name' must be a string");
    REJECT("{\"name\":\"a\",\"value\":\"1\",\"time\":\"2026-11-23T12:34:56Z\"}", "'value' must be an integer");
    REJECT("{\"name\":\"a\",\"value\":1.5,\"time\":\"2026-11-23T12:34:56Z\"}", "'value' must be an integer");
    REJECT("{\"name\":\"a\",\"value\":true,\"time\":\"2026-11-23T12:34:56Z\"}", "'value' must be an integer");
    REJECT("{\"name\":\"a\",\"value\":1,\"time\":1795437296}", "'time' must be a string");
}

static void rejects_bad_names(void **unused)
{
    REJECT("{\"name\":\"\",\"value\":1,\"time\":\"2026-11-23T12:34:56Z\"}", "name is empty");
    REJECT("{\"name\":\"abcdefghijk\",\"value\":1,\"time\":\"2026-11-23T12:34:56Z\"}", "11 bytes long, the limit is 10");
    REJECT("{\"name\":\"tick-er\",\"value\":1,\"time\":\"2026-11-23T12:34:56Z\"}", "outside [A-Za-z0-9_] at byte 4");
    REJECT("{\"name\":\"tick er\",\"value\":1,\"time\":\"2026-11-23T12:34:56Z\"}", "outside [A-Za-z0-9_]");
    REJECT("{\"name\":\"t\xc3\xa9\",\"value\":1,\"time\":\"2026-11-23T12:34:56Z\"}", "outside [A-Za-z0-9_]");
}

static void rejects_values_outside_int32(void **unused)
{
    REJECT("{\"name\":\"a\",\"value\":2147483648,\"time\":\"2026-11-23T12:34:56Z\"}", "outside the 32-bit range");
    REJECT("{\"name\":\"a\",\"value\":-2147483649,\"time\":\"2026-11-23T12:34:56Z\"}", "outside the 32-bit range");
    REJECT("{\"name\":\"a\",\"value\":99999999999999999999,\"time\":\"2026-11-23T12:34:56Z\"}", "");
    struct ticker ticker;
    const char edge[] = "{\"name\":\"a\",\"value\":-2147483648,\"time\":\"2026-11-23T12:34:56Z\"}";
    assert_int_equal(ticker_decode(edge, sizeof edge - 1, &ticker, NULL), 0);
    assert_int_equal(ticker.value, INT32_MIN);
}

static void rejects_unparsable_times(void **unused)
{
    REJECT("{\"name\":\"a\",\"value\":1,\"time\":\"yesterday\"}", "field 'time': time is not RFC 3339");
    REJECT("{\"name\":\"a\",\"value\":1,\"time\":\"2026-11-23T12:34:56\"}", "lacks a time zone");
    REJECT("{\"name\":\"a\",\"value\":1,\"time\":\"2026-02-30T12:34:56Z\"}", "invalid date");
}

/* What ticker_decode_json makes of json, which ticker_decode must also give. */
static void expect_same_as_json_reader(const char *json, size_t length)
{
    struct ticker by_json, by_decode;
    struct error json_err = {0}, decode_err = {0};
    int json_result = ticker_decode_json(json, length, &by_json, &json_err);
    assert_int_equal(ticker_decode(json, length, &by_decode, &decode_err), json_result);
    if (json_result < 0) {
        assert_string_equal(decode_err.message, json_err.message);
        return;
    }
    assert_string_equal(by_decode.name, by_json.name);
    assert_int_equal(by_decode.value, by_json.value);
    assert_int_equal(by_decode.time_us, by_json.time_us);
}

static void reads_the_compact_form_without_a_json_parser(void **unused)
{
    const char *const compact[] = {
        "{\"name\":\"ticker_07\",\"value\":-3,\"time\":\"2026-11-23T12:34:56.789012Z\"}",
        "{\"name\":\"A\",\"value\":-2147483648,\"time\":\"0001-01-01T00:00:00Z\"}",
        "{\"name\":\"abcdefghij\",\"value\":2147483647,\"time\":\"9999-12-31T23:59:59.999999Z\"}",
        "{\"name\":\"x_9\",\"value\":0,\"time\":\"2026-11-23t12:34:56+02:00\"}",
        "{\"name\":\"x\",\"value\":-0,\"time\":\"2026-11-23 12:34:56.1z\"}",
    };
    for (size_t i = 0; i < sizeof compact / sizeof compact[0]; i++) {
        struct ticker fast, reference;
        assert_int_equal(ticker_decode_compact(compact[i], strlen(compact[i]), &fast), 1);
        assert_int_equal(ticker_decode_json(compact[i], strlen(compact[i]), &reference, NULL), 0);
        assert_string_equal(fast.name, reference.name);
        assert_int_equal(fast.value, reference.value);
        assert_int_equal(fast.time_us, reference.time_us);
    }
}

static void leaves_every_other_form_to_the_json_reader(void **unused)
{
    const char *const others[] = {
        "{\"name\": \"ticker_07\", \"value\": -3, \"time\": \"2026-11-23T12:34:56.789012Z\"}", /* spaces */
        "{\"value\":1,\"name\":\"a\",\"time\":\"2026-11-23T12:34:56Z\"}",                       /* key order */
        "{\"name\":\"ticker\\u005f7\",\"value\":1,\"time\":\"2026-11-23T12:34:56Z\"}",          /* an escape */
        "{\"name\":\"a\",\"value\":1,\"time\":\"2026-11-23T12:34:56\\u005a\"}",
        "{\"name\":\"a\",\"value\":01,\"time\":\"2026-11-23T12:34:56Z\"}", /* not JSON */
        "{\"name\":\"a\",\"value\":1.0,\"time\":\"2026-11-23T12:34:56Z\"}",
        "{\"name\":\"a\",\"value\":1e2,\"time\":\"2026-11-23T12:34:56Z\"}",
        "{\"name\":\"a\",\"value\":-,\"time\":\"2026-11-23T12:34:56Z\"}",
        "{\"name\":\"a\",\"value\":2147483648,\"time\":\"2026-11-23T12:34:56Z\"}",
        "{\"name\":\"a\",\"value\":-2147483649,\"time\":\"2026-11-23T12:34:56Z\"}",
        "{\"name\":\"a\",\"value\":99999999999999999999,\"time\":\"2026-11-23T12:34:56Z\"}",
        "{\"name\":\"abcdefghijk\",\"value\":1,\"time\":\"2026-11-23T12:34:56Z\"}",
        "{\"name\":\"\",\"value\":1,\"time\":\"2026-11-23T12:34:56Z\"}",
        "{\"name\":\"a-b\",\"value\":1,\"time\":\"2026-11-23T12:34:56Z\"}",
        "{\"name\":\"a\",\"value\":1,\"time\":\"2026-13-23T12:34:56Z\"}",
        "{\"name\":\"a\",\"value\":1,\"time\":\"2026-11-23T12:34:56Z\"} ",
        "{\"name\":\"a\",\"value\":1,\"time\":\"2026-11-23T12:34:56Z\"}x",
        "{\"name\":\"a\",\"value\":1,\"time\":\"2026-11-23T12:34:56Z\"",
        "{\"name\":\"a\",\"value\":1,\"time\":\"2026-11-23T12:34:56Z\",\"time\":\"2026-11-23T12:34:56Z\"}",
        "{\"name\":\"a\",\"value\":1,\"time\":\"2026-11-23T12:34:56Z\",\"extra\":1}",
        "{\"name\":\"a\",\"value\":1}",
        "[\"name\",\"a\"]",
    };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        struct ticker ticker;
        if (ticker_decode_compact(others[i], strlen(others[i]), &ticker) != 0)
            fail_msg("the compact reader took %s", others[i]);
        expect_same_as_json_reader(others[i], strlen(others[i]));
    }
    /* A NUL inside: jansson refuses it; the compact reader must not stop at it either. */
    const char with_nul[] = "{\"name\":\"a\",\"value\":1,\"time\":\"2026-11-23T12:34:56Z\"}\0";
    struct ticker ticker;
    assert_int_equal(ticker_decode_compact(with_nul, sizeof with_nul - 1, &ticker), 0);
    expect_same_as_json_reader(with_nul, sizeof with_nul - 1);
}

static void validates_names_directly(void **unused)
{
    assert_int_equal(ticker_validate_name("ticker_99", 9, NULL), 0);
    assert_int_equal(ticker_validate_name("ABCxyz_019", 10, NULL), 0);
    assert_int_equal(ticker_validate_name("ticker_99", 0, NULL), -1);
    assert_int_equal(ticker_validate_name("ticker_9999", 11, NULL), -1);
    assert_int_equal(ticker_validate_name("a.b", 3, NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decodes_the_documented_message),
        cmocka_unit_test(encodes_compact_json_in_field_order),
        cmocka_unit_test(round_trips_extremes),
        cmocka_unit_test(encode_refuses_invalid_tickers),
        cmocka_unit_test(rejects_invalid_json),
        cmocka_unit_test(rejects_wrong_shapes_and_fields),
        cmocka_unit_test(rejects_bad_names),
        cmocka_unit_test(rejects_values_outside_int32),
        cmocka_unit_test(rejects_unparsable_times),
        cmocka_unit_test(reads_the_compact_form_without_a_json_parser),
        cmocka_unit_test(leaves_every_other_form_to_the_json_reader),
        cmocka_unit_test(validates_names_directly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
