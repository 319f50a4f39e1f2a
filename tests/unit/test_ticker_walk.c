#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ticker_walk.h"

static void names_are_zero_padded_to_the_count(void **unused)
{
    char name[TICKER_NAME_MAX + 1];
    ticker_walk_name(7, 100, name);
    assert_string_equal(name, "ticker_07");
    ticker_walk_name(99, 100, name);
    assert_string_equal(name, "ticker_99");
    ticker_walk_name(0, 1, name);
    assert_string_equal(name, "ticker_00");
    ticker_walk_name(7, 101, name);
    assert_string_equal(name, "ticker_007");
    ticker_walk_name(999, 1000, name);
    assert_string_equal(name, "ticker_999");
    assert_int_equal(ticker_validate_name(name, strlen(name), NULL), 0);
}

static void rejects_counts_out_of_range(void **unused)
{
    struct error err;
    assert_null(ticker_walk_new(0, 1, &err));
    assert_null(ticker_walk_new(TICKER_WALK_MAX + 1, 1, &err));
    assert_non_null(strstr(err.message, "outside 1..1000"));
    ticker_walk_destroy(NULL);
}

static void every_step_moves_exactly_one_up_or_down(void **unused)
{
    struct ticker_walk *walk = ticker_walk_new(100, 42, NULL);
    assert_non_null(walk);
    assert_string_equal(ticker_walk_name_of(walk, 42), "ticker_42");
    int ups = 0, downs = 0;
    for (int round = 0; round < 100; round++) {
        for (size_t i = 0; i < 100; i++) {
            int32_t before = ticker_walk_value(walk, i);
            struct ticker ticker;
            ticker_walk_step(walk, i, 1000 + round, &ticker);
            assert_int_equal(abs(ticker.value - before), 1);
            assert_int_equal(ticker.value, ticker_walk_value(walk, i));
            assert_int_equal(ticker.time_us, 1000 + round);
            assert_string_equal(ticker.name, ticker_walk_name_of(walk, i));
            ticker.value > before ? ups++ : downs++;
        }
    }
    /* 10,000 fair coin flips: far outside 4,500..5,500 means a broken generator. */
    assert_in_range(ups, 4500, 5500);
    assert_int_equal(ups + downs, 10000);
    ticker_walk_destroy(walk);
}

static void same_seed_same_walk(void **unused)
{
    struct ticker_walk *a = ticker_walk_new(5, 7, NULL), *b = ticker_walk_new(5, 7, NULL), *c = ticker_walk_new(5, 8, NULL);
    int differs = 0;
    for (int step = 0; step < 64; step++) {
        struct ticker ta, tb, tc;
        ticker_walk_step(a, 0, 0, &ta);
        ticker_walk_step(b, 0, 0, &tb);
        ticker_walk_step(c, 0, 0, &tc);
        assert_int_equal(ta.value, tb.value);
        differs += ta.value != tc.value;
    }
    assert_true(differs > 0);
    ticker_walk_destroy(a);
    ticker_walk_destroy(b);
    ticker_walk_destroy(c);
}

static void seeded_values_continue_and_never_overflow(void **unused)
{
    struct ticker_walk *walk = ticker_walk_new(2, 3, NULL);
    ticker_walk_set_value(walk, 0, INT32_MAX);
    ticker_walk_set_value(walk, 1, INT32_MIN);
    struct ticker ticker;
    ticker_walk_step(walk, 0, 0, &ticker);
    assert_int_equal(ticker.value, INT32_MAX - 1);
    ticker_walk_step(walk, 1, 0, &ticker);
    assert_int_equal(ticker.value, INT32_MIN + 1);
    ticker_walk_set_value(walk, 0, 500);
    ticker_walk_step(walk, 0, 0, &ticker);
    assert_true(ticker.value == 499 || ticker.value == 501);
    ticker_walk_destroy(walk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_are_zero_padded_to_the_count),
        cmocka_unit_test(rejects_counts_out_of_range),
        cmocka_unit_test(every_step_moves_exactly_one_up_or_down),
        cmocka_unit_test(same_seed_same_walk),
        cmocka_unit_test(seeded_values_continue_and_never_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
