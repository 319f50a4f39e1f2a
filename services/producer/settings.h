#ifndef PRODUCER_SETTINGS_H
#define PRODUCER_SETTINGS_H

#include <stdbool.h>

#include "config.h"

struct producer_settings {
    struct shared_settings shared;
    long long tickers;
    long long interval_ms;
    bool spread_moves;
    bool dry_run;
    bool seed_from_database;
    long long random_seed;
    long long flush_timeout_ms;
    long long admin_port;
};

extern const struct config_spec PRODUCER_CONFIG;

#endif
