#include "settings.h"

#include <stddef.h>

static const char *const KINDS[] = {"tickers", "trades", NULL};

static const struct config_option OPTIONS[] = {
    CONFIG_SHARED_OPTIONS(struct bridge_settings, shared),
    {"bridge.kind", "kind", CONFIG_CHOICE, offsetof(struct bridge_settings, kind), "tickers", 0, 0, KINDS,
     "what the topic carries, and so where it is stored: tickers (into records) or trades (into trades); run one "
     "bridge per kind, each in its own group"},
    CONFIG_GROUP_OPTIONS(struct bridge_settings, group, "bridge", "bridge", "tickerflow-bridge", "3000",
                         "messages fetched ahead per partition: more evens out a backlog's drain, fewer uses less "
                         "memory"),
    {"bridge.batch_max_rows", "batch-max-rows", CONFIG_INT, offsetof(struct bridge_settings, batch_max_rows), "20000",
     1, 100000, NULL, "write a batch once it holds this many messages"},
    {"bridge.batch_max_wait_ms", "batch-max-wait-ms", CONFIG_INT,
     offsetof(struct bridge_settings, batch_max_wait_ms), "100", 1, 60000, NULL,
     "write a batch at the latest this long after its first message arrived"},
    {"bridge.admin_port", "admin-port", CONFIG_INT, offsetof(struct bridge_settings, admin_port), "9102", 0, 65535,
     NULL, "port of /healthz and /metrics (0: off)"},
};

const struct config_spec BRIDGE_CONFIG = {
    .program = "tickerflow-bridge",
    .summary = "Consumes a topic in a consumer group and stores every message exactly once: ticker messages as rows "
               "of records, or trades as rows of trades.",
    .section = "bridge",
    .options = OPTIONS,
    .option_count = sizeof OPTIONS / sizeof OPTIONS[0],
};
