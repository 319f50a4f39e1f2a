#include "trade_feed.h"

#include <inttypes.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "log.h"
#include "metrics.h"
#include "retry.h"
#include "timestamp.h"

#define PROTOCOL_NAME "tickerflow-feed"
#define FRAME_MAX (1024 * 1024)  /* longer frames are malformed */
#define WAKE_EVERY_US (100 * LWS_US_PER_MS)
#define PAIRS_MAX 1024           /* pairs whose last trade id is remembered */

struct seen_pair {
    char pair[TRADE_PAIR_MAX + 1];
    int64_t last_id;
};

struct trade_feed {
    struct trade_feed_settings settings;
    enum feed_format format;
    bool tls;
    char host[256];
    int port;
    char path[2048];
    char exchange[TRADE_NAME_MAX + 1]; /* CoinCap's path names it */
    trade_sink_fn *sink;
    void *sink_context;

    struct lws_context *lws;
    struct lws_protocols protocols[2];
    lws_sorted_usec_list_t wake; /* so that lws_service returns at least this often */
    struct lws *wsi;             /* NULL while not connecting nor connected */
    bool connected, ever_connected;
    int64_t next_connect_ms, last_frame_ms;
    struct backoff backoff;
    bool outage_logged;          /* the first failure of an outage is an ERROR, later ones warnings */

    char *frame;
    size_t frame_length;
    bool frame_too_long;
    bool sink_failed;
    struct error sink_error;
    struct seen_pair *seen;
    size_t seen_count;

    pthread_mutex_t lock; /* guards state, read by the admin server's thread */
    char state[300];

    struct metric *frames, *malformed, *reconnects, *duplicates, *connected_gauge;
};

/* The health text: "<what> <url>", and ": <detail>" when there is one. */
static void set_state(struct trade_feed *feed, const char *what, const char *detail)
{
    pthread_mutex_lock(&feed->lock);
    snprintf(feed->state, sizeof feed->state, "%s %s%s%s", what, feed->settings.url, detail[0] ? ": " : "", detail);
    pthread_mutex_unlock(&feed->lock);
}

bool trade_feed_connected(struct trade_feed *feed, char *reason, size_t size)
{
    pthread_mutex_lock(&feed->lock);
    bool connected = feed->connected;
    snprintf(reason, size, "%s", feed->state);
    pthread_mutex_unlock(&feed->lock);
    return connected;
}

/* ---- the URL ------------------------------------------------------------------------------ */

static int parse_url(struct trade_feed *feed, struct error *err)
{
    const char *url = feed->settings.url, *rest;
    if (strncmp(url, "wss://", 6) == 0) {
        feed->tls = true;
        rest = url + 6;
    } else if (strncmp(url, "ws://", 5) == 0) {
        rest = url + 5;
    } else {
        return error_permanent(err, "feed URL %s must start with ws:// or wss://", url);
    }
    size_t host_length = strcspn(rest, ":/?");
    if (host_length == 0 || host_length >= sizeof feed->host)
        return error_permanent(err, "feed URL %s has no host", url);
    memcpy(feed->host, rest, host_length);
    feed->host[host_length] = '\0';
    rest += host_length;
    feed->port = feed->tls ? 443 : 80;
    if (*rest == ':') {
        char *end;
        long port = strtol(rest + 1, &end, 10);
        if (end == rest + 1 || port < 1 || port > 65535 || (*end != '\0' && *end != '/' && *end != '?'))
            return error_permanent(err, "feed URL %s has an invalid port", url);
        feed->port = (int)port;
        rest = end;
    }
    const char *key = feed->settings.api_key;
    int length = snprintf(feed->path, sizeof feed->path, "%s%s%s%s", *rest == '/' ? "" : "/", rest,
                          key[0] == '\0' ? "" : strchr(rest, '?') != NULL ? "&apiKey=" : "?apiKey=", key);
    if (length < 0 || (size_t)length >= sizeof feed->path)
        return error_permanent(err, "feed URL %s is too long", url);
    int format = strcmp(feed->settings.format, "coincap") == 0   ? FEED_COINCAP
                 : strcmp(feed->settings.format, "binance") == 0 ? FEED_BINANCE
                                                                  : feed_format_of_url(feed->host, feed->path);
    if (format < 0)
        return error_permanent(err, "cannot tell the format of the feed %s from its URL: set producer.feed_format "
                                    "(coincap or binance)", url);
    feed->format = (enum feed_format)format;
    /* CoinCap's path names the exchange: /trades/<exchange>. */
    const char *exchange = strstr(feed->path, "/trades/");
    snprintf(feed->exchange, sizeof feed->exchange, "%.*s", exchange != NULL ? (int)strcspn(exchange + 8, "/?") : 7,
             exchange != NULL ? exchange + 8 : "coincap");
    return 0;
}

/* ---- frames ------------------------------------------------------------------------------ */

