/* The trade record (common/trade.h) and the flat JSON reader under it (common/flat_json.h):
 * numbers kept as written, every rejection with its reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "flat_json.h"
#include "trade.h"

static const char COINCAP[] = "{\"exchange\":\"bitso\",\"base\":\"xrp\",\"quote\":\"tether\",\"direction\":\"buy\","
                              "\"price\":0.6174,\"volume\":180,\"timestamp\":1651686997237,"
                              "\"priceUsd\":0.6178606418423568}";

static void the_coincap_record_decodes_with_its_numbers_as_written(void **unused)
{
    struct trade trade;
    struct error err = {0};
    assert_int_equal(trade_decode(COINCAP, strlen(COINCAP), &trade, &err), 0);
    assert_string_equal(trade.exchange, "bitso");
    assert_string_equal(trade.base, "xrp");
    assert_string_equal(trade.quote, "tether");
    assert_int_equal(trade.direction, TRADE_BUY);
    assert_string_equal(trade.price, "0.6174");
    assert_string_equal(trade.volume, "180");
    assert_string_equal(trade.price_usd, "0.6178606418423568");
    assert_int_equal(trade.timestamp_ms, 1651686997237LL);
    /* The same, with the numbers as decimals (what the aggregator adds up). */
    struct trade_numbers numbers;
    assert_int_equal(trade_decode_numbers(COINCAP, strlen(COINCAP), &trade, &numbers, &err), 0);
    char text[DECIMAL_TEXT_MAX];
    decimal_format(&numbers.price, text, sizeof text);
    assert_string_equal(text, "0.6174");
    decimal_format(&numbers.volume, text, sizeof text);
    assert_string_equal(text, "180");
    assert_true(trade.trade_id == TRADE_NO_ID);
    char pair[TRADE_PAIR_MAX + 1];
    trade_pair(&trade, pair);
    assert_string_equal(pair, "xrp/tether");

    /* Encoding gives the same text back, byte for byte. */
    char json[TRADE_JSON_MAX];
    assert_int_equal(trade_encode(&trade, json, sizeof json, &err), (int)strlen(COINCAP));
    assert_string_equal(json, COINCAP);
}

static void numbers_keep_every_digit_through_a_round_trip(void **unused)
{
    struct trade trade = {.exchange = "binance", .base = "bitcoin", .quote = "tether", .direction = TRADE_SELL,
                          .price = "97431.25000000", .volume = "0.00012000", .timestamp_ms = 1764000000123LL,
                          .trade_id = 5123456789LL};
    char json[TRADE_JSON_MAX];
    struct error err = {0};
    int length = trade_encode(&trade, json, sizeof json, &err);
    assert_true(length > 0);
    assert_non_null(strstr(json, "\"price\":97431.25000000,\"volume\":0.00012000"));
    assert_non_null(strstr(json, "\"tradeId\":5123456789}"));
    struct trade back;
    assert_int_equal(trade_decode(json, (size_t)length, &back, &err), 0);
    assert_string_equal(back.price, "97431.25000000");
    assert_string_equal(back.volume, "0.00012000");
    assert_int_equal(back.direction, TRADE_SELL);
    assert_int_equal(back.trade_id, 5123456789LL);
    assert_string_equal(back.price_usd, "");
    /* Whitespace, key order and escapes are JSON's business, not ours. */
    const char spaced[] = " { \"volume\" : 1e-3 , \"price\":2.5E+2,\"direction\":\"s\\u0065ll\",\"timestamp\": 1764000000000,"
                          "\"quote\":\"usd-coin\",\"base\":\"eth\",\"exchange\":\"kraken\",\"priceUsd\":null }\n";
    assert_int_equal(trade_decode(spaced, strlen(spaced), &back, &err), 0);
    assert_string_equal(back.volume, "1e-3");
    assert_string_equal(back.price, "2.5E+2");
    assert_int_equal(back.direction, TRADE_SELL);
}

