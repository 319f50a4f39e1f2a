#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "live_candle.h"

#define SECOND 1000000LL
#define MINUTE (60 * SECOND)
#define T0 (30000000LL * MINUTE) /* a minute boundary */

static void assert_candle(const struct live_candle *live, int64_t start, int open, int high, int low, int close,
                          int64_t up, int64_t down, int64_t ticks, bool partial)
{
    const struct candle *c = &live->candle;
    assert_int_equal(c->start_us, start);
    assert_int_equal(c->end_us, start + MINUTE);
    assert_int_equal(c->open, open);
    assert_int_equal(c->high, high);
    assert_int_equal(c->low, low);
    assert_int_equal(c->close, close);
    assert_int_equal(c->up_moves, up);
    assert_int_equal(c->down_moves, down);
    assert_int_equal(c->ticks, ticks);
    assert_int_equal(live->partial, partial);
}

static void the_first_minute_seen_is_partial_the_next_whole(void **unused)
{
    struct live_candle candle;
    live_candle_init(&candle);
    assert_int_equal(candle.candle.start_us, INT64_MIN);
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
    assert_int_equal(candle.candle.start_us, -MINUTE);
}

static void ticks_gone_by_unseen_make_their_minute_partial(void **unused)
{
    struct live_candle candle;
    live_candle_init(&candle);
    live_candle_add(&candle, 1, T0 - SECOND); /* the server started in the minute before */
    live_candle_add(&candle, 2, T0);
    live_candle_add(&candle, 3, T0 + SECOND);
    assert_candle(&candle, T0, 2, 3, 2, 3, 2, 0, 2, false);
    /* Ticks up to T0 + 5 s were dropped: this minute is no longer whole, and the next tick's
     * move is not counted (its previous value went by unseen). */
    live_candle_skip(&candle, T0 + 5 * SECOND);
    live_candle_add(&candle, 9, T0 + 6 * SECOND);
    assert_candle(&candle, T0, 2, 9, 2, 9, 2, 0, 3, true);
    /* The next minute is whole again: every tick of it was seen. */
    live_candle_add(&candle, 8, T0 + MINUTE);
    assert_candle(&candle, T0 + MINUTE, 8, 8, 8, 8, 0, 1, 1, false);
    /* Dropped ticks in a later minute than the candle's: that minute starts partial. */
    live_candle_skip(&candle, T0 + 2 * MINUTE + SECOND);
    live_candle_add(&candle, 7, T0 + 2 * MINUTE + 2 * SECOND);
    assert_candle(&candle, T0 + 2 * MINUTE, 7, 7, 7, 7, 0, 0, 1, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_first_minute_seen_is_partial_the_next_whole),
        cmocka_unit_test(minutes_before_the_epoch_start_on_the_minute),
        cmocka_unit_test(ticks_gone_by_unseen_make_their_minute_partial),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
