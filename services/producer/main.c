/*
 * tickerflow-producer: every interval, moves each ticker one step up or down and
 * publishes the change to Kafka. On start, each ticker resumes from its last published value
 * (the topic's tail, else the records table), so its sequence never jumps.
 *
 * Exit codes: 0 after SIGINT/SIGTERM, 1 when the producer cannot go on (the reason is
 * logged: credentials rejected, a message Kafka refused for good, ...), 2 for a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <stdatomic.h>

#include "admin_server.h"
#include "config.h"
#include "log.h"
#include "publisher.h"
#include "seed.h"
#include "settings.h"
#include "shutdown.h"
#include "ticker_walk.h"
#include "timestamp.h"

/* A stop flushes what Kafka has not acknowledged yet for flush_timeout_ms; the rest of the
 * stop (closing the admin port, freeing) takes well under this. */
#define STOP_BEYOND_FLUSH_MS 4000

static atomic_bool publishing;

/* Runs on the admin server's thread. */
static bool is_healthy(void *unused, char *reason, size_t size)
{
    if (atomic_load(&publishing))
        return true;
    snprintf(reason, size, "starting: seeding from PostgreSQL and the Kafka topic");
    return false;
}

static uint64_t pick_random_seed(long long configured)
{
    if (configured != 0)
        return (uint64_t)configured;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (uint64_t)now.tv_sec * 1000000007ULL ^ (uint64_t)now.tv_nsec;
}

/* Serves delivery reports until `due_ms` (monotonic), noticing a stop within 100 ms. */
static int wait_until(struct publisher *publisher, int64_t due_ms, struct error *err)
{
    for (int64_t now_ms = timestamp_monotonic_ms(); now_ms < due_ms && !shutdown_requested();
         now_ms = timestamp_monotonic_ms()) {
        int64_t wait_ms = due_ms - now_ms;
        if (publisher_poll(publisher, wait_ms < 100 ? (int)wait_ms : 100, err) < 0)
            return -1;
    }
    return 0;
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
            wait_until(publisher, start_ms + settings->interval_ms * (int64_t)i / (int64_t)count, err) < 0)
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

static int run(const struct producer_settings *settings, struct admin_server **admin, struct error *err)
{
    struct ticker_walk *walk = ticker_walk_new((size_t)settings->tickers, pick_random_seed(settings->random_seed), err);
    struct publisher *publisher = NULL;
    int rc = walk != NULL ? 0 : -1;
    if (rc == 0 && settings->admin_port > 0 &&
        (*admin = admin_server_start((int)settings->admin_port, is_healthy, NULL, err)) == NULL)
        rc = -1;
    /* The topic must exist before its tail is read: publisher_open waits for it. */
    if (rc == 0 && (publisher = publisher_open(settings, err)) == NULL)
        rc = -1;
    if (rc == 0)
        rc = seed(settings, walk, err);

    if (rc == 0) {
        log_info("%lld tickers, one move each every %lld ms (%s)%s", settings->tickers, settings->interval_ms,
                 settings->spread_moves ? "spread over the interval" : "all at once",
                 settings->dry_run ? " (dry run: printing to stdout)" : "");
        atomic_store(&publishing, true);
    }
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
            rc = wait_until(publisher, interval_start_ms, err);
    }
    if (rc == 0)
        error_stopped(err, "publishing");
    shutdown_stopping();
    publisher_close(publisher, (int)settings->flush_timeout_ms);
    ticker_walk_destroy(walk);
    return rc;
}

int main(int argc, char **argv)
{
    struct producer_settings settings = {0};
    int exit_code;
    if (!config_load_daemon(&PRODUCER_CONFIG, argc, argv, &settings, &settings.shared, "producer", &exit_code))
        return exit_code;

    struct error err = {0};
    struct admin_server *admin = NULL;
    if (shutdown_init(NULL, NULL, (int)settings.flush_timeout_ms + STOP_BEYOND_FLUSH_MS, &err) == 0)
        run(&settings, &admin, &err);
    admin_server_stop(admin);
    exit_code = shutdown_exit_code(&err);
    log_info("stopped");
    config_free(&PRODUCER_CONFIG, &settings);
    return exit_code;
}
