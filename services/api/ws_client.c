/*
 * A WebSocket connection of the live hub: its bounded send queue, writes, what happens
 * when it falls behind, and closing it. See live_hub_internal.h. Service thread only.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "live_hub_internal.h"
#include "log.h"
#include "timestamp.h"

#define CLOSE_TOO_SLOW 4008   /* ours: the client did not read its frames in time */
#define CLOSE_TRY_AGAIN 1013  /* RFC 6455 registry: try again later (server full) */
#define WRITES_PER_CALLBACK 64 /* then other connections get their turn */

/* Frames waiting in all clients' queues, and the most there ever were: the memory that
 * slow clients make the server hold, bounded by client_queue_max per client. */
static void count_queued(struct live_hub *hub, size_t before, size_t after)
{
    metric_add(hub->metrics.queued_frames, (int64_t)after - (int64_t)before);
    if (metric_value(hub->metrics.queued_frames) > metric_value(hub->metrics.queued_frames_peak))
        metric_set(hub->metrics.queued_frames_peak, metric_value(hub->metrics.queued_frames));
}

static void clear_queue(struct live_hub *hub, struct ws_client *client)
{
    count_queued(hub, client->queue.count, 0);
    send_queue_clear(&client->queue);
}

static void close_later(struct live_hub *hub, struct ws_client *client, int code, const char *reason)
{
    if (client->close_code != 0)
        return;
    client->close_code = code;
    client->close_reason = reason;
    clear_queue(hub, client); /* nothing more goes out: free it now */
    lws_callback_on_writable(client->wsi);
    /* A client that reads nothing never becomes writeable: drop it after 5 s regardless. */
    lws_set_timeout(client->wsi, PENDING_TIMEOUT_USER_OK, 5);
}

/* Writes one frame to the socket (releasing the caller's reference). Returns lws_write's result. */
static int write_frame(struct live_hub *hub, struct ws_client *client, struct frame *frame)
{
    int written = lws_write(client->wsi, frame_payload(frame), frame->length, LWS_WRITE_TEXT);
    frame_release(frame);
    metric_add(hub->metrics.frames_sent, 1);
    return written;
}

void ws_client_push(struct live_hub *hub, struct ws_client *client, struct frame *frame)
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
            close_later(hub, client, LWS_CLOSE_STATUS_GOINGAWAY, "write failed");
        return;
    }
    uint64_t coalesced_before = client->queue.coalesced;
    size_t queued_before = client->queue.count;
    enum send_result result = send_queue_push(&client->queue, frame);
    count_queued(hub, queued_before, client->queue.count);
    if (result == SEND_QUEUED) {
        lws_callback_on_writable(client->wsi);
        return;
    }
    /* A member of a shared stream that falls behind gets its own frames from the stream's
     * next one on (conflated further by coalescing, like any client's). */
    client->stream_leaving = client->stream[KIND_TICKERS] != NULL || client->stream[KIND_PAIRS] != NULL;
    metric_add(hub->metrics.coalesced, (int64_t)(client->queue.coalesced - coalesced_before));
    int64_t now = timestamp_now_us();
    if (client->lagging_since_us == 0) {
        client->lagging_since_us = now;
        if (!client->lag_reported)
            log_info("a WebSocket client is not keeping up: coalescing its ticks (newest value per ticker)");
        client->lag_reported = true;
    }
    if (result == SEND_FULL || now - client->lagging_since_us > hub->settings->slow_client_timeout_ms * 1000) {
        metric_add(hub->metrics.closed_slow, 1);
        log_warn("closing a WebSocket client that stayed %lld ms behind (code %d; %" PRId64 " so far)",
                 hub->settings->slow_client_timeout_ms, CLOSE_TOO_SLOW, metric_value(hub->metrics.closed_slow));
        close_later(hub, client, CLOSE_TOO_SLOW, "client too slow: it did not read its messages");
        return;
    }
    lws_callback_on_writable(client->wsi);
}

void ws_client_push_error(struct live_hub *hub, struct ws_client *client, const char *code, const char *reason,
                          const char *ticker)
{
    metric_add(hub->metrics.rejected, 1);
    log_info("WebSocket request rejected (%" PRId64 " so far): %s: %s", metric_value(hub->metrics.rejected), code,
             reason);
    struct frame *frame = frame_new_error(code, reason, ticker);
    if (frame != NULL)
        ws_client_push(hub, client, frame);
}

void ws_client_push_timed(struct live_hub *hub, struct ws_client *client, const char *type)
{
    char time_text[TIMESTAMP_TEXT_SIZE], json[96];
    timestamp_format(timestamp_now_us(), time_text);
    int length = snprintf(json, sizeof json, "{\"type\":\"%s\",\"time\":\"%s\"}", type, time_text);
    struct frame *frame = frame_new(json, (size_t)length);
    if (frame != NULL)
        ws_client_push(hub, client, frame);
}

/* ---- batched delivery: each client's own batch, due by its deadline --------------------- */
/*
 * The clients with a batch waiting sit in a binary heap by deadline (flush_index is a
 * client's place + 1), so the timer finds the due ones without looking at the others.
 */

static int64_t deadline_at(const struct live_hub *hub, size_t index)
{
    return hub->flush_heap[index]->batch.deadline_us;
}

static void heap_place(struct live_hub *hub, size_t index, struct ws_client *client)
{
    hub->flush_heap[index] = client;
    client->flush_index = index + 1;
}

static void sift_up(struct live_hub *hub, size_t index)
{
    struct ws_client *client = hub->flush_heap[index];
    while (index > 0 && deadline_at(hub, (index - 1) / 2) > client->batch.deadline_us) {
        heap_place(hub, index, hub->flush_heap[(index - 1) / 2]);
        index = (index - 1) / 2;
    }
    heap_place(hub, index, client);
}

