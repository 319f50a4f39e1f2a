/*
 * The live hub's state, shared by the three files that make it up (the public surface is
 * live_hub.h):
 *   ws_client.c     a WebSocket connection: its send queue, writes, falling behind, closing;
 *   subscription.c  a client watching a ticker: subscribing, resuming (from the ticker's
 *                   window or PostgreSQL), queueing its ticks in order, each once;
 *   live_hub.c      the protocol's messages, delivery of live ticks to the subscribers
 *                   (holding values dated ahead of the clock until they are due), heartbeats.
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
#include "ticker_table.h"

/* One client watching one ticker (or pair). Owned by the client; also listed by the ticker. */
struct subscription {
    struct ws_client *client;
    struct ticker_entry *ticker;
    int64_t last_queued;      /* newest position queued to the client: older ones never follow */
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
    bool all_pairs;                    /* subscribed to every pair ("pairs": "*") */
    bool all_pairs_candles;            /* ... with live candles */
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

struct live_hub_metrics {
    struct metric *clients, *rejected, *frames_sent, *coalesced, *closed_slow, *closed_idle, *refused,
        *tickers_refused, *resumes_memory, *resumes_database, *gaps, *out_of_order, *skipped, *ahead, *ahead_refused,
        *queued_frames, *queued_frames_peak, *live_delay_ms, *trades_ahead, *live_trade_delay_ms;
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

/* Queues a tick of the subscription's ticker unless the client has it already. */
void subscription_push_tick(struct live_hub *hub, struct subscription *subscription, struct frame *tick);

/* Queues the ticker's (pair's) live candle if the subscription asked for candles and its
 * client is keeping up; *candle is made on first use (the caller releases it). */
void subscription_push_candle(struct live_hub *hub, struct subscription *subscription, struct frame **candle);

/* Sends every tick (trade) after position `since`, then live ones, in order and each once:
 * from the ticker's window when it reaches back that far, else from PostgreSQL first. */
void subscription_resume(struct live_hub *hub, struct subscription *subscription, int64_t since);

#endif
