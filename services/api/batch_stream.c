/*
 * Shared batched streams: every client subscribed to "*" of a kind (tickers or pairs) with
 * the same batching options and keeping up gets the same frame each interval, so the frame
 * is encoded once and each member costs one write (see live_hub_internal.h).
 *
 * The rules that keep each member's values complete and each sent once:
 *  - a client joins only when the stream's frame goes out, after its own batch went out
 *    before it: from then on the stream's frames hold exactly the values it has not had;
 *  - a member's subscriptions are detached from the tickers, so a live tick costs nothing
 *    per member; the stream records the newest position it sent of each ticker;
 *  - a member leaves (when it sends a message, falls behind or goes) with its subscriptions
 *    attached again and told what the stream sent; what the stream gathered for its next
 *    frame goes into the client's own batch instead.
 * Service thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "live_hub_internal.h"
#include "log.h"
#include "timestamp.h"

/*
 * Slices: 10,000 boards in one stream would get their frame in one burst of 10,000 writes
 * (70 ms and more on this machine), the last ones always last. Past SLICE_MEMBERS members a
 * stream's clients are spread over up to STREAM_SLICES streams of the same options whose
 * frames go out at evenly staggered moments of the interval: each frame is still encoded
 * once per slice, and the writes are spread over the interval instead of bunched.
 */
#define STREAM_SLICES 8
#define SLICE_MEMBERS 500

static bool same_options(const struct delivery *a, const struct delivery *b)
{
    return a->batch_us == b->batch_us && a->conflate == b->conflate && a->candles == b->candles;
}

static struct batch_stream *stream_new(struct live_hub *hub, int kind, const struct delivery *options, int slice)
{
    size_t tickers = (size_t)hub->settings->max_tickers;
    struct batch_stream *stream = calloc(1, sizeof *stream);
    if (stream == NULL)
        return NULL;
    stream->kind = kind;
    stream->options = *options;
    stream->slice = slice;
    stream->phase_us = options->batch_us * slice / STREAM_SLICES;
    stream->base_id = kind == KIND_PAIRS ? (int)hub->settings->max_tickers : 0;
    stream->slots = calloc(2 * tickers, sizeof *stream->slots);
    stream->sent = malloc(tickers * sizeof *stream->sent);
    if (stream->slots == NULL || stream->sent == NULL) {
        free(stream->slots);
        free(stream->sent);
        free(stream);
        return NULL;
    }
    for (size_t i = 0; i < tickers; i++)
        stream->sent[i] = INT64_MIN;
    tick_batch_init(&stream->batch);
    stream->next = hub->streams;
    hub->streams = stream;
    return stream;
}

static void stream_free(struct batch_stream *stream)
{
    tick_batch_clear(&stream->batch);
    free(stream->slots);
    free(stream->sent);
    free(stream->members);
    free(stream->joiners);
    free(stream);
}

/* A stream nobody is in or joining is dropped. */
static void drop_if_unused(struct live_hub *hub, struct batch_stream *stream)
{
    if (stream->member_count > 0 || stream->joiner_count > 0)
        return;
    for (struct batch_stream **at = &hub->streams; *at != NULL; at = &(*at)->next) {
        if (*at == stream) {
            *at = stream->next;
            break;
        }
    }
    stream_free(stream);
}

/* Appends `client` to a stream's members or joiners (by `member`). -1 when out of memory. */
static int list_add(struct batch_stream *stream, struct ws_client *client, bool member)
{
    struct ws_client ***list = member ? &stream->members : &stream->joiners;
    size_t *count = member ? &stream->member_count : &stream->joiner_count;
    size_t *capacity = member ? &stream->member_capacity : &stream->joiner_capacity;
    if (*count == *capacity) {
        size_t grown_capacity = *capacity ? *capacity * 2 : 16;
        struct ws_client **grown = realloc(*list, grown_capacity * sizeof *grown);
        if (grown == NULL)
            return -1;
        *list = grown;
        *capacity = grown_capacity;
    }
    client->stream[stream->kind] = stream;
    client->stream_member[stream->kind] = member;
    client->stream_index[stream->kind] = *count;
    (*list)[(*count)++] = client;
    return 0;
}

static void list_remove(struct batch_stream *stream, struct ws_client *client)
{
    int kind = stream->kind;
    bool member = client->stream_member[kind];
    struct ws_client **list = member ? stream->members : stream->joiners;
    size_t *count = member ? &stream->member_count : &stream->joiner_count;
    size_t index = client->stream_index[kind];
    list[index] = list[--*count];
    list[index]->stream_index[kind] = index;
    client->stream[kind] = NULL;
    client->stream_member[kind] = false;
}

/* ---- joining ------------------------------------------------------------------------ */