static void every_bad_record_is_refused_with_its_reason(void **unused)
{
    const char *cases[][2] = {
        {"", "empty"},
        {"[1,2]", "an object expected"},
        {"{\"exchange\":\"a\"", "',' or '}' expected"},
        {"{\"exchange\":\"a\"} x", "something after the object"},
        {"{\"exchange\":\"a\",\"exchange\":\"b\"}", "duplicate member 'exchange'"},
        {"{\"exchange\":\"bitso\",\"base\":\"xrp\",\"quote\":\"tether\",\"direction\":\"buy\",\"price\":1,"
         "\"volume\":1}", "missing field 'timestamp'"},
        {"{\"exchange\":\"bitso\",\"base\":\"xrp\",\"quote\":\"tether\",\"direction\":\"buy\",\"price\":1,"
         "\"volume\":1,\"timestamp\":1651686997237,\"extra\":1}", "unknown field 'extra'"},
        {"{\"exchange\":\"bitso\",\"base\":\"xrp\",\"quote\":\"tether\",\"direction\":\"buy\",\"price\":\"1\","
         "\"volume\":1,\"timestamp\":1651686997237}", "'price' must be a number"},
        {"{\"exchange\":\"bitso\",\"base\":\"xrp\",\"quote\":\"tether\",\"direction\":\"buy\",\"price\":0,"
         "\"volume\":1,\"timestamp\":1651686997237}", "price must be positive"},
        {"{\"exchange\":\"bitso\",\"base\":\"xrp\",\"quote\":\"tether\",\"direction\":\"buy\",\"price\":1,"
         "\"volume\":-1,\"timestamp\":1651686997237}", "volume must be zero or more"},
        {"{\"exchange\":\"bitso\",\"base\":\"xrp\",\"quote\":\"tether\",\"direction\":\"hold\",\"price\":1,"
         "\"volume\":1,\"timestamp\":1651686997237}", "\"buy\" or \"sell\""},
        {"{\"exchange\":\"bitso\",\"base\":\"XRP\",\"quote\":\"tether\",\"direction\":\"buy\",\"price\":1,"
         "\"volume\":1,\"timestamp\":1651686997237}", "base has a character outside"},
        {"{\"exchange\":\"bitso\",\"base\":\"xrp\",\"quote\":\"tether\",\"direction\":\"buy\",\"price\":1,"
         "\"volume\":1,\"timestamp\":1651686997}", "not milliseconds"},
        {"{\"exchange\":\"bitso\",\"base\":\"xrp\",\"quote\":\"tether\",\"direction\":\"buy\",\"price\":1,"
         "\"volume\":1,\"timestamp\":1651686997237.5}", "'timestamp' must be an integer"},
        {"{\"exchange\":\"bitso\",\"base\":\"xrp\",\"quote\":\"tether\",\"direction\":\"buy\",\"price\":01,"
         "\"volume\":1,\"timestamp\":1651686997237}", "',' or '}' expected"},
        {"{\"exchange\":\"bitso\",\"base\":\"xrp\",\"quote\":\"tether\",\"direction\":\"buy\",\"price\":NaN,"
         "\"volume\":1,\"timestamp\":1651686997237}", "a number needs a digit"},
        {"{\"exchange\":\"bit\xc3\",\"base\":\"xrp\"}", "invalid UTF-8"},
        {"{\"exchange\":\"a\\x\"}", "unknown escape"},
        {"{\"exchange\":\"a\\u00e\"}", "four hex digits"},
        {"{\"exchange\":\"a\\u0000\",\"base\":\"b\",\"quote\":\"c\",\"direction\":\"buy\",\"price\":1,"
         "\"volume\":1,\"timestamp\":1651686997237}", "NUL"},
        {"{\"exchange\":\"bitso\",\"base\":\"xrp\",\"quote\":\"tether\",\"direction\":\"buy\",\"price\":1,"
         "\"volume\":1,\"timestamp\":1651686997237,\"tradeId\":-5}", "tradeId"},
        {"{\"exchange\":\"bitso\",\"base\":\"xrp\",\"quote\":\"tether\",\"direction\":\"buy\","
         "\"price\":1234567890123456789012345678901234567890,\"volume\":1,\"timestamp\":1651686997237}",
         "significant digits"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct trade trade;
        struct error err = {0};
        if (trade_decode(cases[i][0], strlen(cases[i][0]), &trade, &err) == 0)
            fail_msg("case %zu was accepted: %s", i, cases[i][0]);
        if (strstr(err.message, cases[i][1]) == NULL)
            fail_msg("case %zu: '%s' does not say '%s'", i, err.message, cases[i][1]);
    }
}

static void nested_values_are_kept_whole_for_a_second_reading(void **unused)
{
    /* Binance's combined streams wrap each event: {"stream":..., "data":{...}}. */
    const char envelope[] = "{\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\",\"p\":\"1.5\",\"m\":true,"
                            "\"x\":[1,{\"y\":\"}\"}]}}";
    struct flat_json outer, inner;
    struct error err = {0};
    assert_int_equal(flat_json_parse(envelope, strlen(envelope), &outer, &err), 0);
    const struct json_member *data = flat_json_find(&outer, "data");
    assert_non_null(data);
    assert_int_equal(data->kind, JSON_OBJECT);
    assert_int_equal(flat_json_parse(data->raw, data->raw_length, &inner, &err), 0);
    assert_int_equal(flat_json_find(&inner, "m")->kind, JSON_TRUE);
    assert_int_equal(flat_json_find(&inner, "x")->kind, JSON_ARRAY);
    char text[16];
    assert_int_equal(flat_json_string(flat_json_find(&inner, "p"), text, sizeof text, &err), 0);
    assert_string_equal(text, "1.5");
    /* Depth is bounded; so are members. */
    char deep[200] = "{\"a\":";
    for (int i = 0; i < 40; i++)
        strcat(deep, "[");
    assert_int_equal(flat_json_parse(deep, strlen(deep), &outer, &err), -1);
    assert_non_null(strstr(err.message, "nested too deeply"));
    char many[1024] = "{";
    for (int i = 0; i < FLAT_JSON_MAX_MEMBERS + 1; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%s\"k%d\":1", i ? "," : "", i);
    strcat(many, "}");
    assert_int_equal(flat_json_parse(many, strlen(many), &outer, &err), -1);
    assert_non_null(strstr(err.message, "too many members"));
    /* \u escapes decode to UTF-8, surrogate pairs to one code point. */
    const char escaped[] = "{\"s\":\"\\u00e9\\ud83d\\ude00\\/\\n\"}";
    assert_int_equal(flat_json_parse(escaped, strlen(escaped), &outer, &err), 0);
    char decoded[16];
    assert_int_equal(flat_json_string(flat_json_find(&outer, "s"), decoded, sizeof decoded, &err), 0);
    assert_string_equal(decoded, "\xc3\xa9\xf0\x9f\x98\x80/\n");
    const char lone[] = "{\"s\":\"\\ud83d\"}";
    assert_int_equal(flat_json_parse(lone, strlen(lone), &outer, &err), 0);
    assert_int_equal(flat_json_string(flat_json_find(&outer, "s"), decoded, sizeof decoded, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_coincap_record_decodes_with_its_numbers_as_written),
        cmocka_unit_test(numbers_keep_every_digit_through_a_round_trip),
        cmocka_unit_test(every_bad_record_is_refused_with_its_reason),
        cmocka_unit_test(nested_values_are_kept_whole_for_a_second_reading),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
