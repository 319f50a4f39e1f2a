#ifndef PRODUCER_SEED_H
#define PRODUCER_SEED_H

#include "error.h"
#include "ticker_walk.h"

/* Sets each ticker of `walk` to its latest value in `records` (by time, then id);
 * tickers without history keep their value. Connects to `database_url`, retrying with
 * backoff while the database is unreachable or has no schema yet, until it succeeds or
 * fails for good (ERROR_PERMANENT: its credentials rejected) or a stop is requested
 * (ERROR_STOPPED). */
int seed_from_database(struct ticker_walk *walk, const char *database_url, struct error *err);

/* Sets each ticker found in the tail of `topic` (the last SEED_TAIL_MESSAGES messages of
 * each partition, at least 4 per ticker) to its last published value there. Run after
 * seed_from_database: `records` lags the topic by however far the bridge is behind (or
 * down), and a producer that resumed from it would publish a jump. A ticker not in the
 * tail keeps its value from `records`. Messages that are not valid ticker messages are
 * skipped. Retries with backoff while the broker does not answer, until it succeeds or a
 * stop is requested (ERROR_STOPPED). */
int seed_from_topic(struct ticker_walk *walk, const char *brokers, const char *topic, struct error *err);

#define SEED_TAIL_MESSAGES 1000

#endif
