#ifndef API_SETTINGS_H
#define API_SETTINGS_H

#include "config.h"

struct api_settings {
    struct shared_settings shared;
    long long port;
    char *bind_address;
    char *frontend_dir;
    long long max_ahead_ms;
    char *allowed_origins; /* comma-separated; "*" any; the server's own origin always */
    long long query_threads;
    long long max_pending_queries;
    long long query_timeout_ms;
    long long history_max_limit;
    long long max_clients;
    long long client_queue_max;
    long long slow_client_timeout_ms;
    long long max_subscriptions;
    long long max_message_bytes;
    long long idle_timeout_s;
    long long heartbeat_interval_ms;
    long long live_queue_max;
    long long live_backfill;
    long long replay_ticks;
    long long max_tickers;
    char *trades_topic; /* "" : no pair subscriptions */
    long long admin_port;
};

extern const struct config_spec API_CONFIG;

#endif