/* May the client's subscriptions of `kind` be served by the stream of its "*" options? */
static bool eligible(const struct ws_client *client, int kind)
{
    const struct delivery *options = &client->all_delivery[kind];
    bool all = kind == KIND_PAIRS ? client->all_pairs : client->all;
    if (!all || options->batch_us == 0 || client->stream[kind] != NULL || client->close_code != 0 ||
        client->lagging_since_us != 0 || client->queue.count * 2 > client->queue.limit)
        return false;
    for (size_t i = 0; i < client->subscription_count; i++) {
        const struct subscription *subscription = client->subscriptions[i];
        if (subscription->ticker->pair != (kind == KIND_PAIRS))
            continue;
        if (subscription->by_name || subscription->resume != NULL || subscription->batch_us != options->batch_us ||
            subscription->conflate != options->conflate || subscription->candles != options->candles)
            return false;
    }
    return true;
}

/* The stream a client with these options joins: the least crowded slice of as many as the
 * options' clients need (one up to SLICE_MEMBERS), created when missing. */
static struct batch_stream *stream_for(struct live_hub *hub, int kind, const struct delivery *options)
{
    struct batch_stream *slices[STREAM_SLICES] = {0};
    size_t clients = 0;
    for (struct batch_stream *stream = hub->streams; stream != NULL; stream = stream->next) {
        if (stream->kind == kind && same_options(&stream->options, options)) {
            slices[stream->slice] = stream;
            clients += stream->member_count + stream->joiner_count;
        }
    }
    size_t wanted = 1 + clients / SLICE_MEMBERS;
    int count = wanted < STREAM_SLICES ? (int)wanted : STREAM_SLICES, emptiest = 0;
    for (int slice = 0; slice < count; slice++) {
        if (slices[slice] == NULL)
            return stream_new(hub, kind, options, slice);
        if (slices[slice]->member_count + slices[slice]->joiner_count <
            slices[emptiest]->member_count + slices[emptiest]->joiner_count)
            emptiest = slice;
    }
    return slices[emptiest];
}

void batch_stream_offer(struct live_hub *hub, struct ws_client *client)
{
    for (int kind = 0; kind < KIND_COUNT; kind++) {
        if (!eligible(client, kind))
            continue;
        struct batch_stream *stream = stream_for(hub, kind, &client->all_delivery[kind]);
        if (stream == NULL)
            continue; /* out of memory: it keeps its own batches */
        if (list_add(stream, client, false) < 0) {
            drop_if_unused(hub, stream);
            continue;
        }
        /* An empty stream can take it at once (its next flush call). */
        if (stream->batch.count == 0)
            tick_batch_due_by(&stream->batch, timestamp_monotonic_us());
    }
}

/* The joiner becomes a member: its own batch goes out first (it holds values older than any
 * the stream will carry), then its subscriptions are detached. */
static void admit(struct live_hub *hub, struct batch_stream *stream, struct ws_client *client)
{
    ws_client_flush(hub, client);
    list_remove(stream, client);
    if (list_add(stream, client, true) < 0)
        return; /* out of memory: it stays on its own */
    for (size_t i = 0; i < client->subscription_count; i++) {
        struct subscription *subscription = client->subscriptions[i];
        if (subscription->ticker->pair == (stream->kind == KIND_PAIRS))
            subscription_detach(subscription);
    }
    metric_add(hub->metrics.stream_members, 1);
}

void batch_stream_adopt(struct ws_client *client, struct subscription *subscription)
{
    int kind = subscription->ticker->pair ? KIND_PAIRS : KIND_TICKERS;
    if (client->stream[kind] != NULL && client->stream_member[kind])
        subscription_detach(subscription);
}

/* ---- leaving ----------------------------------------------------------------------- */

static struct subscription *subscription_of(const struct ws_client *client, int ticker_id)
{
    for (size_t i = 0; i < client->subscription_count; i++) {
        if (client->subscriptions[i]->ticker->id == ticker_id)
            return client->subscriptions[i];
    }
    return NULL;
}

/* The member's subscriptions of the stream's kind, attached again and knowing what it sent. */
static void reattach(struct batch_stream *stream, struct ws_client *client)
{
    for (size_t i = 0; i < client->subscription_count; i++) {
        struct subscription *subscription = client->subscriptions[i];
        if (subscription->ticker->pair != (stream->kind == KIND_PAIRS))
            continue;
        int64_t sent = stream->sent[subscription->ticker->id - stream->base_id];
        if (sent > subscription->last_queued)
            subscription->last_queued = sent;
        if (subscription_attach(subscription) < 0)
            log_error("out of memory: a WebSocket client stops receiving %s", subscription->ticker->name);
    }
}

/* What the stream gathered for its next frame, to the leaving member's own batch. */
static void hand_over_pending(struct live_hub *hub, struct batch_stream *stream, struct ws_client *client)
{
    for (size_t i = 0; i < stream->batch.count; i++) {
        const struct batch_item *item = &stream->batch.items[i];
        struct subscription *subscription = subscription_of(client, item->frame->ticker_id);
        if (subscription == NULL)
            continue;
        if (item->frame->kind == FRAME_TICK) {
            subscription_push_values(hub, subscription, item->frame, item->count, item->after);
        } else {
            struct frame *candle = item->frame;
            subscription_push_candle(hub, subscription, &candle);
        }
    }
}

