#include "server.h"

#include <inttypes.h>
#include <libwebsockets.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "live_feed.h"
#include "log.h"
#include "metrics.h"
#include "query_pool.h"
#include "recent_ticks.h"
#include "request.h"

#define LIVE_PROTOCOL "tickerflow-live"
#define API_PROTOCOL "tickerflow-api"
#define WEBSOCKET_PATH "/ws"
#define CLIENT_MESSAGE_MAX 1024 /* bytes of one client message; longer ones are rejected */
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

/* Per WebSocket client (allocated zeroed by lws, freed after LWS_CALLBACK_CLOSED). */
struct ws_session {
    struct lws *wsi;
    struct ws_session *previous, *next; /* the server's list of clients */
    char (*subscriptions)[TICKER_NAME_MAX + 1];
    size_t subscription_count;
    struct frame **queue; /* ring of frames to send, each holding one reference */
    size_t queue_head, queue_count;
    char message[CLIENT_MESSAGE_MAX]; /* the client message being received */
    size_t message_length;
    bool message_too_long;
    uint64_t dropped;
};

struct api_server {
    const struct api_settings *settings;
    struct lws_context *context;
    struct live_feed *feed;
    struct query_pool *pool;
    struct recent_ticks *recent;
    struct ws_session *clients;
    size_t client_count;
    char frontend_path[PATH_MAX];
    struct lws_http_mount mounts[2];
    struct lws_protocols protocols[3];
    struct metric *http_rejected, *ws_rejected, *clients_gauge, *frames_sent, *frames_dropped;
};

static struct api_server *server_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

/* ---- WebSocket clients ---------------------------------------------------------- */

static bool is_subscribed(const struct ws_session *client, const char *ticker)
{
    for (size_t i = 0; i < client->subscription_count; i++) {
        if (strcmp(client->subscriptions[i], ticker) == 0)
            return true;
    }
    return false;
}

/* Queues `frame` (the caller's reference passes to the queue). A client that cannot keep
 * up loses its oldest frames, so memory stays bounded by client_queue_max. */
static void send_frame(struct api_server *server, struct ws_session *client, struct frame *frame)
{
    size_t capacity = (size_t)server->settings->client_queue_max;
    if (client->queue_count == capacity) {
        frame_release(client->queue[client->queue_head]);
        client->queue_head = (client->queue_head + 1) % capacity;
        client->queue_count--;
        metric_add(server->frames_dropped, 1);
        if (client->dropped++ == 0)
            log_warn("WebSocket client is not keeping up: dropping its oldest frames");
    }
    client->queue[(client->queue_head + client->queue_count) % capacity] = frame;
    client->queue_count++;
    lws_callback_on_writable(client->wsi);
}

static void send_reply(struct api_server *server, struct ws_session *client, const char *type, const char *key,
                       const char *text)
{
    struct frame *frame = frame_new_reply(type, key, text);
    if (frame == NULL)
        log_error("out of memory replying to a WebSocket client");
    else
        send_frame(server, client, frame);
}

static void reject_message(struct api_server *server, struct ws_session *client, const char *reason)
{
    metric_add(server->ws_rejected, 1);
    log_info("rejected WebSocket message (%" PRId64 " so far): %s", metric_value(server->ws_rejected), reason);
    send_reply(server, client, "error", "error", reason);
}

/* Sends the ticker's recent window, oldest first, ahead of its next live frames. */
static void replay_recent(struct api_server *server, struct ws_session *client, const char *ticker)
{
    struct frame *frames[1024];
    size_t count = recent_ticks_of(server->recent, ticker, frames, sizeof frames / sizeof frames[0]);
    for (size_t i = 0; i < count; i++)
        send_frame(server, client, frame_ref(frames[i]));
}

static void apply_message(struct api_server *server, struct ws_session *client, const struct client_message *message)
{
    if (message->op == CLIENT_SUBSCRIBE) {
        if (!is_subscribed(client, message->ticker)) {
            if (client->subscription_count == (size_t)server->settings->max_subscriptions) {
                char reason[96];
                snprintf(reason, sizeof reason, "too many subscriptions (limit %lld)",
                         server->settings->max_subscriptions);
                reject_message(server, client, reason);
                return;
            }
            memcpy(client->subscriptions[client->subscription_count++], message->ticker, TICKER_NAME_MAX + 1);
        }
        send_reply(server, client, "subscribed", "ticker", message->ticker);
        replay_recent(server, client, message->ticker);
        return;
    }
    for (size_t i = 0; i < client->subscription_count; i++) {
        if (strcmp(client->subscriptions[i], message->ticker) == 0) {
            memcpy(client->subscriptions[i], client->subscriptions[--client->subscription_count], TICKER_NAME_MAX + 1);
            break;
        }
    }
    send_reply(server, client, "unsubscribed", "ticker", message->ticker);
}

