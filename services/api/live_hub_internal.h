/*
 * The live hub's state, shared by the three files that make it up (the public surface is
 * live_hub.h):
 *   ws_client.c     a WebSocket connection: its send queue, writes, falling behind, closing;
 *   subscription.c  a client watching a ticker: subscribing, resuming (from the ticker's
 *                   window or PostgreSQL), queueing its ticks in order, each once;
 *   live_hub.c      the protocol's messages, delivery of live ticks to the subscribers
 *                   (holding values dated ahead of the clock until they are due), heartbeats;
 *   batch_stream.c  batched delivery shared by every "*" client with the same options: one
 *                   frame per interval, encoded once, written to each member.
 * Service thread only.
 */
#ifndef API_LIVE_HUB_INTERNAL_H
#define API_LIVE_HUB_INTERNAL_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stdint.h>

#include "frame.h"
#include "live_feed.h"
#include "live_hub.h"
#include "metrics.h"
#include "query_pool.h"
#include "request.h"
#include "send_queue.h"
#include "tick_batch.h"
#include "ticker_table.h"

/* One client watching one ticker (or pair). Owned by the client; also listed by the ticker. */
struct subscription {
    struct ws_client *client;
    struct ticker_entry *ticker;
    int64_t last_queued;      /* newest position queued to the client: older ones never follow */
    struct query_job *resume; /* a resume query under way: live ticks wait in the window */
    size_t subscriber_index;  /* its place in the ticker's subscriber list (ticker_table.h) */
    int32_t batch_us;         /* > 0: batched delivery, its messages wait at most this long (<= 10 s) */
    uint32_t tick_slot, candle_slot; /* where its tick and candle sit in the client's batch */
    bool by_name;             /* counts against api.max_subscriptions ("*" ones do not) */
    bool candles;             /* also send the live candle after each tick */
    bool attached;            /* in that list: not while its client is a stream member */
    bool conflate;            /* batched, and only the newest value per interval, with its count */
};

/* Which table a stream or a "*" subscription covers: an index for the per-kind arrays. */
enum { KIND_TICKERS = 0, KIND_PAIRS = 1, KIND_COUNT = 2 };

/* A client's delivery options of one kind, as its "*" subscription set them. */
struct delivery {
    int64_t batch_us; /* 0: a frame per message */
    bool conflate, candles;
};

/* The clients subscribed to "*" of one kind with the same delivery options, batched: their
 * messages are gathered once per interval into one frame that each member is written
 * (batch_stream.c). Members' subscriptions are detached from the tickers (so a tick costs
 * nothing per member); what the stream sent says what they have. */
struct batch_stream {
    struct batch_stream *next; /* the hub's list */
    int kind;
    struct delivery options;
    int slice;                   /* streams of the same options take turns in the interval... */
    int64_t phase_us;            /* ... this far into it */
    int base_id;                 /* the kind's first ticker id */
    struct tick_batch batch;
    uint32_t *slots;             /* 2 per ticker of the kind: its tick's and its candle's in `batch` */
    int64_t *sent;               /* per ticker of the kind: the newest position written to members */
    struct ws_client **members, **joiners; /* joiners become members when `batch` goes out */
    size_t member_count, member_capacity, joiner_count, joiner_capacity;
};

/* Per WebSocket connection; lws allocates it zeroed and frees it after the close. */
struct ws_client {
    struct lws *wsi;
    struct ws_client *previous, *next; /* the hub's list */
    bool open;
    bool all;                          /* subscribed to "*": new tickers are added */
    bool all_candles;                  /* ... with live candles */
    bool all_pairs;                    /* subscribed to every pair ("pairs": "*") */
    bool all_pairs_candles;            /* ... with live candles */
    struct delivery all_delivery[KIND_COUNT]; /* the "*" subscriptions' batching options */
    struct tick_batch batch;           /* messages of its batched subscriptions, until due */
    size_t flush_index;                /* in the hub's heap of batches waiting; 0: not in it, else index + 1 */
    struct batch_stream *stream[KIND_COUNT]; /* the stream it is a member of, or joining; NULL */
    bool stream_member[KIND_COUNT];    /* member (else joiner) */
    size_t stream_index[KIND_COUNT];   /* in the stream's members or joiners */
    bool stream_leaving;               /* fell behind as a member: leaves at the stream's next frame */
    struct subscription **subscriptions;
    size_t subscription_count, subscription_capacity;
    size_t named_count;                /* subscriptions made by name (limited) */
    struct send_queue queue;
    char *message;                     /* a message arriving in pieces (max_message_bytes), else NULL */
    size_t message_length;
    bool message_too_long;
    int64_t lagging_since_us;          /* its queue first overflowed then; 0 when keeping up */
    bool lag_reported;                 /* logged once per client */
    int close_code;                    /* != 0: close at the next writeable callback */
    const char *close_reason;
    int64_t last_heard_ms;             /* monotonic: its last frame or pong, to tell an idle hang-up */
};

struct live_hub_metrics {
    struct metric *clients, *rejected, *frames_sent, *coalesced, *closed_slow, *closed_idle, *refused,
        *tickers_refused, *resumes_memory, *resumes_database, *gaps, *out_of_order, *skipped, *ahead, *ahead_refused,
        *queued_frames, *queued_frames_peak, *live_delay_ms, *trades_ahead, *live_trade_delay_ms, *batch_frames,
        *shared_frames, *conflated, *stream_members;
};

