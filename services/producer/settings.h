#ifndef PRODUCER_SETTINGS_H
#define PRODUCER_SETTINGS_H

#include <stdbool.h>

#include "config.h"

struct producer_settings {
    struct shared_settings shared;
    char *source; /* "walk" or "trades" */
    long long tickers;
    long long interval_ms;
    bool spread_moves;
    bool dry_run;
    bool seed_from_database;
    long long random_seed;
    long long flush_timeout_ms;
    long long admin_port;
    /* source "trades": a live feed (feed_url) or a recorded file (replay_file), one of them */
    char *feed_url;
    char *feed_format;
    char *feed_api_key;
    long long feed_silence_ms;
    char *replay_file;
    long long replay_speed;
};

/* Checks what the option table cannot: that the options of the chosen source agree. */
int producer_settings_check(const struct producer_settings *settings, struct error *err);

extern const struct config_spec PRODUCER_CONFIG;

#endif
