#ifndef BRIDGE_SETTINGS_H
#define BRIDGE_SETTINGS_H

#include "config.h"

struct bridge_settings {
    struct shared_settings shared;
    char *group_id;
    char *instance_id;
    long long session_timeout_ms;
    long long batch_max_rows;
    long long batch_max_wait_ms;
    long long prefetch_messages;
    long long admin_port;
};

extern const struct config_spec BRIDGE_CONFIG;

#endif
