/*
 * A WebSocket client watching one ticker or pair: what it has been sent (the newest
 * position queued, a tick's time or a trade's offset:
 * a value is never sent twice nor out of order, whatever mix of window, PostgreSQL rows and
 * live ticks a resume takes), and resuming from a position. See live_hub_internal.h.
 * Service thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "live_hub_internal.h"
#include "log.h"
#include "timestamp.h"

struct subscription *subscription_find(const struct ws_client *client, const struct ticker_entry *entry)
{
    for (size_t i = 0; i < client->subscription_count; i++) {
        if (client->subscriptions[i]->ticker == entry)
            return client->subscriptions[i];
    }
    return NULL;
}

struct subscription *subscription_add(struct ws_client *client, struct ticker_entry *entry)
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
    *subscription = (struct subscription){.client = client, .ticker = entry, .last_queued = entry->last_position};
    if (subscription_attach(subscription) < 0) {
        free(subscription);
        return NULL;
    }
    client->subscriptions[client->subscription_count++] = subscription;
    return subscription;
}

void subscription_remove(struct ws_client *client, size_t index)
{
    struct subscription *subscription = client->subscriptions[index];
    subscription_detach(subscription);
    tick_batch_forget(&client->batch, &subscription->tick_slot);
    tick_batch_forget(&client->batch, &subscription->candle_slot);
    if (subscription->resume != NULL)
        subscription->resume->session = NULL;
    if (subscription->by_name)
        client->named_count--;
    free(subscription);
    client->subscriptions[index] = client->subscriptions[--client->subscription_count];
}

int subscription_attach(struct subscription *subscription)
{
    if (subscription->attached)
        return 0;
    if (ticker_entry_subscribe(subscription->ticker, subscription, &subscription->subscriber_index) < 0)
        return -1;
    subscription->attached = true;
    return 0;
}

void subscription_detach(struct subscription *subscription)
{
    if (subscription->attached)
        ticker_entry_unsubscribe(subscription->ticker, &subscription->subscriber_index);
    subscription->attached = false;
}

void subscription_set_delivery(struct ws_client *client, struct subscription *subscription,
                               const struct delivery *options)
{
    if (!options->conflate)
        tick_batch_forget(&client->batch, &subscription->tick_slot); /* what follows is not merged into it */
    subscription->batch_us = (int32_t)options->batch_us;
    subscription->conflate = options->conflate && options->batch_us > 0;
    subscription->candles = options->candles;
}

/* The subscription's client holds a message in its batch: due within the subscription's interval. */
static void batch_due(struct live_hub *hub, struct subscription *subscription)
{
    ws_client_batch_due(hub, subscription->client, timestamp_monotonic_us() + subscription->batch_us);
}

static void push_gap(struct live_hub *hub, struct subscription *subscription, int64_t after, int64_t before,
                     int64_t missed);

void subscription_push_values(struct live_hub *hub, struct subscription *subscription, struct frame *tick,
                              int64_t count, int64_t after)
{
    if (tick->position <= subscription->last_queued)
        return;
    subscription->last_queued = tick->position;
    struct ws_client *client = subscription->client;
    if (subscription->batch_us == 0) {
        if (count > 1) /* a conflated value for a client that now takes every one: say what it stands for */
            push_gap(hub, subscription, after, tick->position, count - 1);
        ws_client_push(hub, client, frame_ref(tick));
        return;
    }
    if (subscription->tick_slot != 0)
        metric_add(hub->metrics.conflated, 1);
    tick_batch_add_tick(&client->batch, frame_ref(tick), count, after, subscription->conflate,
                        subscription->conflate ? &subscription->tick_slot : NULL);
    batch_due(hub, subscription);
}

void subscription_push_tick(struct live_hub *hub, struct subscription *subscription, struct frame *tick)
{
    subscription_push_values(hub, subscription, tick, 1, tick->previous);
}

/* Each candle frame is whole, so skipping some for a client that falls behind loses
 * nothing the next one does not carry, and ticks keep their room in the queue. */
void subscription_push_candle(struct live_hub *hub, struct subscription *subscription, struct frame **candle)
{
    struct ws_client *client = subscription->client;
    struct ticker_entry *entry = subscription->ticker;
    if (!subscription->candles || subscription->resume != NULL || client->queue.count * 2 > client->queue.limit)
        return;
    if (*candle == NULL) {
        *candle = entry->pair ? frame_new_market_candle(entry->name, &entry->market)
                              : frame_new_candle(entry->name, &entry->candle);
        if (*candle == NULL)
            return;
        (*candle)->ticker_id = entry->id; /* whose candle: coalescing keeps each one's newest */
    }
    if (subscription->batch_us == 0) {
        ws_client_push(hub, client, frame_ref(*candle));
        return;
    }
    tick_batch_add_latest(&client->batch, frame_ref(*candle), &subscription->candle_slot);
    batch_due(hub, subscription);
}

