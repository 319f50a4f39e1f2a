/*
 * The random walk: every interval, each ticker moves one step up or down and the change is
 * published. On start, each ticker resumes from its last published value (the topic's
 * tail, else the records table), so its sequence never jumps.
 */
#include <stdio.h>
#include <time.h>

#include "log.h"
#include "seed.h"
#include "shutdown.h"
#include "source.h"
#include "ticker_walk.h"
#include "timestamp.h"

static uint64_t pick_random_seed(long long configured)
{
    if (configured != 0)
        return (uint64_t)configured;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (uint64_t)now.tv_sec * 1000000007ULL ^ (uint64_t)now.tv_nsec;
}

/* Publishes one move of every ticker during the interval that starts at `start_ms`.
 * Spread: ticker i moves at start + i/N of the interval, stamped with its own time, so
 * Kafka, the bridge and the WebSocket fan-out see a steady flow instead of N messages at
 * the same instant (at 10,000 WebSocket clients, one such burst takes the API server tens of
 * milliseconds to send). Otherwise all move at once with one time. */
static int publish_interval(const struct producer_settings *settings, struct ticker_walk *walk,
                            struct publisher *publisher, int64_t start_ms, struct error *err)
{
    size_t count = ticker_walk_count(walk);
    int64_t shared_time_us = timestamp_now_us();
    for (size_t i = 0; i < count && !shutdown_requested(); i++) {
        if (settings->spread_moves &&
            publisher_wait_until(publisher, start_ms + settings->interval_ms * (int64_t)i / (int64_t)count, err) < 0)
            return -1;
        struct ticker ticker;
        ticker_walk_step(walk, i, settings->spread_moves ? timestamp_now_us() : shared_time_us, &ticker);
        if (publisher_send(publisher, &ticker, err) < 0)
            return -1;
    }
    return 0;
}

/* Resumes every ticker from its last value: `records`, then the topic's tail (what was
 * published last, even if the bridge has not stored it yet). */
static int seed(const struct producer_settings *settings, struct ticker_walk *walk, struct error *err)
{
    if (!settings->seed_from_database)
        return 0;
    if (seed_from_database(walk, settings->shared.database_url, err) < 0)
        return -1;
    return settings->dry_run ? 0 : seed_from_topic(walk, settings->shared.kafka_brokers, settings->shared.kafka_topic, err);
}

int walk_source_run(const struct producer_settings *settings, struct publisher *publisher,
                    struct source_health *health, struct error *err)
{
    struct ticker_walk *walk = ticker_walk_new((size_t)settings->tickers, pick_random_seed(settings->random_seed), err);
    if (walk == NULL || seed(settings, walk, err) < 0) {
        ticker_walk_destroy(walk);
        return -1;
    }
    log_info("%lld tickers, one move each every %lld ms (%s)%s", settings->tickers, settings->interval_ms,
             settings->spread_moves ? "spread over the interval" : "all at once",
             settings->dry_run ? " (dry run: printing to stdout)" : "");
    source_health_set(health, true, "publishing");

    int rc = 0;
    int64_t interval_start_ms = timestamp_monotonic_ms();
    while (rc == 0 && !shutdown_requested()) {
        rc = publish_interval(settings, walk, publisher, interval_start_ms, err);
        interval_start_ms += settings->interval_ms;
        int64_t now_ms = timestamp_monotonic_ms();
        if (now_ms > interval_start_ms + settings->interval_ms) {
            log_warn("fell %lld ms behind schedule; skipping ahead", (long long)(now_ms - interval_start_ms));
            interval_start_ms = now_ms;
        }
        if (rc == 0)
            rc = publisher_wait_until(publisher, interval_start_ms, err);
    }
    ticker_walk_destroy(walk);
    return rc;
}