/* False when the feed sent this trade already (it numbers its trades per pair). */
static bool first_time(struct trade_feed *feed, const struct trade *trade)
{
    if (trade->trade_id == TRADE_NO_ID)
        return true;
    char pair[TRADE_PAIR_MAX + 1];
    trade_pair(trade, pair);
    for (size_t i = 0; i < feed->seen_count; i++) {
        if (strcmp(feed->seen[i].pair, pair) == 0) {
            if (trade->trade_id <= feed->seen[i].last_id)
                return false;
            feed->seen[i].last_id = trade->trade_id;
            return true;
        }
    }
    if (feed->seen_count < PAIRS_MAX) {
        snprintf(feed->seen[feed->seen_count].pair, sizeof feed->seen[0].pair, "%s", pair);
        feed->seen[feed->seen_count++].last_id = trade->trade_id;
    }
    return true;
}

static void handle_frame(struct trade_feed *feed, const char *frame, size_t length)
{
    metric_add(feed->frames, 1);
    feed->last_frame_ms = timestamp_monotonic_ms();
    if (log_enabled(LOG_DEBUG))
        log_debug("frame from %s: %.*s", feed->settings.url, (int)(length > 4096 ? 4096 : length), frame);
    struct trade trade;
    struct error err;
    enum feed_result result = feed_parse_frame(feed->format, frame, length, feed->exchange, &trade, &err);
    if (result == FEED_INVALID) {
        metric_add(feed->malformed, 1);
        int64_t so_far = metric_value(feed->malformed);
        if (so_far <= 10 || so_far % 1000 == 0)
            log_warn("malformed frame from %s, skipped (%" PRId64 " so far): %s", feed->settings.url, so_far,
                     err.message);
        return;
    }
    if (result == FEED_OTHER)
        return;
    if (!first_time(feed, &trade)) {
        metric_add(feed->duplicates, 1);
        log_debug("trade %" PRId64 " of %s/%s was published already: skipped", trade.trade_id, trade.base, trade.quote);
        return;
    }
    if (!feed->sink_failed && feed->sink(feed->sink_context, &trade, &feed->sink_error) < 0)
        feed->sink_failed = true;
}

/* ---- the connection ----------------------------------------------------------------------- */

static void schedule_reconnect(struct trade_feed *feed, const char *why)
{
    feed->connected = false;
    metric_set(feed->connected_gauge, 0);
    int wait_ms = backoff_next_ms(&feed->backoff);
    feed->next_connect_ms = timestamp_monotonic_ms() + wait_ms;
    if (!feed->outage_logged)
        log_error("feed %s: %s (connecting again in %d ms, and after that with backoff)", feed->settings.url, why,
                  wait_ms);
    else
        log_warn("feed %s: %s (connecting again in %d ms)", feed->settings.url, why, wait_ms);
    feed->outage_logged = true;
    set_state(feed, "not connected to", why);
}

static int on_event(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t length)
{
    struct trade_feed *feed = lws_context_user(lws_get_context(wsi));
    if (feed == NULL || (wsi != feed->wsi && reason != LWS_CALLBACK_WSI_DESTROY))
        return lws_callback_http_dummy(wsi, reason, user, in, length);
    char why[256];
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (in != NULL && strstr((const char *)in, "SSL") != NULL)
            snprintf(why, sizeof why, "cannot connect: the TLS handshake failed (%.180s)", (const char *)in);
        else
            snprintf(why, sizeof why, "cannot connect: %.200s", in != NULL ? (const char *)in : "no reason given");
        feed->wsi = NULL;
        schedule_reconnect(feed, why);
        return 0;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        feed->connected = true;
        feed->ever_connected = true;
        feed->outage_logged = false;
        feed->last_frame_ms = timestamp_monotonic_ms();
        backoff_reset(&feed->backoff);
        metric_set(feed->connected_gauge, 1);
        log_info("connected to the feed %s (%s format)", feed->settings.url,
                 feed->format == FEED_BINANCE ? "binance" : "coincap");
        set_state(feed, "connected to", "");
        return 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        if (feed->frame_length + length > FRAME_MAX) {
            feed->frame_too_long = true;
        } else {
            memcpy(feed->frame + feed->frame_length, in, length);
            feed->frame_length += length;
        }
        if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0) {
            if (feed->frame_too_long) {
                metric_add(feed->malformed, 1);
                log_warn("frame from %s longer than %d bytes, skipped", feed->settings.url, FRAME_MAX);
            } else {
                handle_frame(feed, feed->frame, feed->frame_length);
            }
            feed->frame_length = 0;
            feed->frame_too_long = false;
        }
        return 0;
    case LWS_CALLBACK_CLIENT_CLOSED:
        feed->wsi = NULL;
        schedule_reconnect(feed, "the connection was closed");
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        if (wsi == feed->wsi) {
            feed->wsi = NULL;
            if (feed->connected)
                schedule_reconnect(feed, "the connection ended");
        }
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, length);
    }
}

