#include "live_hub.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "log.h"
#include "metrics.h"
#include "request.h"
#include "send_queue.h"
#include "ticker_table.h"
#include "timestamp.h"

#define CLOSE_TOO_SLOW 4008   /* ours: the client did not read its frames in time */
#define CLOSE_TRY_AGAIN 1013  /* RFC 6455 registry: try again later (server full) */
#define WRITES_PER_CALLBACK 64 /* then other connections get their turn */

/* One client watching one ticker. Owned by the client; also listed by the ticker. */
struct subscription {
    struct ws_client *client;
    struct ticker_entry *ticker;
    int64_t last_queued_us;   /* newest tick time queued to the client: older ones never follow */
    struct query_job *resume; /* a resume query under way: live ticks wait in the window */
    bool by_name;             /* counts against api.max_subscriptions ("*" ones do not) */
    bool candles;             /* also send the live candle after each tick */
};

/* Per WebSocket connection; lws allocates it zeroed and frees it after the close. */
struct ws_client {
    struct lws *wsi;
    struct ws_client *previous, *next; /* the hub's list */
    bool open;
    bool all;                          /* subscribed to "*": new tickers are added */
    bool all_candles;                  /* ... with live candles */
    struct subscription **subscriptions;
    size_t subscription_count, subscription_capacity;
    size_t named_count;                /* subscriptions made by name (limited) */
    struct send_queue queue;
    char *message;                     /* max_message_bytes: the message being received */
    size_t message_length;
    bool message_too_long;
    int64_t lagging_since_us;          /* its queue first overflowed then; 0 when keeping up */
    bool lag_reported;                 /* logged once per client */
    int close_code;                    /* != 0: close at the next writeable callback */
    const char *close_reason;
    int64_t last_heard_ms;             /* monotonic: its last frame or pong, to tell an idle hang-up */
};

const size_t WS_CLIENT_SIZE = sizeof(struct ws_client);

struct live_hub {
    const struct api_settings *settings;
    struct query_pool *pool;
    struct ticker_table *tickers;
    struct ws_client *clients;
    size_t client_count;
    struct ws_client *heartbeat_next; /* where the next heartbeat slice starts; NULL: round done */
    unsigned heartbeat_slice;         /* 0 .. LIVE_HUB_HEARTBEAT_SLICES - 1 within the round */
    struct client_message *parsed; /* scratch space for one message (large) */
    struct metric *clients_gauge, *rejected, *frames_sent, *coalesced, *closed_slow, *closed_idle, *refused,
        *tickers_refused, *resumes_memory, *resumes_database, *gaps, *out_of_order, *live_delay_ms;
};

/* ---- queueing ------------------------------------------------------------------------- */

/* Frames waiting in all clients' queues, and the most there ever were: the memory that
 * slow clients make the server hold, bounded by client_queue_max per client. Module-level
 * because queues change where no hub is at hand; one hub per process, service thread only. */
static struct metric *queued_frames, *queued_frames_peak;

static void count_queued(size_t before, size_t after)
{
    metric_add(queued_frames, (int64_t)after - (int64_t)before);
    if (metric_value(queued_frames) > metric_value(queued_frames_peak))
        metric_set(queued_frames_peak, metric_value(queued_frames));
}

static void clear_queue(struct ws_client *client)
{
    count_queued(client->queue.count, 0);
    send_queue_clear(&client->queue);
}

static void close_client_later(struct ws_client *client, int code, const char *reason)
{
    if (client->close_code != 0)
        return;
    client->close_code = code;
    client->close_reason = reason;
    clear_queue(client); /* nothing more goes out: free it now */
    lws_callback_on_writable(client->wsi);
    /* A client that reads nothing never becomes writeable: drop it after 5 s regardless. */
    lws_set_timeout(client->wsi, PENDING_TIMEOUT_USER_OK, 5);
}

