/*
 * tickerflow-aggregator: per-minute candlesticks from the ticker topic. Consumes the topic
 * in its own consumer group, keeps event-time one-minute windows per ticker and upserts
 * each closed window's candle into candles_1m, with the offsets behind it in the same
 * transaction.
 *
 * Exit codes: 0 after SIGINT/SIGTERM, 1 when the aggregator cannot go on (the reason is
 * logged), 2 for a usage error.
 */
#include <stdio.h>
#include <stdlib.h>

#include <stdatomic.h>

#include "admin_server.h"
#include "aggregator.h"
#include "config.h"
#include "log.h"
#include "settings.h"
#include "shutdown.h"

static _Atomic(struct aggregator *) running_aggregator;

/* Runs on the admin server's thread. */
static bool is_healthy(void *unused, char *reason, size_t size)
{
    struct aggregator *aggregator = atomic_load(&running_aggregator);
    if (aggregator != NULL)
        return aggregator_is_healthy(aggregator, reason, size);
    snprintf(reason, size, "starting: connecting to PostgreSQL");
    return false;
}

int main(int argc, char **argv)
{
    struct aggregator_settings settings = {0};
    int exit_code;
    if (!config_load_daemon(&AGGREGATOR_CONFIG, argc, argv, &settings, &settings.shared, "aggregator", &exit_code))
        return exit_code;

    struct error err = {0};
    struct aggregator *aggregator = NULL;
    struct admin_server *admin = NULL;
    int rc = shutdown_init(NULL, NULL, SHUTDOWN_DEADLINE_MS, &err);
    if (rc == 0 && settings.admin_port > 0 &&
        (admin = admin_server_start((int)settings.admin_port, is_healthy, NULL, &err)) == NULL)
        rc = -1;
    if (rc == 0 && (aggregator = aggregator_open(&settings, &err)) == NULL)
        rc = -1;

    atomic_store(&running_aggregator, aggregator);
    while (rc == 0 && !shutdown_requested()) {
        rc = aggregator_poll(aggregator, aggregator_time_to_checkpoint_ms(aggregator), &err);
        if (rc == 0 && aggregator_time_to_checkpoint_ms(aggregator) == 0)
            rc = aggregator_checkpoint(aggregator, &err);
        aggregator_report(aggregator);
    }
    if (rc == 0)
        error_stopped(&err, "consuming");
    shutdown_stopping();

    admin_server_stop(admin); /* first: its health check reads the aggregator */
    atomic_store(&running_aggregator, NULL);
    aggregator_close(aggregator);
    exit_code = shutdown_exit_code(&err);
    log_info("stopped");
    config_free(&AGGREGATOR_CONFIG, &settings);
    return exit_code;
}