struct live_hub {
    const struct api_settings *settings;
    struct query_pool *pool;
    struct ticker_table *tickers;
    struct ticker_table *pairs; /* the trades topic's currency pairs */
    struct ws_client *clients;
    size_t client_count;
    struct ws_client *heartbeat_next; /* where the next heartbeat slice starts; NULL: round done */
    unsigned heartbeat_slice;         /* 0 .. LIVE_HUB_HEARTBEAT_SLICES - 1 within the round */
    struct client_message *parsed;    /* scratch space for one message (large) */
    struct live_tick *held;           /* values dated ahead of the clock, by time: not due yet */
    size_t held_count;
    struct ws_client **flush_heap;    /* clients with a batch waiting, by deadline (a binary heap) */
    size_t flush_count, flush_capacity;
    struct batch_stream *streams;
    struct live_hub_metrics metrics;
};

/* ---- ws_client.c ------------------------------------------------------------------------ */

/* Queues `frame` (the caller's reference passes on), writing at once when nothing waits;
 * handles a client that falls behind (coalesced, then closed with 4008). */
void ws_client_push(struct live_hub *hub, struct ws_client *client, struct frame *frame);

/* {"type":"error",...} to the client, counted and logged. */
void ws_client_push_error(struct live_hub *hub, struct ws_client *client, const char *code, const char *reason,
                          const char *ticker);

/* {"type":"<type>","time":now}: pong and heartbeat. */
void ws_client_push_timed(struct live_hub *hub, struct ws_client *client, const char *type);

/* The client's batch is due by `deadline_us` (monotonic): it joins the hub's heap, or moves
 * up in it; a full batch goes out at once. */
void ws_client_batch_due(struct live_hub *hub, struct ws_client *client, int64_t deadline_us);

/* Sends the client's batch now (one frame), if it holds anything. */
void ws_client_flush(struct live_hub *hub, struct ws_client *client);

/* Sends the batches due by `now_us`; returns the earliest deadline left (INT64_MAX: none). */
int64_t ws_client_flush_due(struct live_hub *hub, int64_t now_us);

/* ---- batch_stream.c --------------------------------------------------------------------- */

/* If the client's subscriptions of a kind are all its "*" one's, batched, none resuming, and it
 * keeps up: it joins the stream of its options (created on demand) when that stream's next
 * frame goes out. */
void batch_stream_offer(struct live_hub *hub, struct ws_client *client);

/* The client leaves its streams (before it changes what it watches, falls behind or goes):
 * its subscriptions are attached again, knowing what the stream sent, and what the stream
 * holds for its next frame goes to the client's own batch. With `closing`, nothing is sent. */
void batch_stream_leave(struct live_hub *hub, struct ws_client *client, bool closing);

/* A subscription made for a member (a new ticker of its "*"): detached, the stream carries it. */
void batch_stream_adopt(struct ws_client *client, struct subscription *subscription);

/* A tick of `entry` (and the ticker's live candle, made on first use in *candle): into each
 * stream of its kind. */
void batch_stream_fan_out(struct live_hub *hub, struct ticker_entry *entry, struct frame *tick, struct frame **candle);

/* Sends the streams' frames due by `now_us`; returns the earliest deadline left. */
int64_t batch_stream_flush_due(struct live_hub *hub, int64_t now_us);

void batch_stream_destroy_all(struct live_hub *hub);

/* ---- subscription.c --------------------------------------------------------------------- */

/* The table `entry` belongs to. */
static inline struct ticker_table *live_hub_table_of(const struct live_hub *hub, const struct ticker_entry *entry)
{
    return entry->pair ? hub->pairs : hub->tickers;
}

struct subscription *subscription_find(const struct ws_client *client, const struct ticker_entry *entry);

/* A new subscription of `client` to `entry`, live from the ticker's last tick; NULL when
 * out of memory. */
struct subscription *subscription_add(struct ws_client *client, struct ticker_entry *entry);

/* Removes the client's index-th subscription (a resume under way is left to finish and
 * be discarded). */
void subscription_remove(struct ws_client *client, size_t index);

/* Queues a tick of the subscription's ticker unless the client has it already: to the
 * client's batch when the subscription is batched, else to its send queue. */
void subscription_push_tick(struct live_hub *hub, struct subscription *subscription, struct frame *tick);

/* The same for a tick standing for `count` values after position `after` (a conflated one). */
void subscription_push_values(struct live_hub *hub, struct subscription *subscription, struct frame *tick,
                              int64_t count, int64_t after);

/* The subscription's delivery becomes `options` (batching, conflation, candles). */
void subscription_set_delivery(struct ws_client *client, struct subscription *subscription,
                               const struct delivery *options);

/* Attaches a detached subscription to its ticker again. -1 when out of memory. */
int subscription_attach(struct subscription *subscription);
void subscription_detach(struct subscription *subscription);

/* Queues the ticker's (pair's) live candle if the subscription asked for candles and its
 * client is keeping up; *candle is made on first use (the caller releases it). */
void subscription_push_candle(struct live_hub *hub, struct subscription *subscription, struct frame **candle);

/* Sends every tick (trade) after position `since`, then live ones, in order and each once:
 * from the ticker's window when it reaches back that far, else from PostgreSQL first. */
void subscription_resume(struct live_hub *hub, struct subscription *subscription, int64_t since);

#endif
