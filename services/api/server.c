#include "server.h"

#include <ev.h>
#include <inttypes.h>
#include <libwebsockets.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "frame.h"
#include "history_store.h"
#include "live_feed.h"
#include "live_hub.h"
#include "log.h"
#include "metrics.h"
#include "query_pool.h"
#include "request.h"
#include "timestamp.h"

#define LIVE_PROTOCOL "tickerflow-live"
#define API_PROTOCOL "tickerflow-api"
#define WEBSOCKET_PATH "/ws"
#define HTTP_CHUNK 16384
#define MAX_ARGUMENTS 16
#define ARGUMENT_MAX 256

/* Per HTTP request on /api (lws allocates it zeroed and frees it when the request ends). */
struct http_session {
    struct lws *wsi;
    struct query_job *job; /* submitted and unanswered; owned by the query pool meanwhile */
    int status;
    char *body; /* owned: the JSON answer */
    size_t body_length, sent;
    bool headers_sent;
};

struct api_server {
    const struct api_settings *settings;
    struct ev_loop *loop; /* owned; lws runs on it as a "foreign" loop */
    struct lws_context *context;
    struct live_feed *feed;
    struct live_feed *trades_feed; /* NULL without api.trades_topic */
    struct query_pool *pool;
    struct live_hub *hub;
    struct history_store_settings store_settings;
    lws_sorted_usec_list_t heartbeat_timer;
    lws_sorted_usec_list_t release_timer; /* when the next held value is due (live_hub_release_due) */
    lws_sorted_usec_list_t flush_timer;   /* when the next batched frame is due (live_hub_flush_due) */
    lws_retry_bo_t idle_policy;
    char frontend_path[PATH_MAX];
    struct lws_http_mount mounts[2];
    struct lws_protocols protocols[3];
    struct metric *http_rejected;
    struct metric *origin_refused;
    struct metric *http_overloaded;
};

static struct api_server *server_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

/* ---- WebSocket clients: the protocol lives in live_hub.c ------------------------------ */

static void on_release_timer(lws_sorted_usec_list_t *timer);

/* Values dated ahead of the clock wait in the hub: look again when the next is due. */
static void schedule_release(struct api_server *server, int64_t wait_us)
{
    if (wait_us >= 0)
        lws_sul_schedule(server->context, 0, &server->release_timer, on_release_timer,
                         wait_us < LWS_US_PER_MS ? LWS_US_PER_MS : (lws_usec_t)wait_us);
}

static void on_release_timer(lws_sorted_usec_list_t *timer)
{
    struct api_server *server = lws_container_of(timer, struct api_server, release_timer);
    schedule_release(server, live_hub_release_due(server->hub));
}

static void on_flush_timer(lws_sorted_usec_list_t *timer);

/* Sends the batched frames due and sets the timer for the next: after anything that may
 * have added to a batch. */
static void schedule_flush(struct api_server *server)
{
    int64_t wait_us = live_hub_flush_due(server->hub);
    if (wait_us >= 0)
        lws_sul_schedule(server->context, 0, &server->flush_timer, on_flush_timer,
                         wait_us < 100 ? 100 : (lws_usec_t)wait_us);
}

static void on_flush_timer(lws_sorted_usec_list_t *timer)
{
    schedule_flush(lws_container_of(timer, struct api_server, flush_timer));
}

/* Runs on the service thread after another thread called lws_cancel_service. */
static void deliver_live_ticks(struct api_server *server)
{
    live_hub_deliver(server->hub, live_feed_take(server->feed));
    if (server->trades_feed != NULL)
        live_hub_deliver_trades(server->hub, live_feed_take(server->trades_feed));
    schedule_release(server, live_hub_release_due(server->hub));
    schedule_flush(server);
}

static int is_websocket_path(struct lws *wsi)
{
    char path[64];
    return lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI) > 0 && strcmp(path, WEBSOCKET_PATH) == 0;
}

/* Refuses the handshake of a browser page from another site (cross-site WebSocket
 * hijacking) unless api.allowed_origins lists it: counted and logged. */
