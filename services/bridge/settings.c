#include "settings.h"

#include <stddef.h>

static const struct config_option OPTIONS[] = {
    CONFIG_SHARED_OPTIONS(struct bridge_settings, shared),
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
    .summary = "Consumes the ticker topic and stores every message as a row of the records table.",
    .section = "bridge",
    .options = OPTIONS,
    .option_count = sizeof OPTIONS / sizeof OPTIONS[0],
};
