#ifndef BRIDGE_SETTINGS_H
#define BRIDGE_SETTINGS_H

#include "config.h"

struct bridge_settings {
    struct shared_settings shared;
    char *kind; /* "tickers" or "trades" (row_format.h) */
    struct group_settings group;
    long long batch_max_rows;
    long long batch_max_wait_ms;
    long long admin_port;
};

extern const struct config_spec BRIDGE_CONFIG;

#endif