static bool is_allowed_origin(struct api_server *server, struct lws *wsi)
{
    char origin[256] = "", host[256] = "";
    if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) >= (int)sizeof origin) {
        metric_add(server->origin_refused, 1);
        log_warn("WebSocket refused: Origin header longer than %zu bytes", sizeof origin - 1);
        return false;
    }
    lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN);
    lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST);
    if (origin_allowed(origin, host, server->settings->allowed_origins))
        return true;
    metric_add(server->origin_refused, 1);
    if (metric_value(server->origin_refused) % 100 == 1)
        log_warn("WebSocket refused for Origin %.128s (not this server's, not in api.allowed_origins): %" PRId64
                 " so far", origin, metric_value(server->origin_refused));
    return false;
}

static void deliver_query_answers(struct api_server *server);
static void schedule_heartbeat(struct api_server *server);

static int on_live_event(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t length)
{
    struct api_server *server = server_of(wsi);
    struct ws_client *client = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return is_websocket_path(wsi) && is_allowed_origin(server, wsi) ? 0 : -1;
    case LWS_CALLBACK_ESTABLISHED:
        return live_hub_open(server->hub, client, wsi);
    case LWS_CALLBACK_CLOSED:
        live_hub_close(server->hub, client);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        live_hub_receive(server->hub, client, in, length);
        schedule_flush(server);
        return 0;
    case LWS_CALLBACK_RECEIVE_PONG:
        live_hub_heard(client);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE: /* a client that caught up may join a stream: at the next flush */
        return live_hub_writeable(server->hub, client);
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        /* Sent to every protocol; this one handles it for the server. */
        if (server != NULL && server->feed != NULL) {
            deliver_live_ticks(server);
            deliver_query_answers(server);
        }
        return 0;
    default:
        /* As the first protocol this one also sees the static file transfers: lws's
         * default handling ends each transaction so keep-alive connections stay usable. */
        return lws_callback_http_dummy(wsi, reason, user, in, length);
    }
}

/* ---- HTTP API ---------------------------------------------------------------------- */

static void respond(struct http_session *session, int status, char *body)
{
    session->status = status;
    session->body = body;
    session->body_length = body != NULL ? strlen(body) : 0;
    lws_callback_on_writable(session->wsi);
}

static void respond_error(struct api_server *server, struct http_session *session, int status, const char *path,
                          const char *reason)
{
    if (status == 400) {
        metric_add(server->http_rejected, 1);
        log_info("400 for %.64s (%" PRId64 " rejected so far): %s", path, metric_value(server->http_rejected), reason);
    }
    respond(session, status, api_error_body(reason));
}

/* Copies the URL-decoded query arguments ("key=value") into `storage`. Returns the count,
 * or -1 when there are too many or one is too long. */
static int collect_arguments(struct lws *wsi, char storage[][ARGUMENT_MAX], const char *arguments[])
{
    int count = 0;
    for (;; count++) {
        int length = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, count);
        if (length <= 0)
            return count;
        if (count == MAX_ARGUMENTS || length >= ARGUMENT_MAX ||
            lws_hdr_copy_fragment(wsi, storage[count], ARGUMENT_MAX, WSI_TOKEN_HTTP_URI_ARGS, count) < 0)
            return -1;
        arguments[count] = storage[count];
    }
}

/* The route's query parameters, into the job. */
static int parse_arguments(struct api_server *server, struct query_job *job, const char *const *arguments,
                           size_t count, struct error *err)
{
    int max_rows = (int)server->settings->history_max_limit;
    switch (job->route) {
    case API_ROUTE_TICKERS:
        return no_arguments_parse(arguments, count, err);
    case API_ROUTE_HISTORY:
        return history_query_parse(arguments, count, max_rows, &job->history, err);
    case API_ROUTE_CANDLES:
    case API_ROUTE_MARKET_CANDLES:
        memcpy(job->candles.name, job->history.name, sizeof job->candles.name);
        return candles_query_parse(arguments, count, max_rows, timestamp_now_us(), &job->candles, err);
    case API_ROUTE_MARKETS:
        return no_arguments_parse(arguments, count, err);
    case API_ROUTE_MARKET_TRADES:
        return trades_query_parse(arguments, count, max_rows, &job->history, err);
    }
    return error_set(err, "no such endpoint");
}

