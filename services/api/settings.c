#include "settings.h"

#include <stddef.h>

#define FIELD(name) offsetof(struct api_settings, name)

static const struct config_option OPTIONS[] = {
    CONFIG_SHARED_OPTIONS(struct api_settings, shared),
    {"api.port", "port", CONFIG_INT, FIELD(port), "5000", 1, 65535, NULL,
     "TCP port serving the dashboard, /api and the /ws WebSocket"},
    {"api.bind_address", "bind-address", CONFIG_STRING, FIELD(bind_address), "*", 1, 0, NULL,
     "IP address or interface to listen on; * for all"},
    {"api.frontend_dir", "frontend-dir", CONFIG_STRING, FIELD(frontend_dir), "frontend/dist", 1, 0, NULL,
     "folder with the built dashboard (index.html and assets)"},
    {"api.query_threads", "query-threads", CONFIG_INT, FIELD(query_threads), "2", 1, 64, NULL,
     "threads (each with its own Postgres connection) answering /api queries"},
    {"api.max_pending_queries", "max-pending-queries", CONFIG_INT, FIELD(max_pending_queries), "256", 1, 100000,
     NULL, "queries allowed to wait for a thread; beyond it requests get 503"},
    {"api.query_timeout_ms", "query-timeout-ms", CONFIG_INT, FIELD(query_timeout_ms), "5000", 10, 600000, NULL,
     "PostgreSQL cancels an API query running longer than this; the request gets 503"},
    {"api.history_max_limit", "history-max-limit", CONFIG_INT, FIELD(history_max_limit), "10000", 1, 1000000, NULL,
     "largest 'limit' a history request may ask for"},
    {"api.max_clients", "max-clients", CONFIG_INT, FIELD(max_clients), "10000", 1, 1000000, NULL,
     "WebSocket clients at once; one more is closed with code 1013 (try again later)"},
    {"api.client_queue_max", "client-queue-max", CONFIG_INT, FIELD(client_queue_max), "1024", 8, 1000000, NULL,
     "frames queued per WebSocket client; when full, its older ticks are coalesced (newest per ticker, "
     "with a gap message)"},
    {"api.slow_client_timeout_ms", "slow-client-timeout-ms", CONFIG_INT, FIELD(slow_client_timeout_ms), "10000", 100,
     3600000, NULL, "a client whose queue stays full this long is closed with code 4008 (too slow)"},
    {"api.max_subscriptions", "max-subscriptions", CONFIG_INT, FIELD(max_subscriptions), "100", 1, 100000, NULL,
     "tickers one WebSocket client may watch by name (\"*\", all of them, is not limited by this)"},
    {"api.max_message_bytes", "max-message-bytes", CONFIG_INT, FIELD(max_message_bytes), "16384", 64, 1048576, NULL,
     "longest WebSocket message a client may send; longer ones get an error"},
    {"api.idle_timeout_s", "idle-timeout-s", CONFIG_INT, FIELD(idle_timeout_s), "60", 2, 86400, NULL,
     "a WebSocket connection silent this long is pinged; silent twice as long, it is closed"},
    {"api.heartbeat_interval_ms", "heartbeat-interval-ms", CONFIG_INT, FIELD(heartbeat_interval_ms), "15000", 0,
     3600000, NULL, "every client gets {\"type\":\"heartbeat\"} this often (0: never)"},
    {"api.live_queue_max", "live-queue-max", CONFIG_INT, FIELD(live_queue_max), "100000", 100, 10000000, NULL,
     "messages waiting between the Kafka consumer and the WebSocket thread"},
    {"api.live_backfill", "live-backfill", CONFIG_INT, FIELD(live_backfill), "5000", 0, 10000000, NULL,
     "messages per partition read from before the end at start, to fill the recent windows"},
    {"api.replay_ticks", "replay-ticks", CONFIG_INT, FIELD(replay_ticks), "256", 0, 100000, NULL,
     "recent ticks kept in memory per ticker: resumes within them need no database query"},
    {"api.max_tickers", "max-tickers", CONFIG_INT, FIELD(max_tickers), "10000", 1, 1000000, NULL,
     "distinct tickers the server tracks (and as many currency pairs); later ones are not served"},
    {"api.trades_topic", "trades-topic", CONFIG_STRING, FIELD(trades_topic), "trades", 0, 0, NULL,
     "the trades topic whose currency pairs WebSocket clients may subscribe to (\"pairs\"); read only once it "
     "exists; empty: none"},
    {"api.max_ahead_ms", "max-ahead-ms", CONFIG_INT, FIELD(max_ahead_ms), "1000", 0, 86400000, NULL,
     "a value dated further than this past the server's clock (a producer with a wrong clock) is held back "
     "and sent live when its time comes, and left out of answers until then: one value from the future must "
     "not hide the ticker's present ones"},
    {"api.allowed_origins", "allowed-origins", CONFIG_STRING, FIELD(allowed_origins), "", 0, 0, NULL,
     "web pages allowed to open WebSockets besides the server's own, by Origin (comma-separated, e.g. "
     "https://dash.example.com; * allows any); clients that send no Origin (not browsers) are always allowed"},
    {"api.admin_port", "admin-port", CONFIG_INT, FIELD(admin_port), "9103", 0, 65535, NULL,
     "port of /healthz and /metrics (0: off)"},
};

const struct config_spec API_CONFIG = {
    .program = "tickerflow-api",
    .summary = "Serves the dashboard, ticker history over HTTP and live changes over WebSocket, on one port.",
    .section = "api",
    .options = OPTIONS,
    .option_count = sizeof OPTIONS / sizeof OPTIONS[0],
};