/* Writes one frame to the socket (releasing the caller's reference). Returns lws_write's result. */
static int write_frame(struct live_hub *hub, struct ws_client *client, struct frame *frame)
{
    int written = lws_write(client->wsi, frame_payload(frame), frame->length, LWS_WRITE_TEXT);
    frame_release(frame);
    metric_add(hub->frames_sent, 1);
    return written;
}

/* Queues `frame` (the caller's reference passes on) and handles a client that falls behind. */
static void push(struct live_hub *hub, struct ws_client *client, struct frame *frame)
{
    if (client->close_code != 0) {
        frame_release(frame);
        return;
    }
    /* Nothing waiting: write at once. Going through a writeable callback costs two
     * epoll_ctl calls and a loop turn per message, the largest cost at 10,000 clients.
     * A write the socket cannot take whole is kept by lws (partial), and then frames
     * queue until its writeable callback. */
    if (client->queue.count == 0 && !lws_partial_buffered(client->wsi)) {
        if (write_frame(hub, client, frame) < 0)
            close_client_later(client, LWS_CLOSE_STATUS_GOINGAWAY, "write failed");
        return;
    }
    uint64_t coalesced_before = client->queue.coalesced;
    size_t queued_before = client->queue.count;
    enum send_result result = send_queue_push(&client->queue, frame);
    count_queued(queued_before, client->queue.count);
    if (result == SEND_QUEUED) {
        lws_callback_on_writable(client->wsi);
        return;
    }
    metric_add(hub->coalesced, (int64_t)(client->queue.coalesced - coalesced_before));
    int64_t now = timestamp_now_us();
    if (client->lagging_since_us == 0) {
        client->lagging_since_us = now;
        if (!client->lag_reported)
            log_info("a WebSocket client is not keeping up: coalescing its ticks (newest value per ticker)");
        client->lag_reported = true;
    }
    if (result == SEND_FULL || now - client->lagging_since_us > hub->settings->slow_client_timeout_ms * 1000) {
        metric_add(hub->closed_slow, 1);
        log_warn("closing a WebSocket client that stayed %lld ms behind (code %d; %" PRId64 " so far)",
                 hub->settings->slow_client_timeout_ms, CLOSE_TOO_SLOW, metric_value(hub->closed_slow));
        close_client_later(client, CLOSE_TOO_SLOW, "client too slow: it did not read its messages");
        return;
    }
    lws_callback_on_writable(client->wsi);
}

/* Queues a tick of the subscription's ticker unless the client has it already. */
static void push_tick(struct live_hub *hub, struct subscription *subscription, struct frame *tick)
{
    if (tick->time_us <= subscription->last_queued_us)
        return;
    subscription->last_queued_us = tick->time_us;
    push(hub, subscription->client, frame_ref(tick));
}

/* Queues the ticker's live candle to a subscription that asked for candles, unless its
 * client is falling behind: each candle frame is whole, so skipping some loses nothing
 * the next one does not carry, and ticks keep their room in the queue. */
static void push_candle(struct live_hub *hub, struct subscription *subscription, struct frame **candle)
{
    struct ws_client *client = subscription->client;
    if (!subscription->candles || subscription->resume != NULL || client->queue.count * 2 > client->queue.limit)
        return;
    if (*candle == NULL)
        *candle = frame_new_candle(subscription->ticker->name, &subscription->ticker->candle);
    if (*candle != NULL)
        push(hub, client, frame_ref(*candle));
}

static void push_gap(struct live_hub *hub, struct subscription *subscription, int64_t after_us, int64_t before_us,
                     int64_t missed)
{
    metric_add(hub->gaps, 1);
    struct frame *gap = frame_new_gap(subscription->ticker->id, subscription->ticker->name, after_us, before_us, missed);
    if (gap != NULL)
        push(hub, subscription->client, gap);
}

static void push_error(struct live_hub *hub, struct ws_client *client, const char *code, const char *reason,
                       const char *ticker)
{
    metric_add(hub->rejected, 1);
    log_info("WebSocket request rejected (%" PRId64 " so far): %s: %s", metric_value(hub->rejected), code, reason);
    struct frame *frame = frame_new_error(code, reason, ticker);
    if (frame != NULL)
        push(hub, client, frame);
}

