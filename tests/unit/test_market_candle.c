#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "market_candle.h"

#define SECOND 1000000LL
#define MINUTE (60 * SECOND)
#define T0 (30000000LL * MINUTE) /* a minute boundary */

static struct decimal number(const char *text)
{
    struct decimal value;
    assert_int_equal(decimal_parse(text, strlen(text), &value, NULL), 0);
    return value;
}

static bool add(struct market_candle *candle, const char *price, const char *volume, bool bought, int64_t time_us)
{
    struct decimal p = number(price), v = number(volume);
    return market_candle_add(candle, &p, &v, bought, time_us);
}

/* Compares a decimal with NUMERIC's text of the expected value (scale included). */
static void assert_decimal(const struct decimal *value, const char *want)
{
    char text[DECIMAL_TEXT_MAX];
    decimal_format(value, text, sizeof text);
    assert_string_equal(text, want);
}

static void open_and_close_follow_trade_time_and_sums_are_exact(void **unused)
{
    struct market_candle c;
    market_candle_init(&c);
    assert_true(c.start_us == INT64_MIN);
    assert_true(add(&c, "100.50", "0.1", true, T0 + 10 * SECOND));
    /* Earlier in the minute but read later: the open by trade time, as the aggregator's. */
    assert_true(add(&c, "99.00", "0.2", false, T0 + 5 * SECOND));
    assert_true(add(&c, "101.25", "0.30", true, T0 + 40 * SECOND));
    /* Equal times: the topic's order, so the later one is the close. */
    assert_true(add(&c, "100.75", "0.000000001", false, T0 + 40 * SECOND));
    assert_true(c.start_us == T0);
    assert_decimal(&c.open, "99.00");
    assert_decimal(&c.high, "101.25");
    assert_decimal(&c.low, "99.00");
    assert_decimal(&c.close, "100.75");
    assert_decimal(&c.volume_buy, "0.40");
    assert_decimal(&c.volume_sell, "0.200000001");
    assert_int_equal(c.trades, 4);
    assert_true(c.partial); /* the first minute seen */
}

static void a_new_minute_starts_whole_and_late_trades_are_left_out(void **unused)
{
    struct market_candle c;
    market_candle_init(&c);
    assert_true(add(&c, "5", "1", true, T0 + 59 * SECOND));
    assert_true(add(&c, "6", "2", false, T0 + MINUTE + SECOND));
    assert_true(c.start_us == T0 + MINUTE);
    assert_false(c.partial);
    assert_decimal(&c.open, "6");
    assert_decimal(&c.volume_buy, "0");
    assert_decimal(&c.volume_sell, "2");
    assert_int_equal(c.trades, 1);
    /* A trade of the minute before: the aggregator's, not the live candle's. */
    assert_false(add(&c, "7", "3", true, T0 + 30 * SECOND));
    assert_int_equal(c.trades, 1);
    assert_decimal(&c.high, "6");
}

static void skipped_trades_make_the_minute_and_the_next_partial(void **unused)
{
    struct market_candle c;
    market_candle_init(&c);
    assert_true(add(&c, "5", "1", true, T0));
    assert_true(add(&c, "5", "1", true, T0 + MINUTE));
    assert_false(c.partial);
    market_candle_skip(&c);
    assert_true(c.partial);
    assert_true(add(&c, "5", "1", true, T0 + 2 * MINUTE));
    assert_true(c.partial);
    assert_true(add(&c, "5", "1", true, T0 + 3 * MINUTE));
    assert_false(c.partial);
}

static void a_volume_sum_that_would_overflow_is_refused_whole(void **unused)
{
    struct market_candle c;
    market_candle_init(&c);
    assert_true(add(&c, "1", "99999999999999999999999999999999999999", true, T0));
    assert_false(add(&c, "2", "1", true, T0 + SECOND));
    assert_int_equal(c.trades, 1);
    assert_decimal(&c.close, "1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(open_and_close_follow_trade_time_and_sums_are_exact),
        cmocka_unit_test(a_new_minute_starts_whole_and_late_trades_are_left_out),
        cmocka_unit_test(skipped_trades_make_the_minute_and_the_next_partial),
        cmocka_unit_test(a_volume_sum_that_would_overflow_is_refused_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
