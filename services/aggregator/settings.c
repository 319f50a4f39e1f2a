#include "settings.h"

#include <stddef.h>

#define FIELD(name) offsetof(struct aggregator_settings, name)

static const char *const KINDS[] = {"tickers", "trades", NULL};

static const struct config_option OPTIONS[] = {
    CONFIG_SHARED_OPTIONS(struct aggregator_settings, shared),
    {"aggregator.kind", "kind", CONFIG_CHOICE, FIELD(kind), "tickers", 0, 0, KINDS,
     "what the topic carries, and so what is computed: tickers (candles of each ticker into candles_1m) or trades "
     "(candlesticks and buy/sell volumes of each currency pair into candlesticks and volumes); run one aggregator "
     "per kind, each in its own group"},
    CONFIG_GROUP_OPTIONS(struct aggregator_settings, group, "aggregator", "aggregator", "tickerflow-aggregator",
                         "10000",
                         "messages fetched ahead per partition: more evens out a backlog's drain, fewer uses less "
                         "memory (3000: ~31 MB and ~360k msgs/s, 10000: ~60 MB and 560-840k msgs/s in "
                         "bench/aggregator-drain)"),
    {"aggregator.out_of_orderness_ms", "out-of-orderness-ms", CONFIG_INT, FIELD(out_of_orderness_ms), "2000", 0,
     3600000, NULL,
     "how far the watermark trails the newest tick's time: a minute's candle is written once a tick this much "
     "past its end arrived"},
    {"aggregator.allowed_lateness_ms", "allowed-lateness-ms", CONFIG_INT, FIELD(allowed_lateness_ms), "60000", 0,
     86400000, NULL,
     "how long after its close a minute still takes late ticks (each rewrites its candle); later ones are "
     "counted and dropped"},
    {"aggregator.max_ahead_ms", "max-ahead-ms", CONFIG_INT, FIELD(max_ahead_ms), "1000", 0, 86400000, NULL,
     "a tick dated further than this past the clock (the earlier of the aggregator's and its Kafka timestamp) "
     "moves the watermark only that far: it waits in its minute, which closes when real ticks reach it, so a "
     "producer with a wrong clock cannot close the minutes of the others (counted, logged)"},
    {"aggregator.max_future_ms", "max-future-ms", CONFIG_INT, FIELD(max_future_ms), "300000", 0, 86400000, NULL,
     "refuse ticks whose time is this far past their Kafka timestamp (a tick held that long pins the replay of "
     "a restart; records still has it)"},
    {"aggregator.idle_timeout_ms", "idle-timeout-ms", CONFIG_INT, FIELD(idle_timeout_ms), "30000", 0, 3600000, NULL,
     "a partition silent this long is taken to move on in event time like the clock, so its last minutes close "
     "(and are written) although no later tick comes (0: never)"},
    {"aggregator.max_tickers", "max-tickers", CONFIG_INT, FIELD(max_tickers), "100000", 1, 100000000, NULL,
     "distinct tickers held per partition; ticks of further ones are refused (counted and logged)"},
    {"aggregator.max_held_ticks", "max-held-ticks", CONFIG_INT, FIELD(max_held_ticks), "1000000", 1, 1000000000,
     NULL,
     "ticks held per partition in the windows still open or taking corrections (24 bytes each); beyond, ticks are "
     "refused (counted and logged)"},
    {"aggregator.checkpoint_interval_ms", "checkpoint-interval-ms", CONFIG_INT, FIELD(checkpoint_interval_ms),
     "1000", 10, 60000, NULL,
     "how often closed candles and the offsets behind them are committed to PostgreSQL (one transaction)"},
    {"aggregator.admin_port", "admin-port", CONFIG_INT, FIELD(admin_port), "9104", 0, 65535, NULL,
     "port of /healthz and /metrics (0: off)"},
};

const struct config_spec AGGREGATOR_CONFIG = {
    .program = "tickerflow-aggregator",
    .summary = "Computes per-minute candlesticks and up/down moves of every ticker from the ticker topic into "
               "the candles_1m table; or, with --kind trades, per-minute candlesticks and bought/sold volumes of "
               "every currency pair from the trades topic into candlesticks and volumes, in exact decimals.",
    .section = "aggregator",
    .options = OPTIONS,
    .option_count = sizeof OPTIONS / sizeof OPTIONS[0],
};