/* {"type":"<type>","tickers":[names]} or "tickers":"*". Takes `names`. */
static void push_tickers_reply(struct live_hub *hub, struct ws_client *client, const char *type, json_t *names)
{
    json_t *object = json_pack("{s:s, s:o}", "type", type, "tickers", names);
    char *json = object != NULL ? json_dumps(object, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(object);
    struct frame *frame = json != NULL ? frame_new(json, strlen(json)) : NULL;
    free(json);
    if (frame != NULL)
        push(hub, client, frame);
}

static void push_timed(struct live_hub *hub, struct ws_client *client, const char *type)
{
    char time_text[TIMESTAMP_TEXT_SIZE], json[96];
    timestamp_format(timestamp_now_us(), time_text);
    int length = snprintf(json, sizeof json, "{\"type\":\"%s\",\"time\":\"%s\"}", type, time_text);
    struct frame *frame = frame_new(json, (size_t)length);
    if (frame != NULL)
        push(hub, client, frame);
}

/* ---- resuming ----------------------------------------------------------------------- */

/* Queues the window's ticks newer than what the subscription has, with a gap message
 * where they do not follow on from it. A tick whose predecessor is unknown (the first
 * after a server start) counts as following, except, with `strict`, the first one: then
 * the caller knows values may be missing before the window (a resume that could not
 * reach the database). */
static void push_window(struct live_hub *hub, struct subscription *subscription, bool strict)
{
    struct ticker_entry *entry = subscription->ticker;
    bool first = true;
    for (size_t i = 0; i < entry->window_count; i++) {
        struct frame *tick = ticker_window_at(hub->tickers, entry, i);
        if (tick->time_us <= subscription->last_queued_us)
            continue;
        bool follows = tick->previous_us == INT64_MIN ? !(strict && first)
                                                      : tick->previous_us <= subscription->last_queued_us;
        if (!follows)
            push_gap(hub, subscription, subscription->last_queued_us, tick->time_us, -1);
        push_tick(hub, subscription, tick);
        first = false;
    }
    if (strict && first && entry->last_time_us > subscription->last_queued_us)
        push_gap(hub, subscription, subscription->last_queued_us, INT64_MIN, -1); /* newer values, none held */
}

/* Does the window hold every tick after `since_us`? */
static bool window_covers(const struct ticker_table *table, const struct ticker_entry *entry, int64_t since_us)
{
    if (since_us >= entry->last_time_us)
        return true; /* nothing newer exists */
    if (entry->window_count == 0)
        return false;
    const struct frame *oldest = ticker_window_at(table, entry, 0);
    return oldest->time_us <= since_us || (oldest->previous_us != INT64_MIN && oldest->previous_us <= since_us);
}

/* Sends every tick after `since_us` (the client's position), then live ticks, in order
 * and without duplicates: from the window when it reaches back that far, else from
 * PostgreSQL first. */
static void start_resume(struct live_hub *hub, struct subscription *subscription, int64_t since_us)
{
    if (subscription->resume != NULL) { /* a newer position replaces one under way */
        subscription->resume->session = NULL;
        subscription->resume = NULL;
    }
    subscription->last_queued_us = since_us;
    if (window_covers(hub->tickers, subscription->ticker, since_us)) {
        metric_add(hub->resumes_memory, 1);
        push_window(hub, subscription, false);
        return;
    }
    struct query_job *job = query_job_new();
    if (job != NULL) {
        job->kind = QUERY_RESUME;
        memcpy(job->resume.name, subscription->ticker->name, sizeof job->resume.name);
        job->resume.since_us = since_us;
        job->resume.limit = (int)hub->settings->history_max_limit;
        job->session = subscription;
        if (query_pool_submit(hub->pool, job) == 0) {
            metric_add(hub->resumes_database, 1);
            subscription->resume = job;
            return;
        }
        query_job_free(job);
    }
    /* No query possible now: continue from the window, with a gap for what it lacks. */
    log_warn("resume of %s from the database refused (too many queries waiting)", subscription->ticker->name);
    push_window(hub, subscription, true);
}

void live_hub_resume_answered(struct live_hub *hub, struct query_job *job)
{
    struct subscription *subscription = job->session;
    if (subscription == NULL || subscription->resume != job) {
        query_job_free(job); /* the client left, unsubscribed or resumed again meanwhile */
        return;
    }
    subscription->resume = NULL;
    const struct resume_rows *rows = &job->rows;
    if (rows->failed) {
        push_window(hub, subscription, true);
        query_job_free(job);
        return;
    }
    if (rows->truncated) /* more than history_max_limit values: the oldest are left out */
        push_gap(hub, subscription, subscription->last_queued_us, rows->times_us[0], -1);
    int64_t previous = rows->anchored && !rows->truncated ? job->resume.since_us : INT64_MIN;
    for (size_t i = 0; i < rows->count; i++) {
        struct ticker tick = {.value = rows->values[i], .time_us = rows->times_us[i]};
        memcpy(tick.name, subscription->ticker->name, sizeof tick.name);
        struct tick_origin origin = {.partition = -1, .previous_us = previous};
        struct frame *frame = frame_new_tick(subscription->ticker->id, &tick, &origin);
        if (frame != NULL) {
            push_tick(hub, subscription, frame);
            frame_release(frame);
        }
        previous = rows->times_us[i];
    }
    push_window(hub, subscription, false);
    query_job_free(job);
}

/* ---- subscriptions -------------------------------------------------------------------- */

static struct subscription *find_subscription(const struct ws_client *client, const struct ticker_entry *entry)
{
    for (size_t i = 0; i < client->subscription_count; i++) {
        if (client->subscriptions[i]->ticker == entry)
            return client->subscriptions[i];
    }
    return NULL;
}

static struct subscription *add_subscription(struct ws_client *client, struct ticker_entry *entry)
{
    if (client->subscription_count == client->subscription_capacity) {
        size_t capacity = client->subscription_capacity ? client->subscription_capacity * 2 : 4;
        struct subscription **grown = realloc(client->subscriptions, capacity * sizeof *grown);
        if (grown == NULL)
            return NULL;
        client->subscriptions = grown;
        client->subscription_capacity = capacity;
    }
    struct subscription *subscription = calloc(1, sizeof *subscription);
    if (subscription == NULL)
        return NULL;
    *subscription = (struct subscription){.client = client, .ticker = entry, .last_queued_us = entry->last_time_us};
    if (ticker_entry_subscribe(entry, subscription) < 0) {
        free(subscription);
        return NULL;
    }
    client->subscriptions[client->subscription_count++] = subscription;
    return subscription;
}

static void remove_subscription(struct ws_client *client, size_t index)
{
    struct subscription *subscription = client->subscriptions[index];
    ticker_entry_unsubscribe(subscription->ticker, subscription);
    if (subscription->resume != NULL)
        subscription->resume->session = NULL;
    if (subscription->by_name)
        client->named_count--;
    free(subscription);
    client->subscriptions[index] = client->subscriptions[--client->subscription_count];
}

/* Subscribes to `entry` unless already subscribed, then resumes from since_us when given.
 * The caller has checked the limits. */
static void subscribe(struct live_hub *hub, struct ws_client *client, struct ticker_entry *entry, int64_t since_us,
                      bool by_name, bool candles)
{
    struct subscription *subscription = find_subscription(client, entry);
    if (subscription == NULL) {
        subscription = add_subscription(client, entry);
        if (subscription == NULL) {
            push_error(hub, client, "unavailable", "out of memory", entry->name);
            return;
        }
        subscription->by_name = by_name;
        if (by_name)
            client->named_count++;
    }
    subscription->candles = candles;
    if (since_us != CLIENT_NO_SINCE)
        start_resume(hub, subscription, since_us);
    /* The current minute at once: the client need not wait for the next tick. */
    struct frame *candle = NULL;
    if (entry->candle.start_us != INT64_MIN)
        push_candle(hub, subscription, &candle);
    frame_release(candle);
}

/* The ticker `name` if this client may subscribe to it now; otherwise NULL after queueing
 * the error that says why. `room` counts the subscriptions by name still allowed. */
static struct ticker_entry *accept_ticker(struct live_hub *hub, struct ws_client *client, const char *name,
                                          size_t *room)
{
    char reason[96];
    struct ticker_entry *entry = ticker_table_find(hub->tickers, name);
    if (entry == NULL) {
        snprintf(reason, sizeof reason, "unknown ticker '%s'", name);
        push_error(hub, client, "unknown_ticker", reason, name);
        return NULL;
    }
    if (find_subscription(client, entry) != NULL || client->all)
        return entry;
    if (*room == 0) {
        snprintf(reason, sizeof reason, "too many subscriptions (limit %lld); '%s' not added",
                 hub->settings->max_subscriptions, name);
        push_error(hub, client, "too_many_subscriptions", reason, name);
        return NULL;
    }
    (*room)--;
    return entry;
}

static void unsubscribe(struct ws_client *client, const char *name)
{
    for (size_t i = 0; i < client->subscription_count; i++) {
        if (strcmp(client->subscriptions[i]->ticker->name, name) == 0) {
            remove_subscription(client, i);
            return;
        }
    }
}

static void unsubscribe_all(struct ws_client *client)
{
    while (client->subscription_count > 0)
        remove_subscription(client, client->subscription_count - 1);
    client->all = false;
}

/* Subscribes an "all" client to every ticker known now (later ones are added as they come). */
static void subscribe_all(struct live_hub *hub, struct ws_client *client, int64_t since_us, bool candles)
{
    client->all = true;
    client->all_candles = candles;
    for (size_t id = 0; id < ticker_table_count(hub->tickers); id++)
        subscribe(hub, client, ticker_table_at(hub->tickers, (int)id), since_us, false, candles);
}

static void apply_message(struct live_hub *hub, struct ws_client *client, const struct client_message *message)
{
    if (message->op == CLIENT_PING) {
        push_timed(hub, client, "pong");
        return;
    }
    const char *reply = message->op == CLIENT_SUBSCRIBE ? "subscribed"
                        : message->op == CLIENT_RESUME  ? "resumed"
                                                        : "unsubscribed";
    if (message->all) {
        /* The reply goes first: the resumed ticks follow it. */
        push_tickers_reply(hub, client, reply, json_string("*"));
        if (message->op == CLIENT_UNSUBSCRIBE)
            unsubscribe_all(client);
        else
            subscribe_all(hub, client, message->all_since_us, message->candles);
        return;
    }
    if (message->op == CLIENT_UNSUBSCRIBE) {
        json_t *names = json_array();
        for (size_t i = 0; i < message->count; i++) {
            unsubscribe(client, message->tickers[i].name);
            json_array_append_new(names, json_string(message->tickers[i].name));
        }
        push_tickers_reply(hub, client, reply, names);
        return;
    }
    /* Errors for the names refused go first, then the reply listing those taken, then
     * their resumed ticks: so check every name before subscribing any. */
    json_t *names = json_array();
    struct ticker_entry **accepted = calloc(message->count ? message->count : 1, sizeof *accepted);
    size_t room = hub->settings->max_subscriptions > (long long)client->named_count
                      ? (size_t)hub->settings->max_subscriptions - client->named_count
                      : 0;
    for (size_t i = 0; accepted != NULL && i < message->count; i++) {
        accepted[i] = accept_ticker(hub, client, message->tickers[i].name, &room);
        if (accepted[i] != NULL)
            json_array_append_new(names, json_string(message->tickers[i].name));
    }
    push_tickers_reply(hub, client, reply, names);
    for (size_t i = 0; accepted != NULL && i < message->count; i++) {
        if (accepted[i] != NULL)
            subscribe(hub, client, accepted[i], message->tickers[i].since_us, true, message->candles);
    }
    free(accepted);
}

/* ---- connections ------------------------------------------------------------------------ */

void live_hub_heard(struct ws_client *client)
{
    client->last_heard_ms = timestamp_monotonic_ms();
}

void live_hub_receive(struct live_hub *hub, struct ws_client *client, const void *data, size_t length)
{
    live_hub_heard(client);
    size_t limit = (size_t)hub->settings->max_message_bytes;
    if (client->message_length + length > limit)
        client->message_too_long = true;
    else
        memcpy(client->message + client->message_length, data, length);
    client->message_length += length;
    if (!lws_is_final_fragment(client->wsi) || lws_remaining_packet_payload(client->wsi) > 0)
        return;

    const char *code;
    struct error err;
    if (lws_frame_is_binary(client->wsi)) {
        push_error(hub, client, "binary_frame", "binary frames are not supported; send JSON text", NULL);
    } else if (client->message_too_long) {
        snprintf(err.message, sizeof err.message, "message of %zu bytes is longer than the limit of %zu",
                 client->message_length, limit);
        push_error(hub, client, "message_too_long", err.message, NULL);
    } else if (client_message_parse(client->message, client->message_length, hub->parsed, &code, &err) < 0) {
        push_error(hub, client, code, err.message, NULL);
    } else {
        apply_message(hub, client, hub->parsed);
    }
    client->message_length = 0;
    client->message_too_long = false;
}

int live_hub_open(struct live_hub *hub, struct ws_client *client, struct lws *wsi)
{
    client->wsi = wsi;
    if (hub->client_count >= (size_t)hub->settings->max_clients) {
        metric_add(hub->refused, 1);
        if (metric_value(hub->refused) % 100 == 1)
            log_warn("refusing WebSocket clients beyond api.max_clients (%lld): %" PRId64 " so far",
                     hub->settings->max_clients, metric_value(hub->refused));
        static const char reason[] = "server full: too many clients, try again later";
        lws_close_reason(wsi, (enum lws_close_status)CLOSE_TRY_AGAIN, (unsigned char *)reason, sizeof reason - 1);
        return -1;
    }
    client->message = malloc((size_t)hub->settings->max_message_bytes);
    if (client->message == NULL) {
        log_error("out of memory accepting a WebSocket client");
        return -1;
    }
    send_queue_init(&client->queue, (size_t)hub->settings->client_queue_max);
    client->open = true;
    live_hub_heard(client);
    client->next = hub->clients;
    if (hub->clients != NULL)
        hub->clients->previous = client;
    hub->clients = client;
    hub->client_count++;
    metric_set(hub->clients_gauge, (int64_t)hub->client_count);
    return 0;
}

/* lws hangs up on a client silent for twice api.idle_timeout_s (its pings unanswered); the
 * close itself does not say why, so the silence does. */
static void count_idle_close(struct live_hub *hub, const struct ws_client *client)
{
    int64_t silent_ms = timestamp_monotonic_ms() - client->last_heard_ms;
    if (client->close_code != 0 || silent_ms < (hub->settings->idle_timeout_s * 2 - 1) * 1000)
        return;
    metric_add(hub->closed_idle, 1);
    if (metric_value(hub->closed_idle) % 100 == 1)
        log_info("hung up on a WebSocket client silent for %" PRId64 " s (api.idle_timeout_s %lld; %" PRId64
                 " so far)", silent_ms / 1000, hub->settings->idle_timeout_s, metric_value(hub->closed_idle));
}

void live_hub_close(struct live_hub *hub, struct ws_client *client)
{
    if (client->open) {
        count_idle_close(hub, client);
        if (hub->heartbeat_next == client)
            hub->heartbeat_next = client->next;
        if (client->previous != NULL)
            client->previous->next = client->next;
        else
            hub->clients = client->next;
        if (client->next != NULL)
            client->next->previous = client->previous;
        hub->client_count--;
        metric_set(hub->clients_gauge, (int64_t)hub->client_count);
    }
    unsubscribe_all(client);
    free(client->subscriptions);
    clear_queue(client);
    free(client->message);
    memset(client, 0, sizeof *client);
}

int live_hub_writeable(struct live_hub *hub, struct ws_client *client)
{
    if (client->close_code != 0) {
        lws_close_reason(client->wsi, (enum lws_close_status)client->close_code,
                         (unsigned char *)client->close_reason, strlen(client->close_reason));
        return -1;
    }
    /* Several frames per callback while the socket takes them: delivery queues ticks in
     * batches, and one frame per callback would make a client that keeps up look slow. */
    for (int written_frames = 0; written_frames < WRITES_PER_CALLBACK; written_frames++) {
        struct frame *frame = send_queue_pop(&client->queue);
        if (frame == NULL)
            break;
        count_queued(1, 0);
        if (write_frame(hub, client, frame) < 0)
            return -1; /* the connection is broken */
        if (lws_send_pipe_choked(client->wsi))
            break;
    }
    if (client->queue.count > 0)
        lws_callback_on_writable(client->wsi);
    else
        client->lagging_since_us = 0;
    return 0;
}

/* A ticker seen for the first time: "all" clients get it too. */
static struct ticker_entry *new_ticker(struct live_hub *hub, const char *name)
{
    struct ticker_entry *entry = ticker_table_add(hub->tickers, name);
    if (entry == NULL) {
        metric_add(hub->tickers_refused, 1); /* ticker_table logs it */
        return NULL;
    }
    for (struct ws_client *client = hub->clients; client != NULL; client = client->next) {
        if (!client->all || find_subscription(client, entry) != NULL)
            continue;
        struct subscription *subscription = add_subscription(client, entry);
        if (subscription == NULL)
            log_error("out of memory subscribing a client to %s", name);
        else
            subscription->candles = client->all_candles;
    }
    return entry;
}

void live_hub_deliver(struct live_hub *hub, struct live_tick *ticks)
{
    int64_t now_us = timestamp_now_us();
    for (struct live_tick *tick = ticks, *next; tick != NULL; tick = next) {
        next = tick->next;
        metric_observe(hub->live_delay_ms, (now_us - tick->ticker.time_us) / 1000);
        struct ticker_entry *entry = ticker_table_find(hub->tickers, tick->ticker.name);
        if (entry == NULL)
            entry = new_ticker(hub, tick->ticker.name);
        if (entry != NULL && tick->ticker.time_us <= entry->last_time_us) {
            metric_add(hub->out_of_order, 1); /* a repeat, or a clock that went back: never sent twice */
            entry = NULL;
        }
        struct tick_origin origin = {.partition = tick->partition, .offset = tick->offset,
                                     .previous_us = entry != NULL ? entry->last_time_us : INT64_MIN};
        struct frame *frame = entry != NULL ? frame_new_tick(entry->id, &tick->ticker, &origin) : NULL;
        if (frame != NULL) {
            ticker_table_remember(hub->tickers, entry, frame);
            live_candle_add(&entry->candle, tick->ticker.value, tick->ticker.time_us);
            struct frame *candle = NULL; /* made for the first subscriber that wants it */
            for (size_t i = 0; i < entry->subscriber_count; i++) {
                struct subscription *subscription = entry->subscribers[i];
                if (subscription->resume == NULL) {
                    push_tick(hub, subscription, frame);
                    push_candle(hub, subscription, &candle);
                }
            }
            frame_release(candle);
            frame_release(frame);
        }
        free(tick);
    }
}

void live_hub_heartbeat_slice(struct live_hub *hub)
{
    /* A slice, not everyone at once: 10,000 heartbeats in one go are 10,000 sends that hold
     * every tick behind them for tens of milliseconds. Clients who joined since the round began
     * sit before the cursor and wait for the next round, at most one interval away. */
    if (hub->heartbeat_slice == 0)
        hub->heartbeat_next = hub->clients; /* a round: every client once, over the interval */
    size_t slice = (hub->client_count + LIVE_HUB_HEARTBEAT_SLICES - 1) / LIVE_HUB_HEARTBEAT_SLICES;
    struct ws_client *client = hub->heartbeat_next;
    for (size_t sent = 0; sent < slice && client != NULL; sent++, client = client->next)
        push_timed(hub, client, "heartbeat");
    hub->heartbeat_next = client;
    hub->heartbeat_slice = (hub->heartbeat_slice + 1) % LIVE_HUB_HEARTBEAT_SLICES;
}

/* ---- lifecycle ----------------------------------------------------------------------- */

struct live_hub *live_hub_new(const struct api_settings *settings, struct query_pool *pool, struct error *err)
{
    struct live_hub *hub = calloc(1, sizeof *hub);
    if (hub == NULL || (hub->parsed = malloc(sizeof *hub->parsed)) == NULL) {
        free(hub);
        error_set(err, "out of memory");
        return NULL;
    }
    hub->settings = settings;
    hub->pool = pool;
    hub->tickers = ticker_table_new((size_t)settings->replay_ticks, (size_t)settings->max_tickers, err);
    if (hub->tickers == NULL) {
        live_hub_destroy(hub);
        return NULL;
    }
    hub->clients_gauge = metrics_gauge("tickerflow_api_ws_clients", "WebSocket clients connected");
    queued_frames = metrics_gauge("tickerflow_api_ws_queued_frames", "Frames waiting in WebSocket clients' queues");
    queued_frames_peak = metrics_gauge("tickerflow_api_ws_queued_frames_peak",
                                       "Most frames ever waiting in WebSocket clients' queues at once");
    hub->rejected = metrics_counter("tickerflow_api_ws_rejected_total", "WebSocket requests answered with an error");
    hub->frames_sent = metrics_counter("tickerflow_api_ws_frames_sent_total", "WebSocket frames sent");
    hub->coalesced = metrics_counter("tickerflow_api_ws_ticks_coalesced_total",
                                     "Ticks left out for clients that fell behind (each reported by a gap message)");
    hub->closed_slow = metrics_counter("tickerflow_api_ws_closed_slow_total", "Clients closed for being too slow");
    hub->refused = metrics_counter("tickerflow_api_ws_refused_total", "Connections refused at api.max_clients");
    hub->closed_idle = metrics_counter("tickerflow_api_ws_closed_idle_total",
                                       "Connections hung up after twice api.idle_timeout_s without a frame or pong");
    hub->tickers_refused = metrics_counter("tickerflow_api_live_tickers_refused_total",
                                           "Ticks of tickers beyond api.max_tickers, not served");
    hub->resumes_memory = metrics_counter("tickerflow_api_ws_resumes_memory_total", "Resumes served from memory");
    hub->resumes_database = metrics_counter("tickerflow_api_ws_resumes_database_total",
                                            "Resumes that needed a PostgreSQL query");
    hub->gaps = metrics_counter("tickerflow_api_ws_gaps_total", "Gap messages sent");
    hub->out_of_order = metrics_counter("tickerflow_api_live_out_of_order_total",
                                        "Messages not newer than their ticker's last one (not sent)");
    static const int64_t DELAY_BOUNDS[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000};
    hub->live_delay_ms = metrics_histogram_ms("tickerflow_api_live_delay_seconds",
                                           "From a tick's time to its hand-over to WebSocket clients: the pipeline's "
                                           "delay from the producer to the browsers' queues",
                                           DELAY_BOUNDS, sizeof DELAY_BOUNDS / sizeof DELAY_BOUNDS[0]);
    return hub;
}

void live_hub_destroy(struct live_hub *hub)
{
    if (hub == NULL)
        return;
    ticker_table_destroy(hub->tickers);
    free(hub->parsed);
    free(hub);
}
