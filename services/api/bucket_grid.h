/*
 * The grid a downsampled history answer is cut into: at most max_points buckets of one
 * width over a ticker's stored range, and whether they can be read from the 10-second
 * rollup (records_10s) instead of raw rows. Pure arithmetic on microseconds since the epoch.
 */
#ifndef API_BUCKET_GRID_H
#define API_BUCKET_GRID_H

#include <stdbool.h>
#include <stdint.h>

/* The rollup's bucket width (records_10s in db/init.sql): 10 s, aligned on the epoch. */
#define BUCKET_GRID_ROLLUP_US INT64_C(10000000)

struct bucket_grid {
    int64_t origin_us; /* bucket k covers [origin + k * width, origin + (k + 1) * width) */
    int64_t width_us;
    bool from_rollup; /* width and origin are multiples of the rollup's 10 s */
    /* With from_rollup: rollup buckets starting in [rollup_from_us, rollup_to_us) lie wholly
     * in the range; the raw rows before and after them are read one by one. */
    int64_t rollup_from_us, rollup_to_us;
};

/* The grid for stored rows from first_us to last_us (inclusive, first <= last) and
 * max_points >= 1: the narrowest width giving at most max_points buckets, widened to a
 * multiple of 10 s (so at least about half as many buckets) when raw buckets would be 10 s
 * or wider anyway, so long ranges read the rollup. */
struct bucket_grid bucket_grid_plan(int64_t first_us, int64_t last_us, int64_t max_points);

#endif
