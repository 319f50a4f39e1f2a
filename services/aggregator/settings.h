#ifndef AGGREGATOR_SETTINGS_H
#define AGGREGATOR_SETTINGS_H

#include "config.h"

struct aggregator_settings {
    struct shared_settings shared;
    char *kind; /* "tickers" or "trades" */
    struct group_settings group;
    long long out_of_orderness_ms;
    long long allowed_lateness_ms;
    long long max_ahead_ms;
    long long max_future_ms;
    long long idle_timeout_ms;
    long long max_tickers;
    long long max_held_ticks;
    long long checkpoint_interval_ms;
    long long admin_port;
};

extern const struct config_spec AGGREGATOR_CONFIG;

#endif
