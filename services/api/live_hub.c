/*
 * The live hub's protocol and delivery: client messages (subscribe, unsubscribe, resume,
 * ping), live ticks fanned out to their subscribers, values dated ahead of the clock held
 * until they are due, heartbeats. Connections are ws_client.c's, subscriptions and resumes
 * subscription.c's (live_hub_internal.h). Service thread only.
 */
#include "live_hub.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "live_hub_internal.h"
#include "log.h"
#include "timestamp.h"

/* ---- client messages ------------------------------------------------------------------- */

/* Queues a reply made of `object` (taken). */
static void push_reply(struct live_hub *hub, struct ws_client *client, json_t *object)
{
    char *json = object != NULL ? json_dumps(object, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(object);
    struct frame *frame = json != NULL ? frame_new(json, strlen(json)) : NULL;
    free(json);
    if (frame != NULL)
        ws_client_push(hub, client, frame);
}

/* {"type":"<type>","<key>":[names]} or "<key>":"*", key "tickers" or "pairs". Takes `names`. */
static void push_names_reply(struct live_hub *hub, struct ws_client *client, const char *type, const char *key,
                             json_t *names)
{
    push_reply(hub, client, json_pack("{s:s, s:o}", "type", type, key, names));
}

/* Subscribes to `entry` unless already subscribed, then resumes from position `since` when
 * given. The caller has checked the limits. */
static void subscribe(struct live_hub *hub, struct ws_client *client, struct ticker_entry *entry, int64_t since,
                      bool by_name, const struct delivery *options)
{
    struct subscription *subscription = subscription_find(client, entry);
    if (subscription == NULL) {
        subscription = subscription_add(client, entry);
        if (subscription == NULL) {
            ws_client_push_error(hub, client, "unavailable", "out of memory", entry->name);
            return;
        }
        subscription->by_name = by_name;
        if (by_name)
            client->named_count++;
    }
    subscription_set_delivery(client, subscription, options);
    if (since != CLIENT_NO_SINCE)
        subscription_resume(hub, subscription, since);
    /* The current minute at once: the client need not wait for the next tick. */
    struct frame *candle = NULL;
    if ((entry->pair ? entry->market.start_us : entry->candle.candle.start_us) != INT64_MIN)
        subscription_push_candle(hub, subscription, &candle);
    frame_release(candle);
}

/* The ticker (or pair) `name` if this client may subscribe to it now; otherwise NULL after
 * queueing the error that says why. `room` counts the subscriptions by name still allowed. */
static struct ticker_entry *accept_ticker(struct live_hub *hub, struct ws_client *client, const char *name,
                                          bool pair, size_t *room)
{
    char reason[192];
    struct ticker_entry *entry = ticker_table_find(pair ? hub->pairs : hub->tickers, name);
    if (entry == NULL) {
        snprintf(reason, sizeof reason, pair ? "unknown currency pair '%s' (no trade of it seen yet)" : "unknown ticker '%s'",
                 name);
        ws_client_push_error(hub, client, pair ? "unknown_pair" : "unknown_ticker", reason, name);
        return NULL;
    }
    if (subscription_find(client, entry) != NULL || (pair ? client->all_pairs : client->all))
        return entry;
    if (*room == 0) {
        snprintf(reason, sizeof reason, "too many subscriptions (limit %lld); '%s' not added",
                 hub->settings->max_subscriptions, name);
        ws_client_push_error(hub, client, "too_many_subscriptions", reason, name);
        return NULL;
    }
    (*room)--;
    return entry;
}

static void unsubscribe(struct ws_client *client, const char *name)
{
    for (size_t i = 0; i < client->subscription_count; i++) {
        if (strcmp(client->subscriptions[i]->ticker->name, name) == 0) {
            subscription_remove(client, i);
            return;
        }
    }
}

/* Ends every subscription of the client to a ticker (to a pair, with `pairs`). */
static void unsubscribe_all(struct ws_client *client, bool pairs)
{
    for (size_t i = client->subscription_count; i-- > 0;) {
        if (client->subscriptions[i]->ticker->pair == pairs)
            subscription_remove(client, i);
    }
    if (pairs)
        client->all_pairs = false;
    else
        client->all = false;
    client->all_delivery[pairs ? KIND_PAIRS : KIND_TICKERS] = (struct delivery){0};
}

/* Subscribes an "all" client to every ticker (pair) known now (later ones are added as they
 * come). */
static void subscribe_all(struct live_hub *hub, struct ws_client *client, bool pairs, int64_t since,
                          const struct delivery *options)
{
    struct ticker_table *table = pairs ? hub->pairs : hub->tickers;
    if (pairs) {
        client->all_pairs = true;
        client->all_pairs_candles = options->candles;
    } else {
        client->all = true;
        client->all_candles = options->candles;
    }
    client->all_delivery[pairs ? KIND_PAIRS : KIND_TICKERS] = *options;
    for (size_t index = 0; index < ticker_table_count(table); index++)
        subscribe(hub, client, ticker_table_at(table, index), since, false, options);
}

static void apply_subscriptions(struct live_hub *hub, struct ws_client *client, const struct client_message *message);

static void apply_message(struct live_hub *hub, struct ws_client *client, const struct client_message *message)
{
    if (message->op == CLIENT_PING) {
        ws_client_push_timed(hub, client, "pong");
        return;
    }
    /* What the client was sent before this message goes out before its reply: its shared
     * streams and its own batch, in that order. */
    batch_stream_leave(hub, client, false);
    ws_client_flush(hub, client);
    apply_subscriptions(hub, client, message);
    batch_stream_offer(hub, client);
}

static void apply_subscriptions(struct live_hub *hub, struct ws_client *client, const struct client_message *message)
{
    const struct delivery options = {.batch_us = (int64_t)message->batch_ms * 1000, .conflate = message->conflate,
                                     .candles = message->candles};
    const char *reply = message->op == CLIENT_SUBSCRIBE ? "subscribed"
                        : message->op == CLIENT_RESUME  ? "resumed"
                                                        : "unsubscribed";
    const char *key = message->pairs ? "pairs" : "tickers";
    if (message->all) {
        /* The reply goes first: the resumed ticks follow it. */
        push_names_reply(hub, client, reply, key, json_string("*"));
        if (message->op == CLIENT_UNSUBSCRIBE)
            unsubscribe_all(client, message->pairs);
        else
            subscribe_all(hub, client, message->pairs, message->all_since, &options);
        return;
    }
    if (message->op == CLIENT_UNSUBSCRIBE) {
        json_t *names = json_array();
        for (size_t i = 0; i < message->count; i++) {
            unsubscribe(client, message->tickers[i].name);
            json_array_append_new(names, json_string(message->tickers[i].name));
        }
        push_names_reply(hub, client, reply, key, names);
        return;
    }
    /* Errors for the names refused go first, then the reply listing those taken, then
     * their resumed ticks: so check every name before subscribing any. A resume may name
     * tickers and pairs at once: its reply lists each under its own key. */
    json_t *names = json_array(), *pair_names = json_array();
    struct ticker_entry **accepted = calloc(message->count ? message->count : 1, sizeof *accepted);
    size_t room = hub->settings->max_subscriptions > (long long)client->named_count
                      ? (size_t)hub->settings->max_subscriptions - client->named_count
                      : 0;
    for (size_t i = 0; accepted != NULL && i < message->count; i++) {
        const struct client_ticker *named = &message->tickers[i];
        accepted[i] = accept_ticker(hub, client, named->name, named->pair, &room);
        if (accepted[i] != NULL)
            json_array_append_new(named->pair ? pair_names : names, json_string(named->name));
    }
    if (message->op == CLIENT_RESUME && json_array_size(pair_names) > 0) {
        push_reply(hub, client, json_pack("{s:s, s:o, s:o}", "type", reply, "tickers", names, "pairs", pair_names));
    } else {
        push_names_reply(hub, client, reply, message->pairs ? "pairs" : "tickers", message->pairs ? pair_names : names);
        json_decref(message->pairs ? names : pair_names);
    }
    for (size_t i = 0; accepted != NULL && i < message->count; i++) {
        if (accepted[i] != NULL)
            subscribe(hub, client, accepted[i], message->tickers[i].since, true, &options);
    }
    free(accepted);
}

/* Answers one whole client message. */
static void handle_message(struct live_hub *hub, struct ws_client *client, const char *text, size_t length,
                           bool too_long)
{
    const char *code;
    struct error err;
    size_t limit = (size_t)hub->settings->max_message_bytes;
    if (lws_frame_is_binary(client->wsi)) {
        ws_client_push_error(hub, client, "binary_frame", "binary frames are not supported; send JSON text", NULL);
    } else if (too_long) {
        snprintf(err.message, sizeof err.message, "message of %zu bytes is longer than the limit of %zu", length,
                 limit);
        ws_client_push_error(hub, client, "message_too_long", err.message, NULL);
    } else if (client_message_parse(text, length, hub->parsed, &code, &err) < 0) {
        ws_client_push_error(hub, client, code, err.message, NULL);
    } else {
        apply_message(hub, client, hub->parsed);
    }
}

void live_hub_receive(struct live_hub *hub, struct ws_client *client, const void *data, size_t length)
{
    live_hub_heard(client);
    size_t limit = (size_t)hub->settings->max_message_bytes;
    bool whole = lws_is_final_fragment(client->wsi) && lws_remaining_packet_payload(client->wsi) == 0;
    if (whole && client->message_length == 0) { /* the usual case: read in place, nothing kept */
        handle_message(hub, client, data, length, length > limit);
        return;
    }
    /* A message in pieces: gathered in a buffer that exists only until it is whole (10,000
     * idle connections need none). */
    if (client->message == NULL && (client->message = malloc(limit)) == NULL) {
        log_error("out of memory reading a WebSocket message");
        client->message_too_long = true;
    }
    if (client->message_length + length > limit || client->message == NULL)
        client->message_too_long = true;
    else
        memcpy(client->message + client->message_length, data, length);
    client->message_length += length;
    if (!whole)
        return;
    handle_message(hub, client, client->message, client->message_length, client->message_too_long);
    free(client->message);
    client->message = NULL;
    client->message_length = 0;
    client->message_too_long = false;
}

/* ---- delivery ----------------------------------------------------------------------------- */

/* A ticker (pair) seen for the first time: "all" clients get it too. */
static struct ticker_entry *new_entry(struct live_hub *hub, struct ticker_table *table, const char *name)
{
    struct ticker_entry *entry = ticker_table_add(table, name);
    if (entry == NULL) {
        metric_add(hub->metrics.tickers_refused, 1); /* ticker_table logs it */
        return NULL;
    }
    for (struct ws_client *client = hub->clients; client != NULL; client = client->next) {
        if (!(entry->pair ? client->all_pairs : client->all) || subscription_find(client, entry) != NULL)
            continue;
        struct subscription *subscription = subscription_add(client, entry);
        if (subscription == NULL) {
            log_error("out of memory subscribing a client to %s", name);
        } else {
            subscription_set_delivery(client, subscription, &client->all_delivery[entry->pair ? KIND_PAIRS : KIND_TICKERS]);
            batch_stream_adopt(client, subscription);
        }
    }
    return entry;
}

static struct ticker_entry *entry_of(struct live_hub *hub, struct ticker_table *table, const char *name)
{
    struct ticker_entry *entry = ticker_table_find(table, name);
    return entry != NULL ? entry : new_entry(hub, table, name);
}

/* Remembers `frame` as the entry's newest and queues it, and the live candle, to each
 * subscriber that is not resuming (a resume sends the window when it is answered). */
static void fan_out_frame(struct live_hub *hub, struct ticker_entry *entry, struct frame *frame)
{
    ticker_table_remember(live_hub_table_of(hub, entry), entry, frame);
    struct frame *candle = NULL; /* made for the first subscriber that wants it */
    for (size_t i = 0; i < entry->subscriber_count; i++) {
        struct subscription *subscription = entry->subscribers[i];
        if (subscription->resume == NULL) {
            subscription_push_tick(hub, subscription, frame);
            subscription_push_candle(hub, subscription, &candle);
        }
    }
    batch_stream_fan_out(hub, entry, frame, &candle);
    frame_release(candle);
}

/* Makes one tick a frame (shared by every subscriber), remembers it in the ticker's window
 * and live candle, and queues it (and the candle) to each subscriber. Takes the tick. */
static void fan_out(struct live_hub *hub, struct live_tick *tick, int64_t now_us)
{
    metric_observe(hub->metrics.live_delay_ms, (now_us - tick->ticker.time_us) / 1000);
    struct ticker_entry *entry = entry_of(hub, hub->tickers, tick->ticker.name);
    if (entry != NULL && tick->ticker.time_us <= entry->last_position) {
        metric_add(hub->metrics.out_of_order, 1); /* a repeat, or a clock that went back: never sent twice */
        entry = NULL;
    }
    struct tick_origin origin = {.partition = tick->partition, .offset = tick->offset,
                                 .previous = entry != NULL ? entry->last_position : INT64_MIN};
    struct frame *frame = entry != NULL ? frame_new_tick(entry->id, &tick->ticker, &origin) : NULL;
    if (frame != NULL) {
        live_candle_add(&entry->candle, tick->ticker.value, tick->ticker.time_us);
        fan_out_frame(hub, entry, frame);
        frame_release(frame);
    }
    free(tick);
}

/* The feed dropped ticks of this ticker up to the marker's time: its next value says so
 * (its `prev` is the last one dropped, so clients see the hole and fetch it). */
static void skip(struct live_hub *hub, struct ticker_table *table, struct live_tick *marker)
{
    struct ticker_entry *entry = entry_of(hub, table, marker->key);
    if (entry != NULL)
        ticker_table_skip(entry, marker->position);
    metric_add(hub->metrics.skipped, 1);
    free(marker);
}

/* ---- values dated ahead of the clock ------------------------------------------------------ */
/*
 * A value dated more than api.max_ahead_ms past the clock (a producer with a wrong clock)
 * would become its ticker's newest position: every real value after it would be older, and
 * dropped as out of order until the clock caught up. So it waits here, in time order, and is
 * delivered when it is due (its time within max_ahead_ms of the clock), like PostgreSQL's
 * answers, which stop there too (history_store.c).
 */

static void hold(struct live_hub *hub, struct live_tick *tick)
{
    if (hub->held_count >= (size_t)hub->settings->live_queue_max) {
        metric_add(hub->metrics.ahead_refused, 1);
        if (metric_value(hub->metrics.ahead_refused) % 1000 == 1)
            log_warn("more than api.live_queue_max (%lld) values dated ahead of the clock are waiting: the value of "
                     "%s at %" PRId32 "@%" PRId64 " is not sent live (history has it; %" PRId64 " so far)",
                     hub->settings->live_queue_max, tick->ticker.name, tick->partition, tick->offset,
                     metric_value(hub->metrics.ahead_refused));
        free(tick);
        return;
    }
    metric_add(hub->metrics.ahead, 1);
    int64_t so_far = metric_value(hub->metrics.ahead);
    if (so_far <= 10 || so_far % 1000 == 0)
        log_warn("value of %s at %" PRId32 "@%" PRId64 " is dated %" PRId64 " ms past the clock: held until it is due "
                 "(api.max_ahead_ms; %" PRId64 " so far)",
                 tick->ticker.name, tick->partition, tick->offset,
                 (tick->ticker.time_us - timestamp_now_us()) / 1000, so_far);
    struct live_tick **at = &hub->held;
    while (*at != NULL && (*at)->ticker.time_us <= tick->ticker.time_us)
        at = &(*at)->next;
    tick->next = *at;
    *at = tick;
    hub->held_count++;
}

/* Delivers the held values of `name` dated before `before_us` (all names: NULL), in time
 * order: they are older than what follows. */
static void release_held(struct live_hub *hub, const char *name, int64_t before_us, int64_t now_us)
{
    for (struct live_tick **at = &hub->held; *at != NULL && (*at)->ticker.time_us < before_us;) {
        struct live_tick *tick = *at;
        if (name != NULL && strcmp(tick->ticker.name, name) != 0) {
            at = &tick->next;
            continue;
        }
        *at = tick->next;
        hub->held_count--;
        fan_out(hub, tick, now_us);
    }
}

int64_t live_hub_release_due(struct live_hub *hub)
{
    int64_t now_us = timestamp_now_us();
    int64_t due_until_us = now_us + hub->settings->max_ahead_ms * 1000;
    release_held(hub, NULL, due_until_us + 1, now_us);
    return hub->held != NULL ? hub->held->ticker.time_us - due_until_us : -1;
}

void live_hub_deliver(struct live_hub *hub, struct live_tick *ticks)
{
    int64_t now_us = timestamp_now_us();
    int64_t due_until_us = now_us + hub->settings->max_ahead_ms * 1000;
    for (struct live_tick *tick = ticks, *next; tick != NULL; tick = next) {
        next = tick->next;
        tick->next = NULL;
        if (tick->skipped) {
            skip(hub, hub->tickers, tick);
        } else if (tick->ticker.time_us > due_until_us) {
            hold(hub, tick);
        } else {
            if (hub->held != NULL)
                release_held(hub, tick->ticker.name, tick->ticker.time_us, now_us);
            fan_out(hub, tick, now_us);
        }
    }
}

/* ---- trades ------------------------------------------------------------------------------ */

/* The trade in the pair's live candle, unless it is dated more than api.max_ahead_ms past the
 * clock (a broken exchange clock would open a minute far ahead and hold the real ones out).
 * Positions are offsets, so such a trade is sent in its place all the same. */
static void add_to_market_candle(struct live_hub *hub, struct ticker_entry *entry, const struct live_trade *market,
                                 int64_t due_until_us)
{
    int64_t time_us = market->trade.timestamp_ms * 1000;
    if (time_us > due_until_us) {
        metric_add(hub->metrics.trades_ahead, 1);
        return;
    }
    market_candle_add(&entry->market, &market->numbers.price, &market->numbers.volume,
                      market->trade.direction == TRADE_BUY, time_us);
}

static void fan_out_trade(struct live_hub *hub, struct live_tick *tick, int64_t now_us, int64_t due_until_us)
{
    const struct live_trade *market = tick->market;
    metric_observe(hub->metrics.live_trade_delay_ms, (now_us - market->trade.timestamp_ms * 1000) / 1000);
    struct ticker_entry *entry = entry_of(hub, hub->pairs, tick->key);
    if (entry == NULL)
        return;
    if (tick->position <= entry->last_position) {
        metric_add(hub->metrics.out_of_order, 1); /* read again (a backfill overlap): never sent twice */
        return;
    }
    struct tick_origin origin = {.partition = tick->partition, .offset = tick->offset,
                                 .previous = entry->last_position};
    struct frame *frame = frame_new_trade(entry->id, &market->trade, &origin);
    if (frame == NULL)
        return;
    add_to_market_candle(hub, entry, market, due_until_us);
    fan_out_frame(hub, entry, frame);
    frame_release(frame);
}

void live_hub_deliver_trades(struct live_hub *hub, struct live_tick *trades)
{
    int64_t now_us = timestamp_now_us();
    int64_t due_until_us = now_us + hub->settings->max_ahead_ms * 1000;
    for (struct live_tick *tick = trades, *next; tick != NULL; tick = next) {
        next = tick->next;
        if (tick->skipped)
            skip(hub, hub->pairs, tick);
        else {
            fan_out_trade(hub, tick, now_us, due_until_us);
            free(tick);
        }
    }
}

/* ---- batched delivery ---------------------------------------------------------------------- */

int64_t live_hub_flush_due(struct live_hub *hub)
{
    int64_t now_us = timestamp_monotonic_us();
    int64_t clients_next = ws_client_flush_due(hub, now_us);
    int64_t streams_next = batch_stream_flush_due(hub, now_us);
    int64_t next = clients_next < streams_next ? clients_next : streams_next;
    return next == INT64_MAX ? -1 : next > now_us ? next - now_us : 0;
}

/* ---- heartbeats ------------------------------------------------------------------------- */

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
        ws_client_push_timed(hub, client, "heartbeat");
    hub->heartbeat_next = client;
    hub->heartbeat_slice = (hub->heartbeat_slice + 1) % LIVE_HUB_HEARTBEAT_SLICES;
}

