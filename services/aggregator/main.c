/*
 * tickerflow-aggregator: per-minute candlesticks from the ticker topic. Consumes the topic
 * in its own consumer group, keeps event-time one-minute windows per ticker and upserts
 * each closed window's candle into candles_1m, with the offsets behind it in the same
 * transaction.
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

    struct error err;
    struct aggregator *aggregator = NULL;
    struct admin_server *admin = NULL;
    exit_code = EXIT_FAILURE;
    if (shutdown_init(NULL, NULL, &err) < 0 ||
        (settings.admin_port > 0 &&
         (admin = admin_server_start((int)settings.admin_port, is_healthy, NULL, &err)) == NULL) ||
        (aggregator = aggregator_open(&settings, &err)) == NULL) {
        if (shutdown_requested())
            exit_code = EXIT_SUCCESS; /* stopped while still starting */
        else
            log_error("%s", err.message);
        goto done;
    }

    atomic_store(&running_aggregator, aggregator);
    while (!shutdown_requested()) {
        aggregator_poll(aggregator, aggregator_time_to_checkpoint_ms(aggregator));
        if (aggregator_time_to_checkpoint_ms(aggregator) == 0)
            aggregator_checkpoint(aggregator);
        aggregator_report(aggregator);
    }
    exit_code = EXIT_SUCCESS;

done:
    admin_server_stop(admin); /* first: its health check reads the aggregator */
    atomic_store(&running_aggregator, NULL);
    aggregator_close(aggregator);
    log_info("stopped");
    config_free(&AGGREGATOR_CONFIG, &settings);
    return exit_code;
}