static void handle_request(struct api_server *server, struct http_session *session, struct lws *wsi, const char *path)
{
    session->wsi = wsi;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0) {
        respond_error(server, session, 405, path, "only GET is supported");
        return;
    }
    struct error err;
    int status;
    struct query_job *job = query_job_new();
    if (job == NULL) {
        respond_error(server, session, 503, path, "out of memory");
        return;
    }
    char key[API_KEY_MAX + 1];
    if (api_route_parse(path, &job->route, key, &status, &err) < 0) {
        query_job_free(job);
        respond_error(server, session, status, path, err.message);
        return;
    }
    /* A ticker's name fits history.name; a pair goes to the market routes' own field. */
    if (job->route == API_ROUTE_HISTORY || job->route == API_ROUTE_CANDLES)
        snprintf(job->history.name, sizeof job->history.name, "%s", key);
    else
        snprintf(job->pair, sizeof job->pair, "%s", key);
    char storage[MAX_ARGUMENTS][ARGUMENT_MAX];
    const char *arguments[MAX_ARGUMENTS];
    int count = collect_arguments(wsi, storage, arguments);
    int rc = count < 0 ? error_set(&err, "too many or too long query parameters (at most %d of %d bytes)",
                                   MAX_ARGUMENTS, ARGUMENT_MAX - 1)
                       : parse_arguments(server, job, arguments, (size_t)count, &err);
    if (rc < 0) {
        query_job_free(job);
        respond_error(server, session, 400, path, err.message);
        return;
    }
    job->session = session;
    if (query_pool_submit(server->pool, job) < 0) {
        query_job_free(job);
        metric_add(server->http_overloaded, 1);
        if (metric_value(server->http_overloaded) % 100 == 1)
            log_warn("503: api.max_pending_queries (%lld) queries already waiting (%" PRId64 " refused so far)",
                     server->settings->max_pending_queries, metric_value(server->http_overloaded));
        respond_error(server, session, 503, path, "too many queries waiting; retry shortly");
        return;
    }
    session->job = job;
}

static void deliver_query_answers(struct api_server *server)
{
    for (struct query_job *job = query_pool_take_done(server->pool), *next; job != NULL; job = next) {
        next = job->next;
        if (job->kind == QUERY_RESUME) {
            live_hub_resume_answered(server->hub, job);
            schedule_flush(server);
            continue;
        }
        struct http_session *session = job->session;
        if (session != NULL) {
            session->job = NULL;
            respond(session, job->status, job->body);
            session->body_length = job->body_length;
            job->body = NULL; /* the session owns it now */
        }
        query_job_free(job);
    }
}

static int write_headers(struct http_session *session)
{
    unsigned char buffer[LWS_PRE + 512];
    unsigned char *start = buffer + LWS_PRE, *position = start, *end = buffer + sizeof buffer;
    if (lws_add_http_common_headers(session->wsi, (unsigned)session->status, "application/json",
                                    session->body_length, &position, end) ||
        lws_add_http_header_by_token(session->wsi, WSI_TOKEN_HTTP_CACHE_CONTROL, (const unsigned char *)"no-store", 8,
                                     &position, end) ||
        lws_finalize_write_http_header(session->wsi, start, &position, end))
        return -1;
    session->headers_sent = true;
    return 0;
}

/* Sends headers, then the body in chunks, one write per writeable callback. */
static int write_response(struct http_session *session)
{
    if (session->job != NULL)
        return 0; /* still waiting for the query */
    if (session->body == NULL)
        return -1; /* out of memory building the answer: drop the connection */
    if (!session->headers_sent) {
        if (write_headers(session) < 0)
            return -1;
        lws_callback_on_writable(session->wsi);
        return 0;
    }
    unsigned char buffer[LWS_PRE + HTTP_CHUNK];
    size_t chunk = session->body_length - session->sent;
    if (chunk > HTTP_CHUNK)
        chunk = HTTP_CHUNK;
    bool last = session->sent + chunk == session->body_length;
    memcpy(buffer + LWS_PRE, session->body + session->sent, chunk);
    if (lws_write(session->wsi, buffer + LWS_PRE, chunk, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)chunk)
        return -1;
    session->sent += chunk;
    if (!last) {
        lws_callback_on_writable(session->wsi);
        return 0;
    }
    return lws_http_transaction_completed(session->wsi) ? -1 : 0;
}