/* ---- lifecycle ----------------------------------------------------------------------- */

const size_t WS_CLIENT_SIZE = sizeof(struct ws_client);

static void register_metrics(struct live_hub_metrics *m)
{
    static const int64_t DELAY_BOUNDS[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000};
    m->clients = metrics_gauge("tickerflow_api_ws_clients", "WebSocket clients connected");
    m->queued_frames = metrics_gauge("tickerflow_api_ws_queued_frames", "Frames waiting in WebSocket clients' queues");
    m->queued_frames_peak = metrics_gauge("tickerflow_api_ws_queued_frames_peak",
                                          "Most frames ever waiting in WebSocket clients' queues at once");
    m->rejected = metrics_counter("tickerflow_api_ws_rejected_total", "WebSocket requests answered with an error");
    m->frames_sent = metrics_counter("tickerflow_api_ws_frames_sent_total", "WebSocket frames sent");
    m->coalesced = metrics_counter("tickerflow_api_ws_ticks_coalesced_total",
                                   "Ticks left out for clients that fell behind (each reported by a gap message)");
    m->closed_slow = metrics_counter("tickerflow_api_ws_closed_slow_total", "Clients closed for being too slow");
    m->refused = metrics_counter("tickerflow_api_ws_refused_total", "Connections refused at api.max_clients");
    m->closed_idle = metrics_counter("tickerflow_api_ws_closed_idle_total",
                                     "Connections hung up after twice api.idle_timeout_s without a frame or pong");
    m->tickers_refused = metrics_counter("tickerflow_api_live_tickers_refused_total",
                                         "Ticks of tickers beyond api.max_tickers, not served");
    m->resumes_memory = metrics_counter("tickerflow_api_ws_resumes_memory_total", "Resumes served from memory");
    m->resumes_database = metrics_counter("tickerflow_api_ws_resumes_database_total",
                                          "Resumes that needed a PostgreSQL query");
    m->gaps = metrics_counter("tickerflow_api_ws_gaps_total", "Gap messages sent");
    m->out_of_order = metrics_counter("tickerflow_api_live_out_of_order_total",
                                      "Messages not newer than their ticker's last one (not sent)");
    m->skipped = metrics_counter("tickerflow_api_live_skipped_tickers_total",
                                 "Times a ticker's values were dropped unseen by a full live queue (its next value's "
                                 "prev names the last one dropped)");
    m->ahead = metrics_counter("tickerflow_api_live_ahead_total",
                               "Values dated more than api.max_ahead_ms past the clock, held until due");
    m->ahead_refused = metrics_counter("tickerflow_api_live_ahead_refused_total",
                                       "Values dated ahead of the clock not sent live: api.live_queue_max were waiting");
    m->trades_ahead = metrics_counter("tickerflow_api_live_trades_ahead_total",
                                      "Trades dated more than api.max_ahead_ms past the clock: sent, but left out of "
                                      "the live candle");
    m->live_trade_delay_ms = metrics_histogram_ms("tickerflow_api_live_trade_delay_seconds",
                                                  "From a trade's time to its hand-over to WebSocket clients",
                                                  DELAY_BOUNDS, sizeof DELAY_BOUNDS / sizeof DELAY_BOUNDS[0]);
    m->batch_frames = metrics_counter("tickerflow_api_ws_batch_frames_total",
                                      "Batched frames encoded (one per interval per client, or per shared stream)");
    m->shared_frames = metrics_counter("tickerflow_api_ws_shared_frames_total",
                                       "Batched frames written to members of a shared stream (encoded once for all)");
    m->conflated = metrics_counter("tickerflow_api_ws_ticks_conflated_total",
                                   "Values replaced by a newer one of their ticker within a conflated batch");
    m->stream_members = metrics_gauge("tickerflow_api_ws_stream_members",
                                      "Clients served by a shared batched stream (\"*\" with the same options)");
    m->live_delay_ms = metrics_histogram_ms("tickerflow_api_live_delay_seconds",
                                            "From a tick's time to its hand-over to WebSocket clients: the pipeline's "
                                            "delay from the producer to the browsers' queues",
                                            DELAY_BOUNDS, sizeof DELAY_BOUNDS / sizeof DELAY_BOUNDS[0]);
}

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
    hub->tickers = ticker_table_new((size_t)settings->replay_ticks, (size_t)settings->max_tickers, false, 0, err);
    hub->pairs = hub->tickers != NULL ? ticker_table_new((size_t)settings->replay_ticks, (size_t)settings->max_tickers,
                                                         true, (int)settings->max_tickers, err)
                                      : NULL;
    if (hub->pairs == NULL) {
        live_hub_destroy(hub);
        return NULL;
    }
    register_metrics(&hub->metrics);
    return hub;
}

void live_hub_destroy(struct live_hub *hub)
{
    if (hub == NULL)
        return;
    while (hub->held != NULL) {
        struct live_tick *tick = hub->held;
        hub->held = tick->next;
        free(tick);
    }
    batch_stream_destroy_all(hub);
    free(hub->flush_heap);
    ticker_table_destroy(hub->tickers);
    ticker_table_destroy(hub->pairs);
    free(hub->parsed);
    free(hub);
}
