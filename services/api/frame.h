/*
 * An outgoing WebSocket text frame, shared by every client it goes to.
 *
 * The payload sits after LWS_PRE bytes of headroom, as lws_write requires. Frames are
 * created and referenced on the service thread only, so the count needs no atomics.
 * Tick and gap frames carry what the send queue needs to coalesce them (ticker id, times).
 */
#ifndef API_FRAME_H
#define API_FRAME_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "live_candle.h"
#include "market_candle.h"
#include "ticker.h"
#include "trade.h"

enum frame_kind {
    FRAME_CONTROL, /* replies, errors, heartbeats, candles: never coalesced */
    FRAME_TICK,    /* one value of one ticker, or one trade of one pair */
    FRAME_GAP,     /* "these values of this ticker (trades of this pair) were left out" */
    FRAME_BATCH,   /* {"type":"ticks","ticks":[...]}: several of the above, in order (batched delivery) */
};

/* One message of a batch: a tick or trade (standing for `count` values when conflated: the
 * newest of them), a gap, or a live candle. */
struct batch_item {
    struct frame *frame; /* one reference */
    int64_t count;       /* FRAME_TICK: how many values it stands for (1 unless conflated) */
    int64_t after;       /* FRAME_TICK: the position before the first of them (INT64_MIN: unknown) */
    bool conflated;      /* FRAME_TICK: written with its "count" (a conflating subscription's) */
    uint32_t *slot;      /* the owner's "where in the batch" mark, cleared when the item leaves; or NULL */
};

/*
 * Positions (docs/api.md): a ticker's values are placed by their times, a pair's trades by
 * their offsets in the trades topic (a pair's trades share one partition). Both only grow,
 * so a subscription compares positions the same way whichever it follows.
 */
struct frame {
    enum frame_kind kind;
    int references;
    int ticker_id;   /* FRAME_TICK and FRAME_GAP: the ticker table's id (a pair's too), else -1 */
    bool pair;       /* FRAME_TICK and FRAME_GAP: of a pair (positions are offsets) */
    char key[TRADE_PAIR_MAX + 1]; /* FRAME_TICK and FRAME_GAP: the ticker's name or the pair, else "" */
    int64_t position; /* FRAME_TICK: the value's; FRAME_GAP: "before", the next one's */
    int64_t previous; /* FRAME_TICK: "prev"; FRAME_GAP: "after"; INT64_MIN when unknown */
    int64_t gap_missed; /* FRAME_GAP: how many values were left out; -1 when unknown */
    struct batch_item *items; /* FRAME_BATCH: what it holds (owned, each with a reference), else NULL */
    size_t item_count;
    size_t length;
    unsigned char bytes[]; /* LWS_PRE headroom, then `length` bytes of payload */
};

/* Each constructor returns a frame with one reference, or NULL when out of memory. */

/* A FRAME_CONTROL frame holding a copy of `payload`. */
struct frame *frame_new(const char *payload, size_t length);

/* Where a tick or trade came from: its Kafka position, and the position of its key's
 * previous one (INT64_MIN when unknown). partition < 0: read from PostgreSQL, not Kafka
 * (a tick's; a trade's is always known, PostgreSQL keeps it). */
struct tick_origin {
    int32_t partition;
    int64_t offset;
    int64_t previous;
};

/* {"type":"tick","name","value","time","prev","partition","offset"}: partition and
 * offset only when the tick came from Kafka, prev null when unknown. */
struct frame *frame_new_tick(int ticker_id, const struct ticker *ticker, const struct tick_origin *origin);

/* {"type":"trade","pair","time","exchange","direction","price","volume","price_usd",
 * "trade_id","partition","offset","prev"}: prices and volumes as the feed's decimal text,
 * prev the pair's previous offset (null when unknown). */
struct frame *frame_new_trade(int ticker_id, const struct trade *trade, const struct tick_origin *origin);

/* {"type":"gap","name","after","before","missed"} (a pair's: "pair" instead of "name"):
 * the values of `key` with positions after `after` and before `before` were left out,
 * `missed` of them (null when unknown, -1; "after" or "before" null when INT64_MIN). The
 * client can fetch them with the history API (the trades API for a pair). */
struct frame *frame_new_gap(int ticker_id, bool pair, const char *key, int64_t after, int64_t before, int64_t missed);

/* {"type":"<type>", <key>: <text>} with `text` escaped as a JSON string. */
struct frame *frame_new_reply(const char *type, const char *key, const char *text);

/* {"type":"error","code":"<code>","error":"<reason>"} plus "ticker" (or "pair", for a
 * key with a '/') when `key` is not NULL. The reason and key may quote a client's bytes:
 * invalid UTF-8 in them becomes '?'. */
struct frame *frame_new_error(const char *code, const char *reason, const char *key);

static inline unsigned char *frame_payload(struct frame *frame)
{
    return frame->bytes + LWS_PRE;
}

static inline struct frame *frame_ref(struct frame *frame)
{
    frame->references++;
    return frame;
}

/* {"type":"ticks","ticks":[<message>,...]}: each item's own JSON object in order, a
 * conflated tick's with "count":N added. Takes the items (and their references) in every
 * case; NULL when out of memory. */
struct frame *frame_new_batch(struct batch_item *items, size_t count);

/* Drops one reference; the last one frees the frame. NULL does nothing. */
void frame_release(struct frame *frame);

/* {"type":"candle","name":...,"start":...,"end":...,"open":...,...,"partial":...}: a control
 * frame (whole, so a client that missed one reads the next on its own). */
struct frame *frame_new_candle(const char *name, const struct live_candle *candle);

/* {"type":"candle","pair":...,"start","end","open","high","low","close","volume_buy",
 * "volume_sell","trades","partial"}: a pair's live candle, prices and volumes exact. */
struct frame *frame_new_market_candle(const char *pair, const struct market_candle *candle);

#endif
