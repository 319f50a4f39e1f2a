/*
 * The producer's state: N tickers, each doing a random walk of +1/-1 steps.
 * Pure logic (no I/O), unit-tested in tests/unit/test_ticker_walk.c.
 */
#ifndef PRODUCER_TICKER_WALK_H
#define PRODUCER_TICKER_WALK_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "ticker.h"

#define TICKER_WALK_MAX 1000

struct ticker_walk;

/* Writes the name of ticker `index` of `count` ("ticker_07"): digits are zero-padded to
 * the width of count - 1, at least two. */
void ticker_walk_name(size_t index, size_t count, char out[TICKER_NAME_MAX + 1]);

/* Creates `count` (1..TICKER_WALK_MAX) tickers at value 0, with a random generator seeded
 * by `seed` (the same seed gives the same walk). Destroy with ticker_walk_destroy. */
struct ticker_walk *ticker_walk_new(size_t count, uint64_t seed, struct error *err);
void ticker_walk_destroy(struct ticker_walk *walk);

size_t ticker_walk_count(const struct ticker_walk *walk);
const char *ticker_walk_name_of(const struct ticker_walk *walk, size_t index);
int32_t ticker_walk_value(const struct ticker_walk *walk, size_t index);
void ticker_walk_set_value(struct ticker_walk *walk, size_t index, int32_t value);

/* Moves ticker `index` one step up or down (never past the int32 range) and fills *out
 * with its new name, value and `time_us`. */
void ticker_walk_step(struct ticker_walk *walk, size_t index, int64_t time_us, struct ticker *out);

#endif