static void push_gap(struct live_hub *hub, struct subscription *subscription, int64_t after, int64_t before,
                     int64_t missed)
{
    metric_add(hub->metrics.gaps, 1);
    struct ticker_entry *entry = subscription->ticker;
    struct frame *gap = frame_new_gap(entry->id, entry->pair, entry->name, after, before, missed);
    if (gap == NULL)
        return;
    if (subscription->batch_us == 0) {
        ws_client_push(hub, subscription->client, gap);
        return;
    }
    /* The values after the gap are not merged into one before it. */
    tick_batch_forget(&subscription->client->batch, &subscription->tick_slot);
    tick_batch_add(&subscription->client->batch, gap);
    batch_due(hub, subscription);
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
        struct frame *tick = ticker_window_at(live_hub_table_of(hub, entry), entry, i);
        if (tick->position <= subscription->last_queued)
            continue;
        bool follows = tick->previous == INT64_MIN ? !(strict && first)
                                                      : tick->previous <= subscription->last_queued;
        if (!follows)
            push_gap(hub, subscription, subscription->last_queued, tick->position, -1);
        subscription_push_tick(hub, subscription, tick);
        first = false;
    }
    if (strict && first && entry->last_position > subscription->last_queued)
        push_gap(hub, subscription, subscription->last_queued, INT64_MIN, -1); /* newer values, none held */
}

/* Does the window hold every tick after position `since`? */
static bool window_covers(const struct ticker_table *table, const struct ticker_entry *entry, int64_t since)
{
    if (since >= entry->last_position)
        return true; /* nothing newer exists */
    if (entry->window_count == 0)
        return false;
    const struct frame *oldest = ticker_window_at(table, entry, 0);
    return oldest->position <= since || (oldest->previous != INT64_MIN && oldest->previous <= since);
}

void subscription_resume(struct live_hub *hub, struct subscription *subscription, int64_t since)
{
    if (subscription->resume != NULL) { /* a newer position replaces one under way */
        subscription->resume->session = NULL;
        subscription->resume = NULL;
    }
    subscription->last_queued = since;
    if (window_covers(live_hub_table_of(hub, subscription->ticker), subscription->ticker, since)) {
        metric_add(hub->metrics.resumes_memory, 1);
        push_window(hub, subscription, false);
        return;
    }
    struct query_job *job = query_job_new();
    if (job != NULL) {
        job->kind = QUERY_RESUME;
        memcpy(job->resume.name, subscription->ticker->name, sizeof job->resume.name);
        job->resume.pair = subscription->ticker->pair;
        job->resume.since = since;
        job->resume.limit = (int)hub->settings->history_max_limit;
        job->session = subscription;
        if (query_pool_submit(hub->pool, job) == 0) {
            metric_add(hub->metrics.resumes_database, 1);
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
        batch_stream_offer(hub, subscription->client);
        return;
    }
    struct ticker_entry *entry = subscription->ticker;
    if (rows->truncated) /* more than history_max_limit values: the oldest are left out */
        push_gap(hub, subscription, subscription->last_queued, rows->positions[0], -1);
    int64_t previous = rows->anchored && !rows->truncated ? job->resume.since : INT64_MIN;
    for (size_t i = 0; i < rows->count; i++) {
        struct frame *frame;
        if (entry->pair) {
            struct tick_origin origin = {.partition = rows->partitions[i], .offset = rows->positions[i],
                                         .previous = previous};
            frame = frame_new_trade(entry->id, &rows->trades[i], &origin);
        } else {
            struct ticker tick = {.value = rows->values[i], .time_us = rows->positions[i]};
            memcpy(tick.name, entry->name, sizeof tick.name);
            struct tick_origin origin = {.partition = -1, .previous = previous};
            frame = frame_new_tick(entry->id, &tick, &origin);
        }
        if (frame != NULL) {
            subscription_push_tick(hub, subscription, frame);
            frame_release(frame);
        }
        previous = rows->positions[i];
    }
    push_window(hub, subscription, false);
    query_job_free(job);
    batch_stream_offer(hub, subscription->client);
}
