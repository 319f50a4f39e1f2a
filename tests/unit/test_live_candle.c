#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "live_candle.h"

#define SECOND 1000000LL
#define MINUTE (60 * SECOND)
#define T0 (30000000LL * MINUTE) /* a minute boundary */

static void assert_candle(const struct live_candle *c, int64_t start, int open, int high, int low, int close,
                          int64_t up, int64_t down, int64_t ticks, bool partial)
{
    assert_int_equal(c->start_us, start);
    assert_int_equal(c->open, open);
    assert_int_equal(c->high, high);
    assert_int_equal(c->low, low);
    assert_int_equal(c->close, close);
    assert_int_equal(c->up_moves, up);
    assert_int_equal(c->down_moves, down);
    assert_int_equal(c->ticks, ticks);
    assert_int_equal(c->partial, partial);
}

static void the_first_minute_seen_is_partial_the_next_whole(void **unused)
{
    struct live_candle candle;
    live_candle_init(&candle);
    assert_int_equal(candle.start_us, INT64_MIN);
    live_candle_add(&candle, 5, T0 + 30 * SECOND);
    assert_candle(&candle, T0, 5, 5, 5, 5, 0, 0, 1, true);
    live_candle_add(&candle, 6, T0 + 40 * SECOND);
    live_candle_add(&candle, 4, T0 + MINUTE - 1);
    assert_candle(&candle, T0, 5, 6, 4, 4, 1, 1, 3, true);
    /* The next minute: its first move is measured from the previous minute's last tick. */
    live_candle_add(&candle, 5, T0 + MINUTE);
    assert_candle(&candle, T0 + MINUTE, 5, 5, 5, 5, 1, 0, 1, false);
    live_candle_add(&candle, 5, T0 + MINUTE + SECOND); /* no move */
    live_candle_add(&candle, 3, T0 + MINUTE + 2 * SECOND);
    assert_candle(&candle, T0 + MINUTE, 5, 5, 3, 3, 1, 1, 3, false);
    /* A minute with no tick in between: still measured from the last tick. */
    live_candle_add(&candle, 2, T0 + 5 * MINUTE);
    assert_candle(&candle, T0 + 5 * MINUTE, 2, 2, 2, 2, 0, 1, 1, false);
}

static void minutes_before_the_epoch_start_on_the_minute(void **unused)
{
    struct live_candle candle;
    live_candle_init(&candle);
    live_candle_add(&candle, 1, -1);
    assert_int_equal(candle.start_us, -MINUTE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_first_minute_seen_is_partial_the_next_whole),
        cmocka_unit_test(minutes_before_the_epoch_start_on_the_minute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
