#include "settings.h"

#include <stddef.h>

static const struct config_option OPTIONS[] = {
    CONFIG_SHARED_OPTIONS(struct bridge_settings, shared),
    {"bridge.group_id", "group-id", CONFIG_STRING, offsetof(struct bridge_settings, group_id), "tickerflow-bridge", 1,
     0, NULL, "Kafka consumer group; bridges in one group split the partitions"},
    {"bridge.instance_id", "instance-id", CONFIG_STRING, offsetof(struct bridge_settings, instance_id), "", 0, 0, NULL,
     "static group membership: a bridge restarted with the same id takes its partitions back at once, without "
     "a rebalance (empty: dynamic membership)"},
    {"bridge.session_timeout_ms", "session-timeout-ms", CONFIG_INT,
     offsetof(struct bridge_settings, session_timeout_ms), "45000", 6000, 300000, NULL,
     "how long the group waits for a silent bridge before giving its partitions to the others"},
    {"bridge.batch_max_rows", "batch-max-rows", CONFIG_INT, offsetof(struct bridge_settings, batch_max_rows), "20000",
     1, 100000, NULL, "write a batch once it holds this many messages"},
    {"bridge.batch_max_wait_ms", "batch-max-wait-ms", CONFIG_INT,
     offsetof(struct bridge_settings, batch_max_wait_ms), "100", 1, 60000, NULL,
     "write a batch at the latest this long after its first message arrived"},
    {"bridge.prefetch_messages", "prefetch-messages", CONFIG_INT, offsetof(struct bridge_settings, prefetch_messages),
     "3000", 100, 1000000, NULL,
     "messages fetched ahead per partition: more evens out a backlog's drain, fewer uses less memory"},
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
