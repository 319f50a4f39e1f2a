#include "bucket_grid.h"

static int64_t floor_div(int64_t value, int64_t divisor)
{
    int64_t quotient = value / divisor;
    return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient;
}

static int64_t floor_to(int64_t value, int64_t step) { return floor_div(value, step) * step; }

static int64_t ceil_to(int64_t value, int64_t step) { return -floor_to(-value, step); }

struct bucket_grid bucket_grid_plan(int64_t first_us, int64_t last_us, int64_t max_points)
{
    int64_t span = last_us - first_us;
    /* span / width < max_points, so floor(span / width) + 1 <= max_points buckets. */
    struct bucket_grid grid = {.origin_us = first_us, .width_us = span / max_points + 1};
    if (grid.width_us < BUCKET_GRID_ROLLUP_US)
        return grid;

    /* Whole rollup buckets: origin and width on the 10-second grid. Measured from the
     * aligned origin the span grows by less than 10 s; the same bound applies to it. */
    grid.from_rollup = true;
    grid.origin_us = floor_to(first_us, BUCKET_GRID_ROLLUP_US);
    int64_t aligned_span = last_us - grid.origin_us;
    grid.width_us = (aligned_span / (max_points * BUCKET_GRID_ROLLUP_US) + 1) * BUCKET_GRID_ROLLUP_US;
    /* Rollup buckets [b, b + 10 s) inside [first, last]: first <= b and b + 10 s <= last + 1 µs. */
    grid.rollup_from_us = ceil_to(first_us, BUCKET_GRID_ROLLUP_US);
    grid.rollup_to_us = floor_to(last_us + 1, BUCKET_GRID_ROLLUP_US);
    if (grid.rollup_to_us < grid.rollup_from_us)
        grid.rollup_to_us = grid.rollup_from_us;
    return grid;
}