/* Collects the fragments of one client message, then handles it whole. */
static void receive_message(struct api_server *server, struct ws_session *client, struct lws *wsi, const void *data,
                            size_t length)
{
    if (client->message_length + length > sizeof client->message)
        client->message_too_long = true;
    else
        memcpy(client->message + client->message_length, data, length);
    client->message_length += length;
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0)
        return;

    struct client_message message;
    struct error err;
    if (lws_frame_is_binary(wsi))
        reject_message(server, client, "binary frames are not supported; send JSON text");
    else if (client->message_too_long) {
        snprintf(err.message, sizeof err.message, "message longer than %d bytes", CLIENT_MESSAGE_MAX);
        reject_message(server, client, err.message);
    } else if (client_message_parse(client->message, client->message_length, &message, &err) < 0)
        reject_message(server, client, err.message);
    else
        apply_message(server, client, &message);
    client->message_length = 0;
    client->message_too_long = false;
}

static int open_client(struct api_server *server, struct ws_session *client, struct lws *wsi)
{
    client->wsi = wsi;
    client->queue = calloc((size_t)server->settings->client_queue_max, sizeof *client->queue);
    client->subscriptions = calloc((size_t)server->settings->max_subscriptions, sizeof *client->subscriptions);
    if (client->queue == NULL || client->subscriptions == NULL) {
        log_error("out of memory accepting a WebSocket client");
        return -1;
    }
    client->next = server->clients;
    if (server->clients != NULL)
        server->clients->previous = client;
    server->clients = client;
    server->client_count++;
    metric_set(server->clients_gauge, (int64_t)server->client_count);
    log_debug("WebSocket client connected (%zu now)", server->client_count);
    return 0;
}

static void close_client(struct api_server *server, struct ws_session *client)
{
    if (client->queue == NULL && client->subscriptions == NULL)
        return; /* open_client failed before linking it */
    if (client->previous != NULL || server->clients == client) {
        if (client->previous != NULL)
            client->previous->next = client->next;
        else
            server->clients = client->next;
        if (client->next != NULL)
            client->next->previous = client->previous;
        server->client_count--;
        metric_set(server->clients_gauge, (int64_t)server->client_count);
    }
    size_t capacity = (size_t)server->settings->client_queue_max;
    for (size_t i = 0; i < client->queue_count; i++)
        frame_release(client->queue[(client->queue_head + i) % capacity]);
    if (client->dropped > 0)
        log_info("WebSocket client closed after %" PRIu64 " dropped frames", client->dropped);
    free(client->queue);
    free(client->subscriptions);
    client->queue = NULL;
    client->subscriptions = NULL;
}

static int write_next_frame(struct api_server *server, struct ws_session *client)
{
    if (client->queue_count == 0)
        return 0;
    struct frame *frame = client->queue[client->queue_head];
    client->queue_head = (client->queue_head + 1) % (size_t)server->settings->client_queue_max;
    client->queue_count--;
    int written = lws_write(client->wsi, frame_payload(frame), frame->length, LWS_WRITE_TEXT);
    frame_release(frame);
    metric_add(server->frames_sent, 1);
    if (written < 0)
        return -1; /* the connection is broken: lws closes it */
    if (client->queue_count > 0)
        lws_callback_on_writable(client->wsi);
    return 0;
}

/* Runs on the service thread after another thread called lws_cancel_service. */
static void deliver_live_frames(struct api_server *server)
{
    for (struct frame *frame = live_feed_take(server->feed), *next; frame != NULL; frame = next) {
        next = frame->next;
        recent_ticks_remember(server->recent, frame);
        for (struct ws_session *client = server->clients; client != NULL; client = client->next) {
            if (is_subscribed(client, frame->ticker))
                send_frame(server, client, frame_ref(frame));
        }
        frame_release(frame);
    }
}

static int is_websocket_path(struct lws *wsi)
{
    char path[64];
    return lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI) > 0 && strcmp(path, WEBSOCKET_PATH) == 0;
}

static void deliver_query_answers(struct api_server *server);