/* Forgets the request; a query still running is left to finish and be discarded. */
static void end_request(struct http_session *session)
{
    if (session->job != NULL)
        session->job->session = NULL;
    free(session->body);
    memset(session, 0, sizeof *session);
}

static int on_api_event(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t length)
{
    struct http_session *session = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        end_request(session);
        handle_request(server_of(wsi), session, wsi, in != NULL ? (const char *)in : "");
        return 0;
    case LWS_CALLBACK_HTTP_BODY:
        return 0; /* no endpoint takes a body; the 405 goes out once it has been read */
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return write_response(session);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        if (session != NULL)
            end_request(session);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, length);
    }
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static void forward_lws_log(int level, const char *line)
{
    enum log_level ours = level == LLL_ERR ? LOG_ERROR : level == LLL_WARN ? LOG_WARN : LOG_DEBUG;
    log_message(ours, "lws: %.*s", (int)strcspn(line, "\n"), line);
}

static void wake_from_thread(void *context)
{
    api_server_wake(context);
}

/* ---- the query pool's answerers: one history_store per worker --------------------------- */

static void *open_store(void *settings)
{
    return history_store_new(settings);
}

static void answer_with_store(void *store, struct query_job *job)
{
    history_store_answer(store, job);
}

static void interrupt_store(void *store)
{
    history_store_interrupt(store);
}

static void close_store(void *store)
{
    history_store_destroy(store);
}

/* Checks the database settings once (credentials PostgreSQL refuses stop the server; a
 * database that is only away does not: history answers 503 until it is back), then starts
 * the workers. */
static int start_query_pool(struct api_server *server, struct error *err)
{
    const struct api_settings *settings = server->settings;
    server->store_settings = (struct history_store_settings){
        .database_url = settings->shared.database_url,
        .query_timeout_ms = (int)settings->query_timeout_ms,
        .max_ahead_ms = settings->max_ahead_ms,
        .timeouts = metrics_counter("tickerflow_api_query_timeouts_total",
                                    "History and candle queries cancelled at api.query_timeout_ms (answered 503)"),
    };
    struct error check;
    if (history_store_check(&server->store_settings, &check) < 0) {
        if (check.kind == ERROR_PERMANENT) {
            *err = check;
            return -1;
        }
        log_warn("PostgreSQL not ready (history answers 503 until it is): %s", check.message);
    }
    const struct query_answerer answerer = {open_store, answer_with_store, interrupt_store, close_store,
                                            &server->store_settings};
    server->pool = query_pool_start((int)settings->query_threads, (size_t)settings->max_pending_queries, &answerer,
                                    wake_from_thread, server, err);
    return server->pool != NULL ? 0 : -1;
}

static void on_heartbeat_timer(lws_sorted_usec_list_t *timer)
{
    struct api_server *server = lws_container_of(timer, struct api_server, heartbeat_timer);
    live_hub_heartbeat_slice(server->hub);
    schedule_heartbeat(server);
}

static void schedule_heartbeat(struct api_server *server)
{
    if (server->settings->heartbeat_interval_ms > 0)
        lws_sul_schedule(server->context, 0, &server->heartbeat_timer, on_heartbeat_timer,
                         (lws_usec_t)server->settings->heartbeat_interval_ms * LWS_US_PER_MS /
                             LIVE_HUB_HEARTBEAT_SLICES);
}

