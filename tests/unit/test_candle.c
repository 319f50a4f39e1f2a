/* The one candle arithmetic (common/candle.h) the aggregator and the API server share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "candle.h"

#define SECOND 1000000LL
#define MINUTE (60 * SECOND)

static void windows_are_aligned_to_the_epoch_before_it_too(void **unused)
{
    assert_int_equal(candle_window_start(0, MINUTE), 0);
    assert_int_equal(candle_window_start(MINUTE - 1, MINUTE), 0);
    assert_int_equal(candle_window_start(MINUTE, MINUTE), MINUTE);
    assert_int_equal(candle_window_start(-1, MINUTE), -MINUTE);
    assert_int_equal(candle_window_start(-MINUTE, MINUTE), -MINUTE);
    assert_int_equal(candle_window_start(-MINUTE - 1, MINUTE), -2 * MINUTE);
    assert_int_equal(candle_window_start(90 * MINUTE + 7, 60 * MINUTE), 60 * MINUTE);
}

static void open_high_low_close_and_ticks(void **unused)
{
    struct candle c;
    candle_start(&c, "ticker_07", 5 * MINUTE, MINUTE);
    assert_string_equal(c.name, "ticker_07");
    assert_int_equal(c.end_us, 6 * MINUTE);
    assert_int_equal(c.ticks, 0);
    const int32_t values[] = {3, 7, -2, 5};
    for (size_t i = 0; i < 4; i++)
        candle_add(&c, values[i], i > 0 ? &values[i - 1] : NULL);
    assert_int_equal(c.open, 3);
    assert_int_equal(c.high, 7);
    assert_int_equal(c.low, -2);
    assert_int_equal(c.close, 5);
    assert_int_equal(c.ticks, 4);
    assert_int_equal(c.up_moves, 2);   /* 3 -> 7, -2 -> 5 */
    assert_int_equal(c.down_moves, 1); /* 7 -> -2 */
}

static void the_first_move_counts_from_the_tick_before_the_window(void **unused)
{
    /* Moves of consecutive windows add up to the moves of the whole run: rolled-up candles
     * are exact sums. */
    const int32_t run[] = {0, 1, 1, 0, -1, 0, 2, 2};
    struct candle first, second, whole;
    candle_start(&first, NULL, 0, MINUTE);
    candle_start(&second, NULL, MINUTE, MINUTE);
    candle_start(&whole, NULL, 0, 2 * MINUTE);
    const int32_t before = 5; /* the last tick of an earlier window */
    for (size_t i = 0; i < 8; i++) {
        const int32_t *previous = i > 0 ? &run[i - 1] : &before;
        candle_add(i < 4 ? &first : &second, run[i], previous);
        candle_add(&whole, run[i], previous);
    }
    assert_int_equal(first.up_moves + second.up_moves, whole.up_moves);
    assert_int_equal(first.down_moves + second.down_moves, whole.down_moves);
    assert_int_equal(first.down_moves, 2); /* 5 -> 0 counts: the tick before the window */
    assert_int_equal(whole.up_moves, 3);
    /* No tick before: the first one counts no move. */
    struct candle alone;
    candle_start(&alone, NULL, 0, MINUTE);
    candle_add(&alone, 4, NULL);
    assert_int_equal(alone.up_moves + alone.down_moves, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(windows_are_aligned_to_the_epoch_before_it_too),
        cmocka_unit_test(open_high_low_close_and_ticks),
        cmocka_unit_test(the_first_move_counts_from_the_tick_before_the_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
