#ifndef PRODUCER_SEED_H
#define PRODUCER_SEED_H

#include "error.h"
#include "ticker_walk.h"

/* Sets each ticker of `walk` to its latest value in `records` (by time, then id);
 * tickers without history keep their value. Connects to `database_url`, retrying with
 * backoff while the database is unreachable, until it succeeds or shutdown is requested
 * (then returns -1). */
int seed_from_database(struct ticker_walk *walk, const char *database_url, struct error *err);

#endif
