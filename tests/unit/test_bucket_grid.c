/* The downsampling grid: never more than max_points buckets, rollup grids aligned on 10 s,
 * and the rollup's inner range plus the raw edges covering [first, last] exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bucket_grid.h"

#define SECOND INT64_C(1000000)
#define ROLLUP BUCKET_GRID_ROLLUP_US

static int64_t floor_div(int64_t value, int64_t divisor)
{
    int64_t quotient = value / divisor;
    return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient;
}

/* Checks every property of a grid for [first, last] and max_points. */
static void check_grid(int64_t first, int64_t last, int64_t max_points)
{
    struct bucket_grid grid = bucket_grid_plan(first, last, max_points);
    assert_true(grid.width_us > 0);
    assert_true(grid.origin_us <= first);
    int64_t buckets = floor_div(last - grid.origin_us, grid.width_us) - floor_div(first - grid.origin_us, grid.width_us) + 1;
    assert_true(buckets >= 1 && buckets <= max_points);
    if (!grid.from_rollup) {
        assert_int_equal(grid.origin_us, first);
        assert_true(grid.width_us < ROLLUP);
        return;
    }
    assert_int_equal(floor_div(grid.origin_us, ROLLUP) * ROLLUP, grid.origin_us);
    assert_int_equal(grid.width_us % ROLLUP, 0);
    /* Never coarser than needed: one rollup step narrower would give too many buckets. */
    if (grid.width_us > ROLLUP)
        assert_true((last - grid.origin_us) / (grid.width_us - ROLLUP) + 1 > max_points);
    /* The inner rollup range is whole 10 s buckets within [first, last]. */
    assert_int_equal(grid.rollup_from_us % ROLLUP, 0);
    assert_int_equal(grid.rollup_to_us % ROLLUP, 0);
    assert_true(grid.rollup_from_us >= first && grid.rollup_from_us < first + ROLLUP);
    assert_true(grid.rollup_to_us <= last + 1 && grid.rollup_to_us > last + 1 - ROLLUP);
    assert_true(grid.rollup_from_us <= grid.rollup_to_us);
}

static void short_ranges_use_raw_rows(void **unused)
{
    (void)unused;
    struct bucket_grid grid = bucket_grid_plan(5 * SECOND, 5 * SECOND + 5000 * SECOND, 1000);
    assert_false(grid.from_rollup);
    assert_int_equal(grid.origin_us, 5 * SECOND);
    assert_int_equal(grid.width_us, 5 * SECOND + 1);
    check_grid(0, 0, 1); /* a single row */
    check_grid(0, 9 * SECOND, 1);
    check_grid(123, 123 + 19999 * SECOND, 2000);
}

static void long_ranges_use_whole_rollup_buckets(void **unused)
{
    (void)unused;
    /* One day at most 2000 points: 43.2 s raw, so 50 s rollup buckets from 00:00:00. */
    int64_t day = 86400 * SECOND, first = 1767225600 * SECOND + 3 * SECOND + 250000;
    struct bucket_grid grid = bucket_grid_plan(first, first + day, 2000);
    assert_true(grid.from_rollup);
    assert_int_equal(grid.width_us, 50 * SECOND);
    assert_int_equal(grid.origin_us, first - 3 * SECOND - 250000);
    assert_int_equal(grid.rollup_from_us, grid.origin_us + 10 * SECOND);
    assert_int_equal(grid.rollup_to_us, grid.origin_us + day);
    check_grid(first, first + day, 2000);
    /* The raw width crosses 10 s exactly where the rollup takes over. */
    assert_false(bucket_grid_plan(0, 9999999 * 10 - 1, 10).from_rollup);
    assert_true(bucket_grid_plan(0, 9999999 * 10, 10).from_rollup);
}

static void edges_and_alignment(void **unused)
{
    (void)unused;
    /* Already aligned ends: the whole range is rollup; a last row on a bucket's first
     * microsecond is a raw edge. */
    struct bucket_grid grid = bucket_grid_plan(0, 100 * SECOND - 1, 5);
    assert_true(grid.from_rollup);
    assert_int_equal(grid.rollup_from_us, 0);
    assert_int_equal(grid.rollup_to_us, 100 * SECOND);
    grid = bucket_grid_plan(0, 100 * SECOND, 5);
    assert_int_equal(grid.rollup_to_us, 100 * SECOND);
    /* Before the epoch, floor division still aligns downwards. */
    grid = bucket_grid_plan(-25 * SECOND, 200 * SECOND, 3);
    assert_int_equal(grid.origin_us, -30 * SECOND);
    assert_int_equal(grid.rollup_from_us, -20 * SECOND);
    check_grid(-25 * SECOND, 200 * SECOND, 3);
}

static void bounded_for_many_shapes(void **unused)
{
    (void)unused;
    const int64_t firsts[] = {0, 1, 9999999, 10000001, 1767225600123456, -7 * SECOND - 5};
    const int64_t spans[] = {0, 1, 10 * SECOND - 1, 10 * SECOND, 19 * SECOND, 3600 * SECOND + 7,
                             86400 * SECOND, 86400 * SECOND * 365};
    const int64_t points[] = {1, 2, 3, 7, 100, 1999, 2000, 10000, 100000};
    for (size_t f = 0; f < sizeof firsts / sizeof *firsts; f++)
        for (size_t s = 0; s < sizeof spans / sizeof *spans; s++)
            for (size_t p = 0; p < sizeof points / sizeof *points; p++)
                check_grid(firsts[f], firsts[f] + spans[s], points[p]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(short_ranges_use_raw_rows),
        cmocka_unit_test(long_ranges_use_whole_rollup_buckets),
        cmocka_unit_test(edges_and_alignment),
        cmocka_unit_test(bounded_for_many_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