static void sift_down(struct live_hub *hub, size_t index)
{
    struct ws_client *client = hub->flush_heap[index];
    for (;;) {
        size_t child = 2 * index + 1;
        if (child >= hub->flush_count)
            break;
        if (child + 1 < hub->flush_count && deadline_at(hub, child + 1) < deadline_at(hub, child))
            child++;
        if (deadline_at(hub, child) >= client->batch.deadline_us)
            break;
        heap_place(hub, index, hub->flush_heap[child]);
        index = child;
    }
    heap_place(hub, index, client);
}

static void heap_remove(struct live_hub *hub, struct ws_client *client)
{
    if (client->flush_index == 0)
        return;
    size_t index = client->flush_index - 1;
    client->flush_index = 0;
    struct ws_client *last = hub->flush_heap[--hub->flush_count];
    if (last == client)
        return;
    heap_place(hub, index, last);
    sift_down(hub, index);
    sift_up(hub, last->flush_index - 1);
}

void ws_client_batch_due(struct live_hub *hub, struct ws_client *client, int64_t deadline_us)
{
    tick_batch_due_by(&client->batch, deadline_us);
    if (tick_batch_full(&client->batch)) {
        ws_client_flush(hub, client);
        return;
    }
    if (client->flush_index != 0) {
        sift_up(hub, client->flush_index - 1);
        return;
    }
    if (hub->flush_count == hub->flush_capacity) {
        size_t capacity = hub->flush_capacity ? hub->flush_capacity * 2 : 64;
        struct ws_client **grown = realloc(hub->flush_heap, capacity * sizeof *grown);
        if (grown == NULL) { /* cannot wait: send it now */
            ws_client_flush(hub, client);
            return;
        }
        hub->flush_heap = grown;
        hub->flush_capacity = capacity;
    }
    heap_place(hub, hub->flush_count++, client);
    sift_up(hub, hub->flush_count - 1);
}

void ws_client_flush(struct live_hub *hub, struct ws_client *client)
{
    heap_remove(hub, client);
    struct frame *frame = tick_batch_take(&client->batch);
    if (frame == NULL)
        return;
    metric_add(hub->metrics.batch_frames, 1);
    ws_client_push(hub, client, frame);
}

int64_t ws_client_flush_due(struct live_hub *hub, int64_t now_us)
{
    while (hub->flush_count > 0 && deadline_at(hub, 0) <= now_us)
        ws_client_flush(hub, hub->flush_heap[0]);
    return hub->flush_count > 0 ? deadline_at(hub, 0) : INT64_MAX;
}

/* ---- the connection's life (live_hub.h) --------------------------------------------------- */

void live_hub_heard(struct ws_client *client)
{
    client->last_heard_ms = timestamp_monotonic_ms();
}

int live_hub_open(struct live_hub *hub, struct ws_client *client, struct lws *wsi)
{
    client->wsi = wsi;
    if (hub->client_count >= (size_t)hub->settings->max_clients) {
        metric_add(hub->metrics.refused, 1);
        if (metric_value(hub->metrics.refused) % 100 == 1)
            log_warn("refusing WebSocket clients beyond api.max_clients (%lld): %" PRId64 " so far",
                     hub->settings->max_clients, metric_value(hub->metrics.refused));
        static const char reason[] = "server full: too many clients, try again later";
        lws_close_reason(wsi, (enum lws_close_status)CLOSE_TRY_AGAIN, (unsigned char *)reason, sizeof reason - 1);
        return -1;
    }
    send_queue_init(&client->queue, (size_t)hub->settings->client_queue_max);
    tick_batch_init(&client->batch);
    client->open = true;
    live_hub_heard(client);
    client->next = hub->clients;
    if (hub->clients != NULL)
        hub->clients->previous = client;
    hub->clients = client;
    hub->client_count++;
    metric_set(hub->metrics.clients, (int64_t)hub->client_count);
    return 0;
}

/* lws hangs up on a client silent for twice api.idle_timeout_s (its pings unanswered); the
 * close itself does not say why, so the silence does. */
static void count_idle_close(struct live_hub *hub, const struct ws_client *client)
{
    int64_t silent_ms = timestamp_monotonic_ms() - client->last_heard_ms;
    if (client->close_code != 0 || silent_ms < (hub->settings->idle_timeout_s * 2 - 1) * 1000)
        return;
    metric_add(hub->metrics.closed_idle, 1);
    if (metric_value(hub->metrics.closed_idle) % 100 == 1)
        log_info("hung up on a WebSocket client silent for %" PRId64 " s (api.idle_timeout_s %lld; %" PRId64
                 " so far)", silent_ms / 1000, hub->settings->idle_timeout_s, metric_value(hub->metrics.closed_idle));
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
        metric_set(hub->metrics.clients, (int64_t)hub->client_count);
    }
    batch_stream_leave(hub, client, true);
    heap_remove(hub, client);
    while (client->subscription_count > 0)
        subscription_remove(client, client->subscription_count - 1);
    tick_batch_clear(&client->batch);
    free(client->subscriptions);
    clear_queue(hub, client);
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
        count_queued(hub, 1, 0);
        if (write_frame(hub, client, frame) < 0)
            return -1; /* the connection is broken */
        if (lws_send_pipe_choked(client->wsi))
            break;
    }
    if (client->queue.count > 0) {
        lws_callback_on_writable(client->wsi);
    } else if (client->lagging_since_us != 0) {
        client->lagging_since_us = 0;
        batch_stream_offer(hub, client); /* caught up: a "*" board may share its stream's frames again */
    }
    return 0;
}