static int resolve_frontend(struct api_server *server, struct error *err)
{
    const char *folder = server->settings->frontend_dir;
    if (realpath(folder, server->frontend_path) == NULL)
        return error_set(err, "frontend folder %s not found (build it: npm --prefix frontend run build)", folder);
    char index[PATH_MAX + 16];
    snprintf(index, sizeof index, "%s/index.html", server->frontend_path);
    if (access(index, R_OK) != 0)
        return error_set(err, "%s has no index.html (build it: npm --prefix frontend run build)", folder);
    return 0;
}

/* Each WebSocket client is a file descriptor: raise the soft open-file limit towards what
 * api.max_clients needs (up to the hard limit), and say so when that is not enough. */
static void ensure_file_limit(long long max_clients)
{
    struct rlimit limit;
    rlim_t needed = (rlim_t)max_clients + 1024; /* HTTP, Kafka, PostgreSQL, files */
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= needed)
        return;
    rlim_t soft = limit.rlim_max == RLIM_INFINITY || limit.rlim_max > needed ? needed : limit.rlim_max;
    if (soft > limit.rlim_cur) {
        limit.rlim_cur = soft;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
    if (soft < needed)
        log_warn("open file limit %llu is below what api.max_clients (%lld) needs (%llu): raise it (ulimit -n) or "
                 "lower api.max_clients", (unsigned long long)soft, max_clients, (unsigned long long)needed);
}

static void describe_routes(struct api_server *server)
{
    server->protocols[0] = (struct lws_protocols){
        /* First: WebSocket clients that name no subprotocol land here. */
        .name = LIVE_PROTOCOL,
        .callback = on_live_event,
        .per_session_data_size = WS_CLIENT_SIZE,
        .rx_buffer_size = 4096, /* read size; messages up to api.max_message_bytes are reassembled */
    };
    server->protocols[1] = (struct lws_protocols){
        .name = API_PROTOCOL,
        .callback = on_api_event,
        .per_session_data_size = sizeof(struct http_session),
    };
    server->mounts[0] = (struct lws_http_mount){
        .mount_next = &server->mounts[1],
        .mountpoint = "/api",
        .origin = API_PROTOCOL,
        .origin_protocol = LWSMPRO_CALLBACK,
        .mountpoint_len = 4,
    };
    server->mounts[1] = (struct lws_http_mount){
        .mountpoint = "/",
        .origin = server->frontend_path,
        .def = "index.html",
        .origin_protocol = LWSMPRO_FILE,
        .mountpoint_len = 1,
    };
}

struct api_server *api_server_start(const struct api_settings *settings, struct error *err)
{
    struct api_server *server = calloc(1, sizeof *server);
    if (server == NULL) {
        error_set(err, "out of memory");
        return NULL;
    }
    server->settings = settings;
    server->http_rejected = metrics_counter("tickerflow_api_http_rejected_total", "HTTP requests answered with 400");
    server->http_overloaded = metrics_counter("tickerflow_api_http_overloaded_total",
                                              "HTTP requests answered 503: api.max_pending_queries were waiting");
    server->origin_refused = metrics_counter("tickerflow_api_ws_origin_refused_total",
                                             "WebSocket handshakes refused for their Origin (api.allowed_origins)");
    if (resolve_frontend(server, err) < 0)
        goto fail;
    ensure_file_limit(settings->max_clients);
    describe_routes(server);