static void connect_now(struct trade_feed *feed)
{
    struct lws_client_connect_info info = {0};
    info.context = feed->lws;
    info.address = feed->host;
    info.port = feed->port;
    info.path = feed->path;
    info.host = feed->host;
    info.origin = feed->host;
    info.ssl_connection = feed->tls ? LCCSCF_USE_SSL : 0;
    info.local_protocol_name = PROTOCOL_NAME;
    info.pwsi = &feed->wsi;
    feed->frame_length = 0;
    feed->frame_too_long = false;
    set_state(feed, "connecting to", "");
    log_debug("connecting to %s (%s:%d%s)", feed->settings.url, feed->host, feed->port, feed->path);
    if (lws_client_connect_via_info(&info) == NULL && feed->wsi == NULL && feed->next_connect_ms <= timestamp_monotonic_ms())
        schedule_reconnect(feed, "cannot connect: the client could not start (host name not found?)");
}

static void on_wake(lws_sorted_usec_list_t *timer)
{
    struct trade_feed *feed = lws_container_of(timer, struct trade_feed, wake);
    lws_sul_schedule(feed->lws, 0, &feed->wake, on_wake, WAKE_EVERY_US);
}

static void forward_lws_log(int level, const char *line)
{
    log_message(level == LLL_ERR ? LOG_WARN : LOG_DEBUG, "lws: %.*s", (int)strcspn(line, "\n"), line);
}

int trade_feed_service(struct trade_feed *feed, int timeout_ms, struct error *err)
{
    int64_t until_ms = timestamp_monotonic_ms() + timeout_ms;
    do {
        int64_t now_ms = timestamp_monotonic_ms();
        if (feed->wsi == NULL && now_ms >= feed->next_connect_ms) {
            if (feed->ever_connected || feed->next_connect_ms > 0)
                metric_add(feed->reconnects, 1);
            feed->next_connect_ms = now_ms; /* connect_now's failure schedules the next try */
            connect_now(feed);
        }
        if (feed->connected && feed->wsi != NULL && now_ms - feed->last_frame_ms > feed->settings.silence_ms) {
            char why[96];
            snprintf(why, sizeof why, "no frame for %d ms (producer.feed_silence_ms)", feed->settings.silence_ms);
            struct lws *stale = feed->wsi;
            feed->wsi = NULL;
            schedule_reconnect(feed, why);
            lws_set_timeout(stale, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        }
        lws_service(feed->lws, 0);
        if (feed->sink_failed) {
            *err = feed->sink_error;
            return -1;
        }
    } while (timestamp_monotonic_ms() < until_ms);
    return 0;
}

struct trade_feed *trade_feed_open(const struct trade_feed_settings *settings, trade_sink_fn *sink, void *context,
                                   struct error *err)
{
    struct trade_feed *feed = calloc(1, sizeof *feed);
    if (feed == NULL || (feed->frame = malloc(FRAME_MAX)) == NULL ||
        (feed->seen = calloc(PAIRS_MAX, sizeof *feed->seen)) == NULL) {
        if (feed != NULL)
            free(feed->frame);
        free(feed);
        error_set(err, "out of memory");
        return NULL;
    }
    feed->settings = *settings;
    feed->sink = sink;
    feed->sink_context = context;
    pthread_mutex_init(&feed->lock, NULL);
    backoff_init(&feed->backoff, retry_seed());
    if (parse_url(feed, err) < 0) {
        trade_feed_close(feed);
        return NULL;
    }
    set_state(feed, "connecting to", "");
    feed->frames = metrics_counter("tickerflow_producer_feed_frames_total", "Frames received from the trade feed");
    feed->malformed = metrics_counter("tickerflow_producer_feed_malformed_total",
                                      "Frames of the trade feed that were not valid, skipped");
    feed->reconnects = metrics_counter("tickerflow_producer_feed_reconnects_total",
                                       "Connections to the trade feed made again after a close, failure or silence");
    feed->duplicates = metrics_counter("tickerflow_producer_feed_duplicates_total",
                                       "Trades the feed sent again (same pair and trade id), not published twice");
    feed->connected_gauge = metrics_gauge("tickerflow_producer_feed_connected", "1 while connected to the trade feed");

    lws_set_log_level(LLL_ERR | LLL_WARN | (log_enabled(LOG_DEBUG) ? LLL_NOTICE : 0), forward_lws_log);
    feed->protocols[0] = (struct lws_protocols){.name = PROTOCOL_NAME, .callback = on_event, .rx_buffer_size = 65536};
    struct lws_context_creation_info info = {0};
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = feed->protocols;
    info.user = feed;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.gid = (gid_t)-1;
    info.uid = (uid_t)-1;
    feed->lws = lws_create_context(&info);
    if (feed->lws == NULL) {
        error_set(err, "cannot create the WebSocket client for %s", settings->url);
        trade_feed_close(feed);
        return NULL;
    }
    lws_sul_schedule(feed->lws, 0, &feed->wake, on_wake, WAKE_EVERY_US);
    return feed;
}

void trade_feed_close(struct trade_feed *feed)
{
    if (feed == NULL)
        return;
    if (feed->lws != NULL)
        lws_context_destroy(feed->lws);
    pthread_mutex_destroy(&feed->lock);
    free(feed->seen);
    free(feed->frame);
    free(feed);
}