static int on_live_event(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t length)
{
    struct api_server *server = server_of(wsi);
    struct ws_session *client = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return is_websocket_path(wsi) ? 0 : -1;
    case LWS_CALLBACK_ESTABLISHED:
        return open_client(server, client, wsi);
    case LWS_CALLBACK_CLOSED:
        close_client(server, client);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        receive_message(server, client, wsi, in, length);
        return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return write_next_frame(server, client);
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        /* Sent to every protocol; this one handles it for the server. */
        if (server != NULL && server->feed != NULL) {
            deliver_live_frames(server);
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
    if (api_route_parse(path, &job->route, job->history.name, &status, &err) < 0) {
        query_job_free(job);
        respond_error(server, session, status, path, err.message);
        return;
    }
    char storage[MAX_ARGUMENTS][ARGUMENT_MAX];
    const char *arguments[MAX_ARGUMENTS];
    int count = collect_arguments(wsi, storage, arguments);
    int rc = count < 0 ? error_set(&err, "too many or too long query parameters (at most %d of %d bytes)",
                                   MAX_ARGUMENTS, ARGUMENT_MAX - 1)
             : job->route == API_ROUTE_TICKERS
                 ? no_arguments_parse(arguments, (size_t)count, &err)
                 : history_query_parse(arguments, (size_t)count, (int)server->settings->history_max_limit,
                                       &job->history, &err);
    if (rc < 0) {
        query_job_free(job);
        respond_error(server, session, 400, path, err.message);
        return;
    }
    job->session = session;
    if (query_pool_submit(server->pool, job) < 0) {
        query_job_free(job);
        respond_error(server, session, 503, path, "too many queries waiting; retry shortly");
        return;
    }
    session->job = job;
}

static void deliver_query_answers(struct api_server *server)
{
    for (struct query_job *job = query_pool_take_done(server->pool), *next; job != NULL; job = next) {
        next = job->next;
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

static void describe_routes(struct api_server *server)
{
    server->protocols[0] = (struct lws_protocols){
        /* First: WebSocket clients that name no subprotocol land here. */
        .name = LIVE_PROTOCOL,
        .callback = on_live_event,
        .per_session_data_size = sizeof(struct ws_session),
        .rx_buffer_size = CLIENT_MESSAGE_MAX,
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
    server->ws_rejected =
        metrics_counter("tickerflow_api_ws_rejected_total", "WebSocket messages answered with an error");
    server->clients_gauge = metrics_gauge("tickerflow_api_ws_clients", "WebSocket clients connected");
    server->frames_sent = metrics_counter("tickerflow_api_ws_frames_sent_total", "WebSocket frames sent");
    server->frames_dropped = metrics_counter("tickerflow_api_ws_frames_dropped_total",
                                             "Frames dropped for clients that did not keep up");
    if (resolve_frontend(server, err) < 0)
        goto fail;
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
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
    server->context = lws_create_context(&info);
    if (server->context == NULL) {
        error_set(err, "cannot listen on %s:%lld (port in use?)", settings->bind_address, settings->port);
        goto fail;
    }
    server->recent = recent_ticks_new((size_t)settings->replay_ticks, (size_t)settings->max_tickers, err);
    if (server->recent == NULL)
        goto fail;
    server->pool = query_pool_start(settings->shared.database_url, (int)settings->query_threads,
                                    (size_t)settings->max_pending_queries, (int)settings->query_timeout_ms,
                                    wake_from_thread, server, err);
    if (server->pool == NULL)
        goto fail;
    server->feed = live_feed_start(settings->shared.kafka_brokers, settings->shared.kafka_topic,
                                   (size_t)settings->live_queue_max, wake_from_thread, server, err);
    if (server->feed == NULL)
        goto fail;
    log_info("serving http://localhost:%lld/ (dashboard from %s, API under /api, WebSocket %s)", settings->port,
             server->frontend_path, WEBSOCKET_PATH);
    return server;

fail:
    api_server_stop(server);
    return NULL;
}

void api_server_service(struct api_server *server)
{
    lws_service(server->context, 0);
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
    /* Threads first: they wake the context, so it must outlive them. */
    struct live_feed *feed = server->feed;
    server->feed = NULL; /* stops deliveries from the service callbacks */
    live_feed_stop(feed);
    struct query_pool *pool = server->pool;
    if (server->context != NULL)
        lws_context_destroy(server->context); /* closes every client; sessions detach their jobs */
    query_pool_stop(pool);
    recent_ticks_destroy(server->recent);
    log_info("server stopped (%" PRId64 " HTTP and %" PRId64 " WebSocket requests rejected)",
             metric_value(server->http_rejected), metric_value(server->ws_rejected));
    free(server);
}