    /* libwebsockets' own notices are for debugging the server: only at --log-level debug. */
    lws_set_log_level(LLL_ERR | LLL_WARN | (log_enabled(LOG_DEBUG) ? LLL_NOTICE | LLL_INFO : 0), forward_lws_log);
    struct lws_context_creation_info info = {0};
    info.port = (int)settings->port;
    info.iface = strcmp(settings->bind_address, "*") == 0 ? NULL : settings->bind_address;
    info.protocols = server->protocols;
    info.mounts = server->mounts;
    info.user = server;
    info.vhost_name = "tickerflow";
    /* Idle connections: lws pings after idle_timeout_s of silence and hangs up after twice that. */
    server->idle_policy.secs_since_valid_ping = (uint16_t)settings->idle_timeout_s;
    server->idle_policy.secs_since_valid_hangup = (uint16_t)(settings->idle_timeout_s * 2 > 65535 ? 65535 : settings->idle_timeout_s * 2);
    info.retry_and_idle_policy = &server->idle_policy;
    /* No info.fd_limit_per_thread: below the open-file limit it makes lws find a socket's
     * connection by a linear scan of its table on every event (O(clients)); without it lws
     * sizes the table by that limit, which ensure_file_limit raised, and indexes it by fd. */
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND |
                   LWS_SERVER_OPTION_LIBEV;
    /* lws's own loop calls poll() over every descriptor on each turn: with 10,000 clients
     * that scan cost more than the sends. libev's epoll backend only reports the ready ones.
     * The loop is ours ("foreign"), so lws leaves the signals to common/shutdown.c. */
    server->loop = ev_loop_new(EVBACKEND_EPOLL);
    if (server->loop == NULL && (server->loop = ev_loop_new(EVFLAG_AUTO)) == NULL) {
        error_set(err, "cannot create the event loop");
        goto fail;
    }
    void *foreign_loops[] = {server->loop};
    info.foreign_loops = foreign_loops;
    server->context = lws_create_context(&info);
    if (server->context == NULL) {
        error_set(err, "cannot listen on %s:%lld (port in use? or libwebsockets' libev plugin missing: Debian "
                       "package libwebsockets-evlib-ev)", settings->bind_address, settings->port);
        goto fail;
    }
    if (start_query_pool(server, err) < 0)
        goto fail;
    server->hub = live_hub_new(settings, server->pool, err);
    if (server->hub == NULL)
        goto fail;
    schedule_heartbeat(server);
    server->feed = live_feed_start(LIVE_FEED_TICKERS, settings->shared.kafka_brokers, settings->shared.kafka_topic,
                                   (size_t)settings->live_queue_max, settings->live_backfill, wake_from_thread, server,
                                   err);
    if (server->feed == NULL)
        goto fail;
    if (settings->trades_topic[0] != '\0') {
        server->trades_feed = live_feed_start(LIVE_FEED_TRADES, settings->shared.kafka_brokers, settings->trades_topic,
                                              (size_t)settings->live_queue_max, settings->live_backfill,
                                              wake_from_thread, server, err);
        if (server->trades_feed == NULL)
            goto fail;
    }
    log_info("serving http://localhost:%lld/ (dashboard from %s, API under /api, WebSocket %s)", settings->port,
             server->frontend_path, WEBSOCKET_PATH);
    return server;

fail:
    api_server_stop(server);
    return NULL;
}

int api_server_service(struct api_server *server, struct error *err)
{
    /* One turn: waits for any descriptor, timer or lws_cancel_service, serves what is ready. */
    ev_run(server->loop, EVRUN_ONCE);
    return live_feed_failed(server->feed, err) ||
                   (server->trades_feed != NULL && live_feed_failed(server->trades_feed, err))
               ? -1
               : 0;
}

void api_server_wake(struct api_server *server)
{
    if (server != NULL && server->context != NULL)
        lws_cancel_service(server->context);
}

void api_server_stop(struct api_server *server)
{
    if (server == NULL)
        return;
    /* Threads first: they wake the context, so it must outlive them. After these two
     * return, nothing but this thread touches the server. */
    struct live_feed *feed = server->feed, *trades_feed = server->trades_feed;
    server->feed = server->trades_feed = NULL; /* stops deliveries from the service callbacks */
    live_feed_stop(feed);
    live_feed_stop(trades_feed);
    query_pool_stop_workers(server->pool); /* cancels queries under way; their jobs stay allocated */
    if (server->context != NULL)
        lws_context_destroy(server->context); /* closes every client; sessions detach from their jobs */
    server->context = NULL;
    query_pool_destroy(server->pool); /* now the jobs nobody points at */
    live_hub_destroy(server->hub); /* after the context: closing clients needs it */
    if (server->loop != NULL)
        ev_loop_destroy(server->loop);
    log_info("server stopped (%" PRId64 " HTTP requests rejected)", metric_value(server->http_rejected));
    free(server);
}
