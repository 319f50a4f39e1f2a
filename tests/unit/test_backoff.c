/* The one retry policy (common/backoff.h): exponential, jittered, capped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "backoff.h"

static void waits_double_within_jitter_up_to_the_cap(void **unused)
{
    backoff_set_max_ms(5000);
    struct backoff backoff;
    backoff_init(&backoff, 42);
    const int bases[] = {250, 500, 1000, 2000, 4000, 5000, 5000, 5000};
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        int wait = backoff_next_ms(&backoff);
        assert_in_range(wait, bases[i] / 2, bases[i]); /* at least half: never a tight loop */
    }
    backoff_reset(&backoff);
    assert_in_range(backoff_next_ms(&backoff), 125, 250);
    backoff_set_max_ms(BACKOFF_DEFAULT_MAX_MS);
}

static void jitter_spreads_daemons_that_failed_together(void **unused)
{
    /* Two backoffs seeded differently: their waits differ somewhere in the first few. */
    struct backoff a, b;
    backoff_init(&a, 1);
    backoff_init(&b, 2);
    int differ = 0;
    for (int i = 0; i < 6; i++)
        differ += backoff_next_ms(&a) != backoff_next_ms(&b);
    assert_true(differ >= 3);
    /* And one backoff's waits at the cap are not all the same. */
    int first = 0, distinct = 0;
    for (int i = 0; i < 20; i++) {
        int wait = backoff_next_ms(&a);
        distinct += i > 0 && wait != first;
        first = i == 0 ? wait : first;
    }
    assert_true(distinct > 10);
}

static void a_cap_below_the_first_wait_is_raised_to_it(void **unused)
{
    backoff_set_max_ms(10);
    struct backoff backoff;
    backoff_init(&backoff, 0);
    for (int i = 0; i < 5; i++)
        assert_in_range(backoff_next_ms(&backoff), BACKOFF_INITIAL_MS / 2, BACKOFF_INITIAL_MS);
    backoff_set_max_ms(BACKOFF_DEFAULT_MAX_MS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(waits_double_within_jitter_up_to_the_cap),
        cmocka_unit_test(jitter_spreads_daemons_that_failed_together),
        cmocka_unit_test(a_cap_below_the_first_wait_is_raised_to_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
