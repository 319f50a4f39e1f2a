/*
 * tickerflow-producer: publishes to Kafka what its source makes (source.h): by default the
 * random walk of the tickers (walk_source.c), or with --source trades the market trades of a
 * live feed or a recorded file (trade_source.c). --dry-run prints the messages instead.
 *
 * Exit codes: 0 after SIGINT/SIGTERM, 1 when the producer cannot go on (the reason is
 * logged: credentials rejected, a message Kafka refused for good, ...), 2 for a usage error.
 */
#include <stdio.h>
#include <string.h>

#include "admin_server.h"
#include "config.h"
#include "log.h"
#include "publisher.h"
#include "settings.h"
#include "shutdown.h"
#include "source.h"

/* A stop flushes what Kafka has not acknowledged yet for flush_timeout_ms; the rest of the
 * stop (closing the admin port, freeing) takes well under this. */
#define STOP_BEYOND_FLUSH_MS 4000

static int run(const struct producer_settings *settings, struct source_health *health, struct admin_server **admin,
               struct error *err)
{
    if (settings->admin_port > 0 &&
        (*admin = admin_server_start((int)settings->admin_port, source_health_get, health, err)) == NULL)
        return -1;
    /* The topic must exist before its tail is read: publisher_open waits for it. */
    struct publisher *publisher = publisher_open(settings, err);
    if (publisher == NULL)
        return -1;
    int rc = strcmp(settings->source, "trades") == 0 ? trade_source_run(settings, publisher, health, err)
                                                     : walk_source_run(settings, publisher, health, err);
    if (rc == 0)
        error_stopped(err, "publishing");
    shutdown_stopping();
    publisher_close(publisher, (int)settings->flush_timeout_ms);
    return rc;
}

int main(int argc, char **argv)
{
    struct producer_settings settings = {0};
    int exit_code;
    if (!config_load_daemon(&PRODUCER_CONFIG, argc, argv, &settings, &settings.shared, "producer", &exit_code))
        return exit_code;

    struct error err = {0};
    if (producer_settings_check(&settings, &err) < 0) {
        fprintf(stderr, "%s: %s\n", PRODUCER_CONFIG.program, err.message);
        config_free(&PRODUCER_CONFIG, &settings);
        return 2;
    }
    struct source_health health;
    source_health_init(&health, strcmp(settings.source, "trades") == 0
                                    ? "starting: waiting for the Kafka topic"
                                    : "starting: seeding from PostgreSQL and the Kafka topic");
    struct admin_server *admin = NULL;
    if (shutdown_init(NULL, NULL, (int)settings.flush_timeout_ms + STOP_BEYOND_FLUSH_MS, &err) == 0)
        run(&settings, &health, &admin, &err);
    admin_server_stop(admin);
    exit_code = shutdown_exit_code(&err);
    log_info("stopped");
    config_free(&PRODUCER_CONFIG, &settings);
    return exit_code;
}
