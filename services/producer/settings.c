#include "settings.h"

#include <stddef.h>
#include <stdint.h>

static const struct config_option OPTIONS[] = {
    CONFIG_SHARED_OPTIONS(struct producer_settings, shared),
    {"producer.tickers", "tickers", CONFIG_INT, offsetof(struct producer_settings, tickers), "100", 1, 1000, NULL,
     "number of tickers, named ticker_00, ticker_01, ..."},
    {"producer.interval_ms", "interval-ms", CONFIG_INT, offsetof(struct producer_settings, interval_ms), "1000", 10,
     3600000, NULL, "milliseconds between two moves of every ticker"},
    {"producer.spread_moves", "spread-moves", CONFIG_BOOL, offsetof(struct producer_settings, spread_moves), "true", 0,
     0, NULL,
     "spread the tickers' moves evenly over each interval, each stamped with its own time (false: all at once, "
     "with one time)"},
    {"producer.dry_run", "dry-run", CONFIG_BOOL, offsetof(struct producer_settings, dry_run), "false", 0, 0, NULL,
     "print the JSON messages to stdout instead of publishing them to Kafka"},
    {"producer.seed_from_database", "seed-from-database", CONFIG_BOOL,
     offsetof(struct producer_settings, seed_from_database), "true", 0, 0, NULL,
     "start each ticker from its last value: the newest in the Kafka topic's tail, else in the records table "
     "(false: start at 0)"},
    {"producer.random_seed", "random-seed", CONFIG_INT, offsetof(struct producer_settings, random_seed), "0", 0,
     INT64_MAX, NULL, "seed of the random walk; 0 picks a new one at every start"},
    {"producer.flush_timeout_ms", "flush-timeout-ms", CONFIG_INT,
     offsetof(struct producer_settings, flush_timeout_ms), "5000", 0, 600000, NULL,
     "at shutdown, how long to wait for Kafka to acknowledge messages in flight (a stop takes at most this plus "
     "4 s)"},
    {"producer.admin_port", "admin-port", CONFIG_INT, offsetof(struct producer_settings, admin_port), "9101", 0, 65535,
     NULL, "port of /healthz and /metrics (0: off)"},
};

const struct config_spec PRODUCER_CONFIG = {
    .program = "tickerflow-producer",
    .summary = "Moves every ticker one step up or down each interval and publishes each change to Kafka.",
    .section = "producer",
    .options = OPTIONS,
    .option_count = sizeof OPTIONS / sizeof OPTIONS[0],
};
