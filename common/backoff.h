/*
 * The one retry policy of tickerflow: whatever waits for PostgreSQL or Kafka (connecting,
 * reading positions, waiting for a topic) tries again after an exponential backoff with
 * jitter and a cap. The first wait is BACKOFF_INITIAL_MS; each failure doubles it up to the
 * cap (retry_backoff_max_ms, a setting of every daemon: 8 s by default); each actual wait
 * is drawn between half and all of it, so daemons that lost the same server do not come
 * back in step.
 *
 * Pure: unit-tested. The loop that sleeps between attempts is retry_until (retry.h); a
 * loop that must keep serving something while it waits (a consumer group) uses a backoff
 * directly. A backoff belongs to one thread.
 */
#ifndef TICKERFLOW_BACKOFF_H
#define TICKERFLOW_BACKOFF_H

#include <stdint.h>

#define BACKOFF_INITIAL_MS 250
#define BACKOFF_DEFAULT_MAX_MS 8000

/* Sets the cap for every backoff started afterwards (config_load_daemon does it from the
 * retry_backoff_max_ms setting). Main thread, at start-up. */
void backoff_set_max_ms(int max_ms);

struct backoff {
    int base_ms;     /* the next wait before jitter */
    int max_ms;
    uint64_t random; /* the jitter's generator state */
};

/* Starts at BACKOFF_INITIAL_MS with the configured cap; `seed` varies the jitter (any value). */
void backoff_init(struct backoff *backoff, uint64_t seed);

/* The wait before the next attempt, in milliseconds, in [base/2, base]; then doubles the
 * base (up to the cap) for the one after. */
int backoff_next_ms(struct backoff *backoff);

/* After a success: the next failure starts again from BACKOFF_INITIAL_MS. */
void backoff_reset(struct backoff *backoff);

#endif