/* Takes the client out of the stream; a member's subscriptions are attached again and given
 * what the stream holds for its next frame (unless it is closing). The caller drops the
 * stream if it is left unused. */
static void leave(struct live_hub *hub, struct batch_stream *stream, struct ws_client *client, bool closing)
{
    bool member = client->stream_member[stream->kind];
    list_remove(stream, client);
    if (!member)
        return;
    metric_add(hub->metrics.stream_members, -1);
    if (!closing) {
        reattach(stream, client);
        hand_over_pending(hub, stream, client);
    }
}

void batch_stream_leave(struct live_hub *hub, struct ws_client *client, bool closing)
{
    for (int kind = 0; kind < KIND_COUNT; kind++) {
        struct batch_stream *stream = client->stream[kind];
        if (stream != NULL) {
            leave(hub, stream, client, closing);
            drop_if_unused(hub, stream);
        }
    }
    client->stream_leaving = false;
}

/* ---- delivery -------------------------------------------------------------------------- */

/* The stream's next moment after `now_us`: its frames go out every batch_us, at its slice's
 * phase (so a value waits at most batch_us). */
static int64_t next_beat(const struct batch_stream *stream, int64_t now_us)
{
    int64_t interval = stream->options.batch_us;
    int64_t into = ((now_us - stream->phase_us) % interval + interval) % interval;
    return now_us - into + interval;
}

void batch_stream_fan_out(struct live_hub *hub, struct ticker_entry *entry, struct frame *tick, struct frame **candle)
{
    int kind = entry->pair ? KIND_PAIRS : KIND_TICKERS;
    for (struct batch_stream *stream = hub->streams; stream != NULL; stream = stream->next) {
        if (stream->kind != kind || stream->member_count == 0)
            continue;
        size_t index = (size_t)(entry->id - stream->base_id);
        uint32_t *tick_slot = stream->options.conflate ? &stream->slots[2 * index] : NULL;
        if (tick_slot != NULL && *tick_slot != 0)
            metric_add(hub->metrics.conflated, 1);
        tick_batch_add_tick(&stream->batch, frame_ref(tick), 1, tick->previous, stream->options.conflate, tick_slot);
        if (stream->options.candles) {
            if (*candle == NULL)
                *candle = entry->pair ? frame_new_market_candle(entry->name, &entry->market)
                                      : frame_new_candle(entry->name, &entry->candle);
            if (*candle != NULL) {
                (*candle)->ticker_id = entry->id; /* so a leaving member finds its subscription */
                tick_batch_add_latest(&stream->batch, frame_ref(*candle), &stream->slots[2 * index + 1]);
            }
        }
        tick_batch_due_by(&stream->batch, next_beat(stream, timestamp_monotonic_us()));
    }
}

/* The stream's frame to every member; then the joiners become members. */
static void flush(struct live_hub *hub, struct batch_stream *stream)
{
    for (size_t i = 0; i < stream->batch.count; i++) {
        const struct frame *message = stream->batch.items[i].frame;
        if (message->kind == FRAME_TICK)
            stream->sent[message->ticker_id - stream->base_id] = message->position;
    }
    struct frame *frame = tick_batch_take(&stream->batch);
    if (frame != NULL) {
        metric_add(hub->metrics.batch_frames, 1);
        /* Backwards: a member that falls behind is only marked here, and leaves below. */
        for (size_t i = stream->member_count; i-- > 0;) {
            metric_add(hub->metrics.shared_frames, 1);
            ws_client_push(hub, stream->members[i], frame_ref(frame));
        }
        frame_release(frame);
    }
    for (size_t i = stream->member_count; i-- > 0;) {
        struct ws_client *client = stream->members[i];
        if (client->stream_leaving) {
            leave(hub, stream, client, false);
            int other = stream->kind == KIND_PAIRS ? KIND_TICKERS : KIND_PAIRS;
            client->stream_leaving = client->stream[other] != NULL; /* that stream's next frame lets it go too */
        }
    }
    while (stream->joiner_count > 0)
        admit(hub, stream, stream->joiners[stream->joiner_count - 1]);
}

int64_t batch_stream_flush_due(struct live_hub *hub, int64_t now_us)
{
    int64_t next = INT64_MAX;
    for (struct batch_stream *stream = hub->streams, *following; stream != NULL; stream = following) {
        following = stream->next;
        if (stream->batch.deadline_us <= now_us) {
            flush(hub, stream);
            drop_if_unused(hub, stream); /* only this one: `following` stays valid */
        }
    }
    for (struct batch_stream *stream = hub->streams; stream != NULL; stream = stream->next) {
        if (stream->batch.deadline_us < next)
            next = stream->batch.deadline_us;
    }
    return next;
}

void batch_stream_destroy_all(struct live_hub *hub)
{
    while (hub->streams != NULL) {
        struct batch_stream *stream = hub->streams;
        hub->streams = stream->next;
        stream_free(stream);
    }
}
